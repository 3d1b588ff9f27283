#pragma once

namespace pavewatch::ingest {

/// `pavewatch ingest`: decodes and validates raw device messages, matches them to road
/// segments and produces observations keyed by segment, exactly once (Kafka transactions);
/// refusals go to the dead-letter topic with the field and the reason. Returns the exit code.
int Main(int argc, char** argv);

}  // namespace pavewatch::ingest

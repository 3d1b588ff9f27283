#pragma once

namespace pavewatch::simulate {

/// `pavewatch simulate`: drives the simulated city and produces its raw messages to Kafka at
/// wall-clock pace (optionally sped up), or writes the sensor registry. Returns the exit code.
int Main(int argc, char** argv);

}  // namespace pavewatch::simulate

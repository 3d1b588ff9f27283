#pragma once

namespace pavewatch::gateway {

/// `pavewatch gateway`: the live map, the REST API, the WebSocket feed and the metrics of the
/// road network's condition, fed by `pavewatch.conditions`. Returns the exit code.
int Main(int argc, char** argv);

}  // namespace pavewatch::gateway

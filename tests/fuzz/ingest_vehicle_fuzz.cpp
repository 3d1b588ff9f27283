// Fuzz target: a raw vehicle message (JSON from a phone or a telematics unit) through the whole
// ingest path: parsing, validation, map matching, re-orientation, IRI estimate, event detection.
// Properties: a refusal says what is wrong; every observation lies on a segment of the network,
// carries finite values in their documented ranges and survives its binary encoding.

#include "fuzz_support.hpp"
#include "observation_checks.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace fuzz = pavewatch::fuzz;
    const auto& setup = fuzz::IngestSetup::Get();
    const std::string_view json(reinterpret_cast<const char*>(data), size);
    fuzz::CheckIngestResult(setup.processor->ProcessVehicle(json), *setup.network);
    return 0;
}

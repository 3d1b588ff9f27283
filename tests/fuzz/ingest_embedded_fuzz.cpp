// Fuzz target: a raw embedded-sensor message (weigh-in-motion, strain, temperature, moisture)
// through the ingest path, with the sensor registry of tests/fuzz/sensors.json. Properties as
// for vehicle messages: a refusal says what is wrong; every observation is on the network,
// finite and in range, and survives its binary encoding.

#include "fuzz_support.hpp"
#include "observation_checks.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace fuzz = pavewatch::fuzz;
    const auto& setup = fuzz::IngestSetup::Get();
    const std::string_view json(reinterpret_cast<const char*>(data), size);
    fuzz::CheckIngestResult(setup.processor->ProcessEmbedded(json), *setup.network);
    return 0;
}

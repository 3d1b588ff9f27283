#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pavewatch::gateway {

/// SHA-256 (FIPS 180-4) of `data`. Used to keep access tokens as hashes: the token file holds
/// no secret a reader could replay.
std::array<std::uint8_t, 32> Sha256(std::string_view data);

/// Lower-case hexadecimal of the SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

/// Compares two strings in time independent of where they differ (token hash comparison).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace pavewatch::gateway

// Keccak-256 (the pre-standard SHA-3 that Ethereum uses: pad byte 0x01, not SHA3's 0x06).
// No Debian C/C++ package offers it; Nettle exports the Keccak-f[1600] permutation and we add
// the sponge and padding here (DESIGN §5).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace capsule::format {

std::array<uint8_t, 32> Keccak256(const uint8_t* data, size_t len);
inline std::array<uint8_t, 32> Keccak256(std::string_view s) {
  return Keccak256(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace capsule::format

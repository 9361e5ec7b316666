// Keccak-256 sponge over Nettle's permutation: rate 136 bytes, multi-rate padding 0x01 .. 0x80.
#include "format/keccak.h"

#include <nettle/sha3.h>

#include <cstring>

namespace capsule::format {
namespace {
constexpr size_t kRate = 136;

void Absorb(sha3_state* st, const uint8_t* block) {
  for (size_t i = 0; i < kRate / 8; ++i) {
    uint64_t lane = 0;
    for (int b = 7; b >= 0; --b) lane = (lane << 8) | block[i * 8 + b];  // little-endian lanes
    st->a[i] ^= lane;
  }
  sha3_permute(st);
}
}  // namespace

std::array<uint8_t, 32> Keccak256(const uint8_t* data, size_t len) {
  sha3_state st;
  std::memset(&st, 0, sizeof st);
  while (len >= kRate) {
    Absorb(&st, data);
    data += kRate;
    len -= kRate;
  }
  uint8_t last[kRate] = {0};
  if (len) std::memcpy(last, data, len);
  last[len] ^= 0x01;
  last[kRate - 1] ^= 0x80;
  Absorb(&st, last);
  std::array<uint8_t, 32> out;
  for (size_t i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(st.a[i / 8] >> (8 * (i % 8)));
  return out;
}

}  // namespace capsule::format

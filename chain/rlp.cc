// RLP encoding (Yellow Paper appendix B). A payload of up to 55 bytes takes a one-byte prefix
// (0x80 + len for strings, 0xc0 + len for lists); a longer one takes 0xb7/0xf7 + the length of
// its big-endian length, then that length. A single byte below 0x80 is its own encoding.
#include "chain/rlp.h"

namespace capsule::chain::rlp {
namespace {

void PutLength(format::Bytes& out, size_t len, uint8_t short_base, uint8_t long_base) {
  if (len <= 55) {
    out.push_back(static_cast<uint8_t>(short_base + len));
    return;
  }
  format::Bytes be;
  for (size_t v = len; v != 0; v >>= 8) be.insert(be.begin(), static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(long_base + be.size()));
  out.insert(out.end(), be.begin(), be.end());
}

}  // namespace

format::Bytes EncodeBytes(format::ByteView b) {
  if (b.size() == 1 && b[0] < 0x80) return format::Bytes{b[0]};
  format::Bytes out;
  out.reserve(b.size() + 9);
  PutLength(out, b.size(), 0x80, 0xb7);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

format::Bytes EncodeUint(const U256& v) { return EncodeBytes(v.Minimal()); }

format::Bytes EncodeUint(uint64_t v) { return EncodeUint(U256::FromU64(v)); }

format::Bytes EncodeList(const std::vector<format::Bytes>& items) {
  size_t total = 0;
  for (const auto& i : items) total += i.size();
  format::Bytes out;
  out.reserve(total + 9);
  PutLength(out, total, 0xc0, 0xf7);
  for (const auto& i : items) out.insert(out.end(), i.begin(), i.end());
  return out;
}

}  // namespace capsule::chain::rlp

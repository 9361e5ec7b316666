// Recursive Length Prefix, the Ethereum serialization (Yellow Paper appendix B), encode only:
// transactions are the one thing we serialize with it.
#pragma once

#include <vector>

#include "chain/u256.h"
#include "format/bytes.h"

namespace capsule::chain::rlp {

format::Bytes EncodeBytes(format::ByteView b);  // a byte string item
format::Bytes EncodeUint(const U256& v);        // integer: minimal big-endian, 0 → 0x80
format::Bytes EncodeUint(uint64_t v);
// A list of already-encoded items.
format::Bytes EncodeList(const std::vector<format::Bytes>& items);

}  // namespace capsule::chain::rlp

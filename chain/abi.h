// The Solidity contract ABI, for the handful of calls the SDK makes to the access-token contract
// (docs/spec/chain.md §Contract). Encoding builds calldata; decoding is strict: a return value
// of the wrong length, a bool other than 0/1, or an address with dirty upper bytes is an error,
// never a default.
#pragma once

#include <string_view>
#include <vector>

#include "capsule/status.h"
#include "chain/u256.h"
#include "format/bytes.h"

namespace capsule::chain::abi {

// First four bytes of Keccak-256 of the canonical signature, e.g. "hasAccess(address,uint256)".
std::array<uint8_t, 4> Selector(std::string_view signature);

// Builds calldata: selector, then head words, then the tails of dynamic arguments.
class Encoder {
 public:
  explicit Encoder(std::string_view signature);
  Encoder& Address(const chain::Address& a);
  Encoder& Uint(const U256& v);
  Encoder& Uint(uint64_t v);
  Encoder& Bytes32(const Hash32& h);
  Encoder& Bool(bool b);
  Encoder& AddressArray(const std::vector<chain::Address>& v);
  Encoder& UintArray(const std::vector<uint64_t>& v);
  Encoder& String(std::string_view s);
  format::Bytes Finish() const;

 private:
  struct Arg {
    bool dynamic;
    format::Bytes head_or_tail;
  };
  std::array<uint8_t, 4> selector_;
  std::vector<Arg> args_;
};

// A return value read word by word. Decoder::Create fails (chain-bad-response) unless the data
// is exactly `static_words` words long when `exact` is true, or at least that long otherwise.
class Decoder {
 public:
  static Result<Decoder> Create(format::ByteView data, size_t static_words, bool exact = true);
  Result<chain::Address> Address(size_t word) const;
  Result<U256> Uint(size_t word) const;
  Result<Hash32> Bytes32(size_t word) const;
  Result<bool> Bool(size_t word) const;
  // Dynamic arrays whose offset is in `word`.
  Result<std::vector<chain::Address>> AddressArray(size_t word) const;
  Result<std::vector<U256>> UintArray(size_t word) const;

 private:
  format::Bytes data_;
};

}  // namespace capsule::chain::abi

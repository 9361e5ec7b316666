// Solidity ABI (docs.soliditylang.org, "Contract ABI Specification"): every head is one 32-byte
// word; a dynamic argument's head is the byte offset of its tail, counted from the start of the
// arguments (after the selector). Decoding trusts nothing the node sends: every word index,
// offset and length is checked against the data before it is read.
#include "chain/abi.h"

#include <algorithm>
#include <string>

#include "format/keccak.h"

namespace capsule::chain::abi {
namespace {

using Word = std::array<uint8_t, 32>;

Word UintWord(const U256& v) { return v.be; }

Word AddressWord(const chain::Address& a) {
  Word w{};
  std::copy(a.begin(), a.end(), w.begin() + 12);
  return w;
}

void Append(format::Bytes& out, const Word& w) { out.insert(out.end(), w.begin(), w.end()); }

Status Bad(std::string detail) {
  return Status(Code::ChainBadResponse, "ABI return data: " + std::move(detail));
}

// The 32 bytes of word `i`, or an error when the data is shorter.
Result<const uint8_t*> WordAt(const format::Bytes& data, size_t i) {
  size_t words = data.size() / 32;
  if (i >= words) {
    return Bad("word " + std::to_string(i) + " is past the end (" + std::to_string(words) +
               " words)");
  }
  return data.data() + 32 * i;
}

bool UpperZero(const uint8_t* w, size_t n) {
  return std::all_of(w, w + n, [](uint8_t b) { return b == 0; });
}

Result<chain::Address> AddressFrom(const uint8_t* w, const std::string& where) {
  if (!UpperZero(w, 12)) return Bad(where + ": address has nonzero upper 12 bytes");
  chain::Address a;
  std::copy(w + 12, w + 32, a.begin());
  return a;
}

// Locates a dynamic array whose offset is in head word `word`: returns the word index of its
// first element and the element count, each checked to lie inside the data.
struct ArrayRef {
  size_t first;
  size_t count;
};
Result<ArrayRef> LocateArray(const format::Bytes& data, size_t word) {
  CAPSULE_ASSIGN_OR_RETURN(const uint8_t* w, WordAt(data, word));
  std::string where = "word " + std::to_string(word);
  U256 off;
  std::copy(w, w + 32, off.be.begin());
  if (!off.FitsU64() || off.ToU64() >= data.size()) {
    return Bad(where + ": array offset " + off.ToDecimal() + " is past the end (" +
               std::to_string(data.size()) + " bytes)");
  }
  uint64_t offset = off.ToU64();
  if (offset % 32 != 0) {
    return Bad(where + ": array offset " + std::to_string(offset) + " is not word-aligned");
  }
  size_t len_word = offset / 32;
  const uint8_t* lw = data.data() + offset;  // offset < size and size is whole words
  U256 len;
  std::copy(lw, lw + 32, len.be.begin());
  size_t available = data.size() / 32 - len_word - 1;
  if (!len.FitsU64() || len.ToU64() > available) {
    return Bad(where + ": array length " + len.ToDecimal() + " exceeds the " +
               std::to_string(available) + " words that follow it");
  }
  return ArrayRef{len_word + 1, static_cast<size_t>(len.ToU64())};
}

}  // namespace

std::array<uint8_t, 4> Selector(std::string_view signature) {
  auto h = format::Keccak256(signature);
  return {h[0], h[1], h[2], h[3]};
}

Encoder::Encoder(std::string_view signature) : selector_(Selector(signature)) {}

Encoder& Encoder::Address(const chain::Address& a) {
  Word w = AddressWord(a);
  args_.push_back({false, format::Bytes(w.begin(), w.end())});
  return *this;
}

Encoder& Encoder::Uint(const U256& v) {
  args_.push_back({false, format::Bytes(v.be.begin(), v.be.end())});
  return *this;
}

Encoder& Encoder::Uint(uint64_t v) { return Uint(U256::FromU64(v)); }

Encoder& Encoder::Bytes32(const Hash32& h) {
  args_.push_back({false, format::Bytes(h.begin(), h.end())});
  return *this;
}

Encoder& Encoder::Bool(bool b) { return Uint(U256::FromU64(b ? 1 : 0)); }

Encoder& Encoder::AddressArray(const std::vector<chain::Address>& v) {
  format::Bytes tail;
  Append(tail, UintWord(U256::FromU64(v.size())));
  for (const auto& a : v) Append(tail, AddressWord(a));
  args_.push_back({true, std::move(tail)});
  return *this;
}

Encoder& Encoder::UintArray(const std::vector<uint64_t>& v) {
  format::Bytes tail;
  Append(tail, UintWord(U256::FromU64(v.size())));
  for (uint64_t x : v) Append(tail, UintWord(U256::FromU64(x)));
  args_.push_back({true, std::move(tail)});
  return *this;
}

Encoder& Encoder::String(std::string_view s) {
  format::Bytes tail;
  Append(tail, UintWord(U256::FromU64(s.size())));
  tail.insert(tail.end(), s.begin(), s.end());
  tail.resize(tail.size() + (32 - s.size() % 32) % 32, 0);  // right-padded to a whole word
  args_.push_back({true, std::move(tail)});
  return *this;
}

format::Bytes Encoder::Finish() const {
  format::Bytes out(selector_.begin(), selector_.end());
  format::Bytes tails;
  const size_t head_size = 32 * args_.size();
  for (const auto& a : args_) {
    if (a.dynamic) {
      Append(out, UintWord(U256::FromU64(head_size + tails.size())));
      tails.insert(tails.end(), a.head_or_tail.begin(), a.head_or_tail.end());
    } else {
      out.insert(out.end(), a.head_or_tail.begin(), a.head_or_tail.end());
    }
  }
  out.insert(out.end(), tails.begin(), tails.end());
  return out;
}

Result<Decoder> Decoder::Create(format::ByteView data, size_t static_words, bool exact) {
  if (data.size() % 32 != 0) {
    return Bad(std::to_string(data.size()) + " bytes is not a whole number of 32-byte words");
  }
  size_t want = 32 * static_words;
  if (exact && data.size() != want) {
    return Bad("expected " + std::to_string(want) + " bytes, got " + std::to_string(data.size()));
  }
  if (!exact && data.size() < want) {
    return Bad("expected at least " + std::to_string(want) + " bytes, got " +
               std::to_string(data.size()));
  }
  Decoder d;
  d.data_.assign(data.begin(), data.end());
  return d;
}

Result<chain::Address> Decoder::Address(size_t word) const {
  CAPSULE_ASSIGN_OR_RETURN(const uint8_t* w, WordAt(data_, word));
  return AddressFrom(w, "word " + std::to_string(word));
}

Result<U256> Decoder::Uint(size_t word) const {
  CAPSULE_ASSIGN_OR_RETURN(const uint8_t* w, WordAt(data_, word));
  U256 v;
  std::copy(w, w + 32, v.be.begin());
  return v;
}

Result<Hash32> Decoder::Bytes32(size_t word) const {
  CAPSULE_ASSIGN_OR_RETURN(const uint8_t* w, WordAt(data_, word));
  Hash32 h;
  std::copy(w, w + 32, h.begin());
  return h;
}

Result<bool> Decoder::Bool(size_t word) const {
  CAPSULE_ASSIGN_OR_RETURN(const uint8_t* w, WordAt(data_, word));
  if (!UpperZero(w, 31) || w[31] > 1) {
    return Bad("word " + std::to_string(word) + ": bool is neither 0 nor 1");
  }
  return w[31] == 1;
}

Result<std::vector<chain::Address>> Decoder::AddressArray(size_t word) const {
  CAPSULE_ASSIGN_OR_RETURN(ArrayRef ref, LocateArray(data_, word));
  std::vector<chain::Address> out;
  out.reserve(ref.count);
  for (size_t i = 0; i < ref.count; ++i) {
    CAPSULE_ASSIGN_OR_RETURN(chain::Address a, AddressFrom(data_.data() + 32 * (ref.first + i),
                                                           "word " + std::to_string(word) +
                                                               " element " + std::to_string(i)));
    out.push_back(a);
  }
  return out;
}

Result<std::vector<U256>> Decoder::UintArray(size_t word) const {
  CAPSULE_ASSIGN_OR_RETURN(ArrayRef ref, LocateArray(data_, word));
  std::vector<U256> out(ref.count);
  for (size_t i = 0; i < ref.count; ++i) {
    const uint8_t* w = data_.data() + 32 * (ref.first + i);
    std::copy(w, w + 32, out[i].be.begin());
  }
  return out;
}

}  // namespace capsule::chain::abi

// chain_probe: runs chain/ primitives on inputs given as JSON, for tests/node/eth_crosscheck.mjs
// to compare with ethers (an independent implementation). Reads {"jobs": [...]} on stdin and
// prints {"results": [...]}, one result per job, in order. A job that cannot be run answers
// {"error": "..."} so the checker can tell a refusal from a wrong answer.
//
// Jobs ("op"): keccak {hex}; rlp {item: "0x.." | [item, ...]}; u256 {decimal};
// creator_binding {creator, signingKey}; license_request {chainId, contract, holder,
// holderEd25519, holderX25519, manifestHash, tokenId, model, nonce, expiry};
// sign_tx {chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data, secret};
// sign_digest {digest, secret}; recover {digest, signature};
// abi_encode {signature, args: [{type, value}]}; abi_decode {data, layout: [type, ...]}.
// Hex is 0x-prefixed; uint256 values are decimal strings.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "chain/abi.h"
#include "chain/eip712.h"
#include "chain/rlp.h"
#include "chain/secp256k1.h"
#include "chain/tx.h"
#include "chain/u256.h"
#include "format/bytes.h"
#include "format/crypto.h"
#include "format/keccak.h"

using namespace capsule;         // NOLINT
using namespace capsule::chain;  // NOLINT
using format::Bytes;
using Json = nlohmann::json;

namespace {

// Input errors end the job, not the process: thrown here, caught per job below.
struct JobError {
  std::string what;
};

Bytes HexArg(const Json& v) {
  if (!v.is_string()) throw JobError{"expected a hex string"};
  std::string_view s = v.get_ref<const std::string&>();
  if (s.substr(0, 2) != "0x") throw JobError{"hex without 0x"};
  auto b = format::HexDecode(s.substr(2));
  if (!b) throw JobError{"bad hex"};
  return *b;
}

template <size_t N>
std::array<uint8_t, N> FixedArg(const Json& v) {
  Bytes b = HexArg(v);
  if (b.size() != N) throw JobError{"expected " + std::to_string(N) + " bytes"};
  std::array<uint8_t, N> out;
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

U256 UintArg(const Json& v) {
  if (v.is_number_unsigned()) return U256::FromU64(v.get<uint64_t>());
  if (!v.is_string()) throw JobError{"expected a decimal string"};
  auto u = U256::FromDecimal(v.get<std::string>());
  if (!u) throw JobError{"bad decimal"};
  return *u;
}

uint64_t U64Arg(const Json& v) {
  U256 u = UintArg(v);
  if (!u.FitsU64()) throw JobError{"exceeds 64 bits"};
  return u.ToU64();
}

std::string Hex(format::ByteView b) { return "0x" + format::HexEncode(b); }

Bytes Rlp(const Json& item) {
  if (item.is_array()) {
    std::vector<Bytes> items;
    for (const auto& i : item) items.push_back(Rlp(i));
    return rlp::EncodeList(items);
  }
  return rlp::EncodeBytes(HexArg(item));
}

Json AbiEncode(const Json& job) {
  abi::Encoder e(job.at("signature").get<std::string>());
  for (const auto& a : job.at("args")) {
    const std::string type = a.at("type").get<std::string>();
    const Json& v = a.at("value");
    if (type == "address") {
      e.Address(FixedArg<20>(v));
    } else if (type == "uint256") {
      e.Uint(UintArg(v));
    } else if (type == "bytes32") {
      e.Bytes32(FixedArg<32>(v));
    } else if (type == "bool") {
      e.Bool(v.get<bool>());
    } else if (type == "string") {
      e.String(v.get<std::string>());
    } else if (type == "address[]") {
      std::vector<Address> xs;
      for (const auto& x : v) xs.push_back(FixedArg<20>(x));
      e.AddressArray(xs);
    } else if (type == "uint256[]") {
      std::vector<uint64_t> xs;
      for (const auto& x : v) xs.push_back(U64Arg(x));
      e.UintArray(xs);
    } else {
      throw JobError{"unsupported ABI type " + type};
    }
  }
  return {{"data", Hex(e.Finish())}};
}

template <typename T>
T Take(Result<T> r) {
  if (!r.ok()) throw JobError{r.status().ToString()};
  return std::move(r).value();
}

Json AbiDecode(const Json& job) {
  const Json& layout = job.at("layout");
  auto d = Take(abi::Decoder::Create(HexArg(job.at("data")), layout.size(), false));
  Json values = Json::array();
  for (size_t i = 0; i < layout.size(); ++i) {
    const std::string type = layout[i].get<std::string>();
    if (type == "address") {
      values.push_back(format::EvmAddressLower(Take(d.Address(i))));
    } else if (type == "uint256") {
      values.push_back(Take(d.Uint(i)).ToDecimal());
    } else if (type == "bytes32") {
      values.push_back(Hex(Take(d.Bytes32(i))));
    } else if (type == "bool") {
      values.push_back(Take(d.Bool(i)));
    } else if (type == "address[]") {
      Json xs = Json::array();
      for (const auto& a : Take(d.AddressArray(i))) xs.push_back(format::EvmAddressLower(a));
      values.push_back(xs);
    } else if (type == "uint256[]") {
      Json xs = Json::array();
      for (const auto& u : Take(d.UintArray(i))) xs.push_back(u.ToDecimal());
      values.push_back(xs);
    } else {
      throw JobError{"unsupported ABI type " + type};
    }
  }
  return {{"values", values}};
}

Json SignTxJob(const Json& job) {
  Eip1559Tx tx;
  tx.chain_id = U64Arg(job.at("chainId"));
  tx.nonce = U64Arg(job.at("nonce"));
  tx.max_priority_fee_per_gas = UintArg(job.at("maxPriorityFeePerGas"));
  tx.max_fee_per_gas = UintArg(job.at("maxFeePerGas"));
  tx.gas_limit = U64Arg(job.at("gasLimit"));
  tx.to = FixedArg<20>(job.at("to"));
  tx.value = UintArg(job.at("value"));
  tx.data = HexArg(job.at("data"));
  auto secret = FixedArg<32>(job.at("secret"));
  auto raw = SignTx(tx, secret.data());
  auto addr = AddressOfSecret(secret.data());
  format::Wipe(secret.data(), secret.size());
  Bytes signed_raw = Take(std::move(raw));
  return {{"unsigned", Hex(SigningPayload(tx))},
          {"raw", Hex(signed_raw)},
          {"hash", Hex(TxHash(signed_raw))},
          {"from", addr ? Json(format::EvmAddressLower(*addr)) : Json(nullptr)}};
}

Json SignDigestJob(const Json& job) {
  auto secret = FixedArg<32>(job.at("secret"));
  auto sig = SignDigest(secret.data(), FixedArg<32>(job.at("digest")));
  auto addr = AddressOfSecret(secret.data());
  format::Wipe(secret.data(), secret.size());
  RecoverableSignature s = Take(std::move(sig));
  return {{"signature", Hex(s.ToRsv())},
          {"address", addr ? Json(format::EvmAddressLower(*addr)) : Json(nullptr)}};
}

Json RecoverJob(const Json& job) {
  auto sig = ParseRsv(HexArg(job.at("signature")));
  if (!sig) return {{"address", nullptr}, {"parsed", false}};
  auto who = RecoverAddress(FixedArg<32>(job.at("digest")), *sig);
  return {{"address", who ? Json(format::EvmAddressLower(*who)) : Json(nullptr)}, {"parsed", true}};
}

Json RunJob(const Json& job) {
  const std::string op = job.at("op").get<std::string>();
  if (op == "keccak") {
    Bytes b = HexArg(job.at("hex"));
    return {{"hash", Hex(format::Keccak256(b.data(), b.size()))}};
  }
  if (op == "rlp") return {{"rlp", Hex(Rlp(job.at("item")))}};
  if (op == "u256") {
    auto u = U256::FromDecimal(job.at("decimal").get<std::string>());
    if (!u) throw JobError{"rejected"};
    return {{"decimal", u->ToDecimal()}, {"quantity", u->ToQuantity()}, {"hex64", u->ToHex64()}};
  }
  if (op == "creator_binding") {
    eip712::CreatorBinding b;
    b.creator = FixedArg<20>(job.at("creator"));
    b.signing_key = FixedArg<32>(job.at("signingKey"));
    eip712::Domain d;
    return {{"digest", Hex(eip712::Digest(d, b.StructHash()))},
            {"domain", d.ToJson()},
            {"message", b.ToJson()}};
  }
  if (op == "license_request") {
    eip712::Domain d;
    d.chain_id = U64Arg(job.at("chainId"));
    d.verifying_contract = FixedArg<20>(job.at("contract"));
    eip712::LicenseRequest r;
    r.holder = FixedArg<20>(job.at("holder"));
    r.holder_ed25519 = FixedArg<32>(job.at("holderEd25519"));
    r.holder_x25519 = FixedArg<32>(job.at("holderX25519"));
    r.manifest_hash = FixedArg<32>(job.at("manifestHash"));
    r.token_id = UintArg(job.at("tokenId"));
    r.model = job.at("model").get<std::string>();
    r.nonce = UintArg(job.at("nonce"));
    r.expiry = U64Arg(job.at("expiry"));
    return {{"digest", Hex(eip712::Digest(d, r.StructHash()))},
            {"domain", d.ToJson()},
            {"domainTypes", d.TypesJson()},
            {"message", r.ToJson()}};
  }
  if (op == "sign_tx") return SignTxJob(job);
  if (op == "sign_digest") return SignDigestJob(job);
  if (op == "recover") return RecoverJob(job);
  if (op == "abi_encode") return AbiEncode(job);
  if (op == "abi_decode") return AbiDecode(job);
  throw JobError{"unknown op " + op};
}

}  // namespace

int main() {
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  Json in = Json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object() || !in.contains("jobs") || !in["jobs"].is_array()) {
    std::fprintf(stderr, "chain_probe: expected {\"jobs\": [...]} on stdin\n");
    return 2;
  }
  Json results = Json::array();
  for (const auto& job : in["jobs"]) {
    try {
      results.push_back(RunJob(job));
    } catch (const JobError& e) {
      results.push_back({{"error", e.what}});
    } catch (const Json::exception& e) {
      results.push_back({{"error", std::string("bad job: ") + e.what()}});
    }
  }
  std::cout << Json({{"results", results}}).dump() << "\n";
  return 0;
}

// Signature section codec. The parser is strict about framing (every length-prefixed slice
// must be consumed exactly) but, like wasmsign2, ignores signatures with unknown algorithms.
#include "format/signature.h"

#include <cstring>
#include <string_view>

#include "format/wasm.h"

namespace capsule::format {
namespace {
constexpr std::string_view kDomain = "wasmsig";

void PutSlice(Bytes& out, ByteView b) {
  PutLeb128(out, b.size());
  out.insert(out.end(), b.begin(), b.end());
}

struct Reader {
  ByteView in;
  size_t pos = 0;
  bool Leb(uint32_t* v) {
    size_t n = GetLeb128U32(in.subspan(pos), v);
    if (!n) return false;
    pos += n;
    return true;
  }
  bool Slice(ByteView* out) {
    uint32_t n;
    if (!Leb(&n) || n > in.size() - pos) return false;
    *out = in.subspan(pos, n);
    pos += n;
    return true;
  }
  bool Take(size_t n, const uint8_t** p) {
    if (n > in.size() - pos) return false;
    *p = in.data() + pos;
    pos += n;
    return true;
  }
  bool done() const { return pos == in.size(); }
};
}  // namespace

Bytes SignatureData::Serialize() const {
  Bytes out;
  PutLeb128(out, 1);  // spec version
  PutLeb128(out, 1);  // content type: module
  PutLeb128(out, 1);  // hash function: SHA-256
  PutLeb128(out, sets.size());
  for (const auto& set : sets) {
    Bytes s;
    PutLeb128(s, set.hashes.size());
    for (const auto& h : set.hashes) s.insert(s.end(), h.begin(), h.end());
    PutLeb128(s, set.signatures.size());
    for (const auto& sig : set.signatures) {
      Bytes one;
      PutSlice(one, sig.key_id);
      one.push_back(sig.alg);
      PutSlice(one, ByteView(sig.sig.data(), sig.sig.size()));
      PutSlice(s, one);
    }
    PutSlice(out, s);
  }
  return out;
}

Result<SignatureData> SignatureData::Parse(ByteView content, const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Status(Code::BadSignatureSection, where + ": signature section: " + why);
  };
  Reader r{content};
  uint32_t version, ctype, hfn, nsets;
  if (!r.Leb(&version) || !r.Leb(&ctype) || !r.Leb(&hfn) || !r.Leb(&nsets))
    return bad("truncated header");
  if (version != 1) return bad("unsupported spec version " + std::to_string(version));
  if (ctype != 1) return bad("content type is not a module");
  if (hfn != 1) return bad("hash function is not SHA-256");
  if (nsets > kMaxHashes) return bad("too many signed hash sets");
  SignatureData d;
  for (uint32_t i = 0; i < nsets; ++i) {
    ByteView set_bytes;
    if (!r.Slice(&set_bytes)) return bad("truncated hash set");
    Reader s{set_bytes};
    uint32_t nh, ns;
    if (!s.Leb(&nh) || nh > kMaxHashes) return bad("bad hash count");
    SignedHashes set;
    for (uint32_t k = 0; k < nh; ++k) {
      const uint8_t* p;
      if (!s.Take(32, &p)) return bad("truncated hash");
      Hash32 h;
      std::memcpy(h.data(), p, 32);
      set.hashes.push_back(h);
    }
    if (!s.Leb(&ns) || ns > kMaxSignatures) return bad("bad signature count");
    for (uint32_t k = 0; k < ns; ++k) {
      ByteView sig_bytes;
      if (!s.Slice(&sig_bytes)) return bad("truncated signature");
      Reader g{sig_bytes};
      ByteView key_id, sig;
      const uint8_t* alg;
      if (!g.Slice(&key_id) || !g.Take(1, &alg) || !g.Slice(&sig) || !g.done())
        return bad("malformed signature entry");
      if (*alg != 1 || sig.size() != 64) continue;  // unknown algorithm: ignored (wasmsign2)
      PartSignature ps;
      ps.key_id.assign(key_id.begin(), key_id.end());
      ps.alg = *alg;
      std::memcpy(ps.sig.data(), sig.data(), 64);
      set.signatures.push_back(std::move(ps));
    }
    if (!s.done()) return bad("trailing bytes in a hash set");
    d.sets.push_back(std::move(set));
  }
  if (!r.done()) return bad("trailing bytes");
  return d;
}

Bytes SignedMessage(const std::vector<Hash32>& hashes) {
  Bytes msg(kDomain.begin(), kDomain.end());
  msg.push_back(1);  // version
  msg.push_back(1);  // content type
  msg.push_back(1);  // hash function
  for (const auto& h : hashes) msg.insert(msg.end(), h.begin(), h.end());
  return msg;
}

Status AddSignature(SignatureData& data, const std::vector<Hash32>& hashes, const uint8_t sk[64],
                    const uint8_t pk[32]) {
  Bytes msg = SignedMessage(hashes);
  PartSignature ps;
  // Empty key id: stock wasmsign2 verify skips signatures whose key id differs from its own.
  Ed25519Sign(sk, msg, ps.sig.data());
  for (auto& set : data.sets) {
    if (set.hashes != hashes) continue;
    for (const auto& s : set.signatures)
      if (Ed25519Verify(pk, msg, s.sig.data()))
        return Status(Code::AlreadySigned, "the capsule already carries a signature by this key");
    set.signatures.push_back(std::move(ps));
    return Status::Ok();
  }
  data.sets.push_back(SignedHashes{hashes, {std::move(ps)}});
  return Status::Ok();
}

bool HasValidSignature(const SignatureData& data, const std::vector<Hash32>& hashes,
                       const uint8_t pk[32]) {
  for (const auto& set : data.sets) {
    if (set.hashes != hashes) continue;
    Bytes msg = SignedMessage(set.hashes);
    for (const auto& s : set.signatures)
      if (Ed25519Verify(pk, msg, s.sig.data())) return true;
  }
  return false;
}

}  // namespace capsule::format

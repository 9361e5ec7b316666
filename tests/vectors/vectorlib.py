# Helpers for the test-vector generator (generate.sh → make_vectors.py) and resign.py: capsule
# sections, re-signing (docs/spec/capsule-format.md), chunk crypto, licences
# (docs/spec/license.md), the seeded sealed box, and EIP-712 licence requests
# (docs/spec/chain.md §6). An independent implementation of what it touches: the vectors check the
# tools against it, and it is checked against the tools (make_vectors.py cross-checks a request
# and a licence written by capsulec byte for byte).
#
# Needs python3 with `cryptography`, and libsodium and libsecp256k1 (the build dependencies) for
# the sealed box and secp256k1 signatures, loaded with ctypes.
import base64, ctypes, ctypes.util, hashlib, hmac, json, os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

WASM_PREAMBLE = b"\0asm\x01\0\0\0"


# ---- WebAssembly framing ----
def leb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return r, i


def enc_leb(n):
    o = bytearray()
    while True:
        x = n & 0x7f; n >>= 7; o.append(x | (0x80 if n else 0))
        if not n: return bytes(o)


class Section:
    """One section: id, name (custom sections), content (after the name)."""
    def __init__(self, sid, name, content):
        self.id, self.name, self.content = sid, name, bytes(content)

    def encode(self):
        if self.id == 0:
            body = enc_leb(len(self.name)) + self.name.encode() + self.content
        else:
            body = self.content
        return bytes([self.id]) + enc_leb(len(body)) + body


def parse(b):
    """[Section] of a well-formed module (raises on malformed framing)."""
    assert b[:8] == WASM_PREAMBLE, "not a wasm module"
    i, out = 8, []
    while i < len(b):
        sid = b[i]; i += 1; n, i = leb(b, i); end = i + n
        if sid == 0:
            l, j = leb(b, i)
            out.append(Section(0, b[j:j + l].decode(), b[j + l:end]))
        else:
            out.append(Section(sid, "", b[i:end]))
        i = end
    return out


def assemble(secs):
    return WASM_PREAMBLE + b"".join(s.encode() for s in secs)


def find(secs, name):
    return next(s for s in secs if s.id == 0 and s.name == name)


def custom_offset(data, name):
    """(section start, content start) of custom section `name` in the bytes of a module."""
    i = 8
    while i < len(data):
        start = i; sid = data[i]; i += 1; n, i = leb(data, i); end = i + n
        if sid == 0:
            l, j = leb(data, i)
            if data[j:j + l] == name.encode(): return start, j + l
        i = end
    raise KeyError(name)


def code_sections(module_bytes):
    """The non-custom sections of a module (what part 1 of a capsule holds)."""
    return [s for s in parse(module_bytes) if s.id != 0]


def replace_code(secs, code):
    """Part 1 (between the signature section and the first delimiter) replaced by `code`."""
    first = next(i for i, s in enumerate(secs) if s.id == 0 and s.name == "signature_delimiter")
    return [secs[0]] + list(code) + secs[first:]


def code_hash(secs):
    """SHA-256 of part 1's sections: the code hash of `inspect` and `--trust-logic`."""
    first = next(i for i, s in enumerate(secs) if s.id == 0 and s.name == "signature_delimiter")
    return hashlib.sha256(b"".join(s.encode() for s in secs[1:first])).hexdigest()


# ---- keys ----
def load_key(path):
    """(ed25519 seed, x25519 secret, secp256k1 secret, public dict) of a capsule-secret-key."""
    k = json.load(open(path))
    assert k.get("protection") == "none", path
    s = base64.b64decode(k["secret"])
    pub = k["public"]
    if isinstance(pub, str): pub = json.loads(pub)
    return s[:32], s[32:64], s[64:96], pub


def ed25519_sign(seed, msg):
    return Ed25519PrivateKey.from_private_bytes(seed).sign(msg)


# ---- signing a capsule (wasmsign2's format: docs/spec/capsule-format.md §4) ----
def part_hashes(secs):
    """h1, h2, h3: cumulative SHA-256 over the sections after the signature section."""
    h, hs = hashlib.sha256(), []
    for s in secs[1:]:
        h.update(s.encode())
        if s.id == 0 and s.name == "signature_delimiter": hs.append(h.copy().digest())
    return hs


def signature_section(hash_sets):
    """hash_sets: [(hashes, [ed25519 seed, …])] → the signature section's content."""
    sets = b""
    for hs, seeds in hash_sets:
        msg = b"wasmsig\x01\x01\x01" + b"".join(hs)
        sigs = b""
        for seed in seeds:
            entry = enc_leb(0) + b"\x01" + enc_leb(64) + ed25519_sign(seed, msg)
            sigs += enc_leb(len(entry)) + entry
        st = enc_leb(len(hs)) + b"".join(hs) + enc_leb(len(seeds)) + sigs
        sets += enc_leb(len(st)) + st
    return enc_leb(1) + enc_leb(1) + enc_leb(1) + enc_leb(len(hash_sets)) + sets


def resign(secs, keyfile, parts=3):
    """Signs the first `parts` part hashes with KEYFILE's Ed25519 key (one set, one signature)."""
    seed = load_key(keyfile)[0]
    secs[0] = Section(0, "signature", signature_section([(part_hashes(secs)[:parts], [seed])]))
    return assemble(secs)


def canonical(obj):
    """RFC 8785 for the values capsules use (ASCII keys, strings, integers, no floats)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest(secs):
    return json.loads(find(secs, "capsule.manifest").content)


def set_manifest(secs, m, raw=None):
    find(secs, "capsule.manifest").content = raw if raw is not None else canonical(m)


# ---- chunk index and chunk crypto (capsule-format.md §5–6) ----
def parse_index(c):
    count = int.from_bytes(c[4:8], "little")
    out = []
    for i in range(count):
        p = 8 + 37 * i
        out.append([int.from_bytes(c[p:p + 4], "little"), c[p + 4], c[p + 5:p + 37]])
    return out


def serialize_index(entries):
    out = b"\x01\0\0\0" + len(entries).to_bytes(4, "little")
    for length, flags, h in entries:
        out += length.to_bytes(4, "little") + bytes([flags]) + h
    return out


COMPRESSED, FINAL = 1, 2


def payload_key(k, capsule_id):
    return HKDF(hashes.SHA256(), 32, None, b"capsule/v1 payload key" + capsule_id).derive(k)


def key_commitment(k, capsule_id):
    return HKDF(hashes.SHA256(), 32, None, b"capsule/v1 key commitment" + capsule_id).derive(k)


def chunk_aad(capsule_id, index, final, compressed, chunk_size, plain_len):
    return (b"capsule/v1 chunk" + b"\x01" + capsule_id + index.to_bytes(8, "big") +
            bytes([final, compressed]) + chunk_size.to_bytes(4, "big") + plain_len.to_bytes(4, "big"))


def seal_chunk(k, capsule_id, index, final, compressed, chunk_size, plain_len, body):
    nonce = b"\0" * 4 + index.to_bytes(8, "big")
    aad = chunk_aad(capsule_id, index, final, compressed, chunk_size, plain_len)
    return AESGCM(payload_key(k, capsule_id)).encrypt(nonce, body, aad)


def open_chunk(k, capsule_id, index, flags, chunk_size, plain_len, sealed):
    """The plaintext of an uncompressed chunk (compressed ones are returned still compressed)."""
    nonce = b"\0" * 4 + index.to_bytes(8, "big")
    aad = chunk_aad(capsule_id, index, 1 if flags & FINAL else 0, flags & COMPRESSED, chunk_size,
                    plain_len)
    return AESGCM(payload_key(k, capsule_id)).decrypt(nonce, sealed, aad)


# ---- libsodium: the sealed box (crypto_box_seal, with a derived ephemeral key) ----
_sodium = None


def sodium():
    global _sodium
    if _sodium is None:
        _sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
        assert _sodium.sodium_init() >= 0
    return _sodium


def seal(recipient_pk, msg, ephemeral_seed):
    """crypto_box_seal with the ephemeral key from a 32-byte seed: epk ‖ box(msg, BLAKE2b(epk‖pk))."""
    s = sodium()
    epk, esk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(32)
    assert s.crypto_box_seed_keypair(epk, esk, ephemeral_seed) == 0
    nonce = hashlib.blake2b(epk.raw + recipient_pk, digest_size=24).digest()
    out = ctypes.create_string_buffer(len(msg) + 16)
    assert s.crypto_box_easy(out, msg, ctypes.c_ulonglong(len(msg)), nonce, recipient_pk, esk) == 0
    return epk.raw + out.raw


def seal_open(pk, sk, sealed):
    s = sodium()
    out = ctypes.create_string_buffer(len(sealed) - 48)
    if s.crypto_box_seal_open(out, sealed, ctypes.c_ulonglong(len(sealed)), pk, sk) != 0:
        return None
    return out.raw


def x25519_public(sk):
    out = ctypes.create_string_buffer(32)
    assert sodium().crypto_scalarmult_base(out, sk) == 0
    return out.raw


# ---- licences (docs/spec/license.md) ----
def license_text(body, issuer_keyfile):
    """A licence file as `capsulec license issue` writes it: {license, signature}, 2-space JSON."""
    seed, _, _, pub = load_key(issuer_keyfile)
    sig = ed25519_sign(seed, b"capsule/v1 license\0" + canonical(body))
    doc = {"license": body, "signature": {"alg": "ed25519", "key": pub["ed25519"],
                                          "sig": base64.b64encode(sig).decode()}}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---- the local state store (docs/spec/ledger.md §3) ----
def state_store(path, store_key, seq, last_seen, records):
    """Writes a state store (version 2) as capsule-run leaves it: store.key, manifest.SEQ.json
    and one records/CAPSULE-HOLDER-LICENCE.SEQ.json per record. records: [(capsule id hex,
    0x address, licence id hex, plays_used, first_play)]. Returns {file name: bytes} of what it
    wrote."""
    def mac(domain, data):
        return hmac.new(store_key, domain + b"\0" + data, hashlib.sha256).hexdigest()
    files = {"store.key": store_key}
    entries = {}
    for cid, holder, lic, plays, first in records:
        rkey = f"{cid}-{holder[2:]}-{lic}"
        rec = canonical({"capsule": cid, "first_play": first, "format": "capsule-state-record",
                         "holder": holder, "license": lic, "plays_used": plays, "seq": seq,
                         "version": 2}) + b"\n"
        files[f"records/{rkey}.{seq}.json"] = rec
        entries[rkey] = {"mac": mac(b"capsule/v1 state record", rec), "seq": seq}
    man = {"format": "capsule-state-manifest", "last_seen": last_seen, "records": entries,
           "seq": seq, "version": 2}
    man["mac"] = mac(b"capsule/v1 state manifest", canonical(man))
    files[f"manifest.{seq}.json"] = (json.dumps(man, indent=1, sort_keys=True) + "\n").encode()
    if path:
        os.makedirs(f"{path}/records", exist_ok=True)
        for n, b in files.items(): open(f"{path}/{n}", "wb").write(b)
    return files


# ---- Keccak-256 and EIP-712 licence requests (docs/spec/chain.md §6) ----
_RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
       0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
       0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
       0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
       0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
       0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56],
        [27, 20, 39, 8, 14]]
_M = (1 << 64) - 1


def _keccak_f(a):
    for rc in _RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _M) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                r = _ROT[x][y]
                b[y][(2 * x + 3 * y) % 5] = ((a[x][y] << r) | (a[x][y] >> (64 - r))) & _M if r else a[x][y]
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak256(data):
    rate = 136
    p = bytearray(data) + b"\x01"
    p += b"\0" * (-len(p) % rate)
    p[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(p), rate):
        for i in range(rate // 8):
            a[i % 5][i // 5] ^= int.from_bytes(p[off + 8 * i:off + 8 * i + 8], "little")
        a = _keccak_f(a)
    return b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"

DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
REQUEST_TYPE = ("LicenseRequest(address holder,bytes32 holderEd25519,bytes32 holderX25519,"
                "bytes32 manifestHash,uint256 tokenId,string model,uint256 nonce,uint64 expiry)")


def _u256(n): return n.to_bytes(32, "big")
def _addr(a): return b"\0" * 12 + bytes.fromhex(a[2:])
def _b32(h): return bytes.fromhex(h[2:])


def request_digest(domain, m):
    sep = keccak256(keccak256(DOMAIN_TYPE.encode()) + keccak256(domain["name"].encode()) +
                    keccak256(domain["version"].encode()) + _u256(domain["chainId"]) +
                    _addr(domain["verifyingContract"]))
    sh = keccak256(keccak256(REQUEST_TYPE.encode()) + _addr(m["holder"]) +
                   _b32(m["holderEd25519"]) + _b32(m["holderX25519"]) + _b32(m["manifestHash"]) +
                   _u256(int(m["tokenId"])) + keccak256(m["model"].encode()) +
                   _u256(int(m["nonce"])) + _u256(m["expiry"]))
    return keccak256(b"\x19\x01" + sep + sh)


def secp256k1_sign(secret, digest):
    """r ‖ s ‖ v (v = 27 + recovery id), RFC 6979 nonce, low s: what libsecp256k1 gives capsulec."""
    lib = ctypes.CDLL(ctypes.util.find_library("secp256k1") or "libsecp256k1.so.1")
    lib.secp256k1_context_create.restype = ctypes.c_void_p
    ctx = ctypes.c_void_p(lib.secp256k1_context_create(0x201))
    sig = ctypes.create_string_buffer(65)
    assert lib.secp256k1_ecdsa_sign_recoverable(ctx, sig, digest, secret, None, None) == 1
    out, recid = ctypes.create_string_buffer(64), ctypes.c_int()
    lib.secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, out, ctypes.byref(recid), sig)
    assert recid.value in (0, 1)
    return out.raw + bytes([27 + recid.value])


def request_types():
    def fields(t):
        inner = t[t.index("(") + 1:-1]
        return [{"name": f.split()[1], "type": f.split()[0]} for f in inner.split(",")]
    return {"EIP712Domain": fields(DOMAIN_TYPE), "LicenseRequest": fields(REQUEST_TYPE)}


def request_text(domain, message, secp256k1_secret):
    """A licence request as `capsulec license request` writes it (2-space JSON, sorted keys)."""
    sig = secp256k1_sign(secp256k1_secret, request_digest(domain, message))
    doc = {"type": "capsule-license-request", "version": 1,
           "typed_data": {"types": request_types(), "primaryType": "LicenseRequest",
                          "domain": domain, "message": message},
           "signature": "0x" + sig.hex()}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

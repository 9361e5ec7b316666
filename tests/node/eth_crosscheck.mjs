// Cross-checks chain/ (through tests/tools/chain_probe) against ethers v6, an independent
// implementation: Keccak-256, RLP, U256 printing, EIP-712 digests of CreatorBinding and
// LicenseRequest (and that the JSON we emit for eth_signTypedData_v4 hashes the same in
// ethers), ABI encoding and strict decoding of valid data, signed EIP-1559 transactions,
// RFC 6979 digest signatures and address recovery (including malleated and damaged signatures).
//
// usage: node tests/node/eth_crosscheck.mjs PATH_TO_chain_probe
// Inputs are random from a seeded generator (CAPSULE_CROSSCHECK_SEED, default 1) so a failure
// can be replayed; CAPSULE_CROSSCHECK_ROUNDS scales the counts (default 1).
// Prints "N passed, M failed"; exits 1 on any mismatch or when ethers is not installed (scripts/install-npm.sh).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const ethersPath = resolve(here, "../../contracts/node_modules/ethers/lib.esm/index.js");
if (!existsSync(ethersPath)) {
  console.log(`SKIP: ethers not installed at ${ethersPath} (scripts/install-npm.sh)`);
  process.exit(1);
}
const ethers = await import(pathToFileURL(ethersPath).href);
const { AbiCoder, Signature, SigningKey, Transaction, TypedDataEncoder } = ethers;

const probe = process.argv[2];
if (!probe || !existsSync(probe)) {
  console.error("usage: node eth_crosscheck.mjs PATH_TO_chain_probe");
  process.exit(2);
}

// ---- seeded randomness (splitmix64) ----
let state = BigInt(process.env.CAPSULE_CROSSCHECK_SEED ?? "1") & 0xffffffffffffffffn;
const ROUNDS = Number(process.env.CAPSULE_CROSSCHECK_ROUNDS ?? "1");
function next64() {
  state = (state + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
  return z ^ (z >> 31n);
}
const int = (n) => Number(next64() % BigInt(n)); // 0 ≤ x < n
const pick = (xs) => xs[int(xs.length)];
function bytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; ++i) b[i] = int(256);
  return b;
}
const hex = (b) => ethers.hexlify(b);
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const U256_MAX = (1n << 256n) - 1n;

// A uint256 that exercises every width, including 0, 2^64 ± 1 and the maximum.
function randUint(maxBits = 256) {
  const special = [0n, 1n, 127n, 128n, 255n, 256n, (1n << 64n) - 1n, 1n << 64n, (1n << 53n) - 1n];
  if (maxBits === 256) special.push(U256_MAX, 1n << 255n);
  if (int(4) === 0) return pick(special.filter((v) => v < 1n << BigInt(maxBits)));
  const bits = 1 + int(maxBits);
  let v = 0n;
  for (let i = 0; i < bits; i += 64) v = (v << 64n) | next64();
  return v & ((1n << BigInt(bits)) - 1n);
}

// Random Unicode (no lone surrogates): ASCII, Latin, CJK, emoji; lengths across 32-byte words.
function randString() {
  const len = pick([0, 1, 31, 32, 33, int(80)]);
  let s = "";
  for (let i = 0; i < len; ++i) {
    const r = int(10);
    const cp =
      r < 6 ? 0x20 + int(0x5f) : r < 8 ? 0xa0 + int(0x700) : r < 9 ? 0x4e00 + int(0x5000) : 0x1f300 + int(0x300);
    s += String.fromCodePoint(cp);
  }
  return s;
}

function randSecret() {
  for (;;) {
    const k = bytes(32);
    const v = BigInt(hex(k));
    if (v !== 0n && v < N) return hex(k);
  }
}

function randRlpItem(depth = 0) {
  if (depth < 3 && int(3) === 0) {
    const n = pick([0, 1, 2, 3, int(8), 20]);
    return Array.from({ length: n }, () => randRlpItem(depth + 1));
  }
  const len = pick([0, 1, 1, 1, 2, 54, 55, 56, 57, int(70), 255, 256, 300]);
  return hex(bytes(len));
}

// ---- jobs and their expected answers ----
const jobs = [];
const checks = []; // (result) => string | null  (null = pass)

function add(job, check) {
  jobs.push(job);
  checks.push(check);
}
const eq = (what, got, want) =>
  got === want ? null : `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;

for (let i = 0; i < 200 * ROUNDS; ++i) {
  const data = bytes(pick([0, 1, 135, 136, 137, 272, int(600)]));
  add({ op: "keccak", hex: hex(data) }, (r) => eq("keccak", r.hash, ethers.keccak256(data)));
}

for (let i = 0; i < 300 * ROUNDS; ++i) {
  const item = randRlpItem();
  add({ op: "rlp", item }, (r) => eq("rlp", r.rlp, ethers.encodeRlp(item)));
}

for (let i = 0; i < 200 * ROUNDS; ++i) {
  const v = randUint();
  add({ op: "u256", decimal: v.toString() }, (r) =>
    eq("u256.quantity", r.quantity, "0x" + v.toString(16)) ??
    eq("u256.hex64", r.hex64, v.toString(16).padStart(64, "0")) ??
    eq("u256.decimal", r.decimal, v.toString()),
  );
}

const BASE_DOMAIN = { name: "Capsule SDK", version: "1" };
const CREATOR_TYPES = {
  CreatorBinding: [
    { name: "creator", type: "address" },
    { name: "signingKey", type: "bytes32" },
  ],
};
for (let i = 0; i < 100 * ROUNDS; ++i) {
  const message = { creator: hex(bytes(20)), signingKey: hex(bytes(32)) };
  const want = TypedDataEncoder.hash(BASE_DOMAIN, CREATOR_TYPES, message);
  add({ op: "creator_binding", ...message }, (r) =>
    eq("creator_binding", r.digest, want) ??
    eq("creator_binding json", TypedDataEncoder.hash(r.domain, CREATOR_TYPES, r.message), want),
  );
}

const LR_FIELDS = [
  { name: "holder", type: "address" },
  { name: "holderEd25519", type: "bytes32" },
  { name: "holderX25519", type: "bytes32" },
  { name: "manifestHash", type: "bytes32" },
  { name: "tokenId", type: "uint256" },
  { name: "model", type: "string" },
  { name: "nonce", type: "uint256" },
  { name: "expiry", type: "uint64" },
];
const LR_TYPES = { LicenseRequest: LR_FIELDS };
const LR_DOMAIN_TYPES = JSON.stringify([
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
]);
for (let i = 0; i < 150 * ROUNDS; ++i) {
  const chainId = randUint(pick([8, 32, 53]));
  const contract = hex(bytes(20));
  // expiry ≤ 2^53 − 1 so that our JSON number survives JSON.parse (see the report).
  const m = {
    holder: hex(bytes(20)),
    holderEd25519: hex(bytes(32)),
    holderX25519: hex(bytes(32)),
    manifestHash: hex(bytes(32)),
    tokenId: randUint(),
    model: randString(),
    nonce: randUint(),
    expiry: randUint(53),
  };
  const domain = { ...BASE_DOMAIN, chainId, verifyingContract: contract };
  const want = TypedDataEncoder.hash(domain, LR_TYPES, m);
  const job = {
    op: "license_request",
    chainId: chainId.toString(),
    contract,
    ...m,
    tokenId: m.tokenId.toString(),
    nonce: m.nonce.toString(),
    expiry: m.expiry.toString(),
  };
  add(job, (r) => {
    if (r.error) return `license_request: ${r.error}`;
    const fromJson = TypedDataEncoder.hash(r.domain, LR_TYPES, r.message);
    return (
      eq("license_request", r.digest, want) ??
      eq("license_request json", fromJson, want) ??
      eq("license_request tokenId is a decimal string", typeof r.message.tokenId, "string") ??
      eq("license_request expiry is a number", typeof r.message.expiry, "number") ??
      eq("license_request chainId is a number", typeof r.domain.chainId, "number") ??
      eq("license_request domain types", JSON.stringify(r.domainTypes), LR_DOMAIN_TYPES)
    );
  });
}

for (let i = 0; i < 150 * ROUNDS; ++i) {
  const secret = randSecret();
  const key = new SigningKey(secret);
  const fields = {
    type: 2,
    chainId: randUint(pick([8, 32, 64])) || 1n,
    nonce: Number(randUint(53)),
    maxPriorityFeePerGas: randUint(pick([32, 64, 256])),
    maxFeePerGas: randUint(pick([32, 64, 256])),
    gasLimit: randUint(64),
    to: hex(bytes(20)),
    value: randUint(),
    data: hex(bytes(pick([0, 1, 4, 36, 68, int(400)]))),
    accessList: [],
  };
  if (fields.maxPriorityFeePerGas > fields.maxFeePerGas) {
    // ethers (like every node) refuses a tip above the fee cap.
    [fields.maxPriorityFeePerGas, fields.maxFeePerGas] = [fields.maxFeePerGas, fields.maxPriorityFeePerGas];
  }
  const tx = Transaction.from(fields);
  const unsigned = tx.unsignedSerialized;
  tx.signature = key.sign(tx.unsignedHash);
  const job = {
    op: "sign_tx",
    ...fields,
    chainId: fields.chainId.toString(),
    nonce: fields.nonce.toString(),
    maxPriorityFeePerGas: fields.maxPriorityFeePerGas.toString(),
    maxFeePerGas: fields.maxFeePerGas.toString(),
    gasLimit: fields.gasLimit.toString(),
    value: fields.value.toString(),
    secret,
  };
  delete job.type;
  delete job.accessList;
  add(job, (r) =>
    r.error
      ? `sign_tx: ${r.error}`
      : eq("sign_tx.unsigned", r.unsigned, unsigned) ??
        eq("sign_tx.raw", r.raw, tx.serialized) ??
        eq("sign_tx.hash", r.hash, tx.hash) ??
        eq("sign_tx.from", r.from, tx.from.toLowerCase()) ??
        eq("sign_tx parsed back by ethers", Transaction.from(r.raw).from, tx.from),
  );
}

for (let i = 0; i < 150 * ROUNDS; ++i) {
  const secret = randSecret();
  const key = new SigningKey(secret);
  const digest = hex(bytes(32));
  const sig = key.sign(digest);
  const address = ethers.computeAddress(key.publicKey).toLowerCase();
  add({ op: "sign_digest", digest, secret }, (r) =>
    eq("sign_digest", r.signature, sig.serialized) ?? eq("sign_digest.address", r.address, address),
  );
  add({ op: "recover", digest, signature: sig.serialized }, (r) =>
    eq("recover", r.address, address),
  );
  // v as 0/1 is accepted too.
  const raw01 = sig.r + sig.s.slice(2) + (sig.yParity ? "01" : "00");
  add({ op: "recover", digest, signature: raw01 }, (r) => eq("recover v01", r.address, address));
  // The malleated twin (n − s, other parity) recovers the same key in plain ECDSA, but EIP-2
  // forbids it: ethers calls it invalid (isValid(), EIP-2), and we must refuse to parse it.
  const highS = N - BigInt(sig.s);
  const twin = sig.r + highS.toString(16).padStart(64, "0") + (sig.yParity ? "1b" : "1c");
  let ethersRefuses = false;
  try {
    ethersRefuses = !Signature.from(twin).isValid();
  } catch {
    ethersRefuses = true;
  }
  add({ op: "recover", digest, signature: twin }, (r) =>
    eq("ethers refuses high s", ethersRefuses, true) ?? eq("recover high-s parsed", r.parsed, false),
  );
  // A damaged signature (one byte of r changed) recovers someone else or nobody, as in ethers.
  const damaged = ethers.getBytes(sig.serialized);
  damaged[1 + int(30)] ^= 1 << int(8);
  let want = null;
  try {
    want = ethers.recoverAddress(digest, hex(damaged)).toLowerCase();
  } catch {
    want = null;
  }
  add({ op: "recover", digest, signature: hex(damaged) }, (r) => eq("recover damaged", r.address, want));
}

const ABI_TYPES = ["address", "uint256", "bytes32", "bool", "string", "address[]", "uint256[]"];
function randAbiValue(type, u64Only) {
  switch (type) {
    case "address":
      return hex(bytes(20));
    case "uint256":
      return randUint();
    case "bytes32":
      return hex(bytes(32));
    case "bool":
      return int(2) === 1;
    case "string":
      return randString();
    case "address[]":
      return Array.from({ length: pick([0, 1, 2, int(12)]) }, () => hex(bytes(20)));
    case "uint256[]":
      return Array.from({ length: pick([0, 1, 3, int(12)]) }, () => (u64Only ? randUint(64) : randUint()));
  }
  throw new Error(type);
}
const toProbe = (v) =>
  typeof v === "bigint" ? v.toString() : Array.isArray(v) ? v.map(toProbe) : v;
const coder = AbiCoder.defaultAbiCoder();

for (let i = 0; i < 200 * ROUNDS; ++i) {
  const types = Array.from({ length: 1 + int(6) }, () => pick(ABI_TYPES));
  const values = types.map((t) => randAbiValue(t, true)); // UintArray takes uint64 elements
  const signature = `f${i}(${types.join(",")})`;
  const want = ethers.id(signature).slice(0, 10) + coder.encode(types, values).slice(2);
  add(
    { op: "abi_encode", signature, args: types.map((type, k) => ({ type, value: toProbe(values[k]) })) },
    (r) => eq("abi_encode " + signature, r.data, want),
  );
}

const normalize = (type, v) => {
  if (type === "address") return v.toLowerCase();
  if (type === "uint256") return v.toString();
  if (type === "address[]") return v.map((x) => x.toLowerCase());
  if (type === "uint256[]") return v.map((x) => x.toString());
  return v;
};
for (let i = 0; i < 200 * ROUNDS; ++i) {
  const types = Array.from({ length: 1 + int(6) }, () => pick(ABI_TYPES.filter((t) => t !== "string")));
  const values = types.map((t) => randAbiValue(t, false));
  const data = coder.encode(types, values);
  const want = JSON.stringify(types.map((t, k) => normalize(t, values[k])));
  add({ op: "abi_decode", data, layout: types }, (r) =>
    r.error ? `abi_decode: ${r.error}` : eq("abi_decode " + types.join(","), JSON.stringify(r.values), want),
  );
}

// ---- run ----
const run = spawnSync(probe, [], { input: JSON.stringify({ jobs }), maxBuffer: 1 << 28 });
if (run.status !== 0) {
  console.error(`chain_probe failed (status ${run.status}): ${run.stderr}`);
  process.exit(1);
}
const { results } = JSON.parse(run.stdout.toString());
if (results.length !== jobs.length) {
  console.error(`chain_probe answered ${results.length} of ${jobs.length} jobs`);
  process.exit(1);
}
let passed = 0;
let failed = 0;
for (let i = 0; i < jobs.length; ++i) {
  let err;
  try {
    err = checks[i](results[i]);
  } catch (e) {
    err = `checker threw: ${e.message}; result ${JSON.stringify(results[i])}`;
  }
  if (err) {
    ++failed;
    if (failed <= 20) console.error(`FAIL job ${i} ${JSON.stringify(jobs[i]).slice(0, 300)}\n  ${err}`);
  } else {
    ++passed;
  }
}
console.log(`${passed} passed, ${failed} failed (seed ${process.env.CAPSULE_CROSSCHECK_SEED ?? "1"})`);
process.exit(failed === 0 ? 0 : 1);

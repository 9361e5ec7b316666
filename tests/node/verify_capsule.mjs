#!/usr/bin/env node
// verify_capsule.mjs — an independent verifier of Capsule files, used by the tests as a
// cross-implementation oracle for capsulec.
//
// Why it is independent: it is written from DESIGN §7 (the WebAssembly signature bytes as
// wasmsign2 writes them) and the public WebAssembly binary format only, shares no code with the
// C++ library, and uses only Node's standard library: SHA-256 and Ed25519 from node:crypto
// (OpenSSL), and V8's own WebAssembly decoder for the engine checks.
//
// What it checks, for each CAPSULE:
//   1. The wasm preamble and every section (id, LEB128 size, custom-section name) parse exactly
//      to the end of the file.
//   2. The first section is the custom section `signature` (or, with --detached FILE, the
//      signature section payload is read from FILE; an embedded one is then skipped).
//   3. The signature section payload parses exactly: varuint spec_version 1, content_type 1,
//      hash_fn 1, varuint32 set count, each set a varuint32-length-prefixed slice holding a
//      varuint32 hash count, 32-byte hashes, a varuint32 signature count, and each signature a
//      length-prefixed slice holding key_id (length-prefixed), algorithm byte 1 (Ed25519) and a
//      length-prefixed 64-byte signature. No byte may be left over anywhere.
//   4. Cumulative SHA-256 over every section after the signature section, each hashed as it
//      appears in the file (id byte, LEB128 size, payload); h_i is taken after delimiter i.
//      Some signature set has exactly as many hashes as there are parts, each equal to h_i, and
//      at least one Ed25519 signature in it verifies over
//        "wasmsig" ‖ 0x01 ‖ 0x01 ‖ 0x01 ‖ h1 ‖ … ‖ hn
//      under every key given (--key / --key-file; without one, the manifest's creator.ed25519,
//      which proves integrity only: a key read from the file itself is not a trust decision).
//   5. The capsule layout: part 1 = code sections only; part 2 = capsule.manifest,
//      capsule.index, optional capsule.preview; part 3 = capsule.payload; every delimiter holds
//      16 bytes; nothing follows the last delimiter; the manifest is JSON.
//   6. V8: WebAssembly.validate is true; WebAssembly.Module.customSections lists exactly one
//      signature (none is allowed with --detached), capsule.manifest, capsule.index,
//      capsule.payload (and capsule.preview when present) and three signature_delimiter
//      sections, with the same contents this parser found; imports are all from module
//      "capsule_v1"; exports include memory `memory` and function `capsule_run`.
//
// It also notes (in "warnings", without failing) section sizes in the signed range whose
// LEB128 encoding is longer than the minimal one: wasmsign2 re-encodes every size minimally
// before hashing, so such a file hashes differently there. --wasmsign2 hashes that way instead.
//
// Usage: node verify_capsule.mjs [--key HEX | --key-file FILE.pub]... [--detached SIGFILE]
//                                [--wasmsign2] CAPSULE...
// Output: one JSON line per file:
//   {"file","ok","v8_valid","parts","signatures_valid","key_source","error"?,"warnings"?}
// Exit 0 only if every file is ok; 1 otherwise; 2 on a usage error.
// Files are read whole (V8 needs the bytes anyway), so this is for test-sized capsules.

import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const SIGNATURE = 'signature';
const DELIMITER = 'signature_delimiter';
const MANIFEST = 'capsule.manifest';
const INDEX = 'capsule.index';
const PREVIEW = 'capsule.preview';
const PAYLOAD = 'capsule.payload';
const WASM_PREAMBLE = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const SIGNED_DOMAIN = Buffer.concat([Buffer.from('wasmsig'), Buffer.from([0x01, 0x01, 0x01])]);
const ALG_ED25519 = 1;
const MAX_HASHES = 64;       // wasmsign2's limits
const MAX_SIGNATURES = 256;

class VerifyError extends Error {}
function fail(msg) { throw new VerifyError(msg); }
const hex = (b) => Buffer.from(b).toString('hex');
const at = (n) => `0x${n.toString(16)}`;

// A cursor over bytes with the LEB128 readers the wasm and signature formats use.
class Reader {
  constructor(buf, base = 0, what = 'data') { this.buf = buf; this.pos = 0; this.base = base; this.what = what; }
  get left() { return this.buf.length - this.pos; }
  where() { return at(this.base + this.pos); }
  byte() {
    if (this.pos >= this.buf.length) fail(`${this.what}: truncated at ${this.where()}`);
    return this.buf[this.pos++];
  }
  // Unsigned LEB128, at most 5 bytes, value < 2^32 (varuint32). Returns {value, length}.
  leb32() {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (i === 4 && b > 0x0f) fail(`${this.what}: varuint32 overflow at ${at(this.base + start)}`);
        return { value, length: this.pos - start };
      }
    }
    fail(`${this.what}: varuint32 longer than 5 bytes at ${at(this.base + start)}`);
  }
  u32() { return this.leb32().value; }
  // varuint7 (one byte, high bit clear), as wasmsign2 reads spec_version/content_type/hash_fn.
  u7() {
    const b = this.byte();
    if (b & 0x80) fail(`${this.what}: expected a one-byte varuint at ${at(this.base + this.pos - 1)}`);
    return b;
  }
  bytes(n) {
    if (n > this.left) fail(`${this.what}: ${n} bytes wanted at ${this.where()}, ${this.left} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  slice(what) {
    const n = this.u32();
    return new Reader(this.bytes(n), this.base + this.pos - n, what ?? this.what);
  }
  end() { if (this.left !== 0) fail(`${this.what}: ${this.left} unexpected trailing bytes at ${this.where()}`); }
}

function minimalLeb(v) {
  const out = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}

// Splits a module into sections. Each: {id, start, sizeLen, payloadStart, end, name?, content}
// where content is the payload after the custom-section name.
function parseSections(bytes) {
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(WASM_PREAMBLE)) {
    fail(`not a wasm module: preamble is ${hex(bytes.subarray(0, 8))}, want ${hex(WASM_PREAMBLE)}`);
  }
  const r = new Reader(bytes, 0, 'module');
  r.pos = 8;
  const sections = [];
  while (r.left > 0) {
    const start = r.pos;
    const id = r.byte();
    if (id > 12) fail(`unknown section id ${id} at ${at(start)}`);
    const size = r.leb32();
    const payloadStart = r.pos;
    if (size.value > r.left) fail(`section at ${at(start)} declares ${size.value} bytes, only ${r.left} left`);
    const payload = r.bytes(size.value);
    const s = { id, start, sizeLen: size.length, size: size.value, payloadStart, end: r.pos, payload };
    if (id === 0) {
      const pr = new Reader(payload, payloadStart, `custom section at ${at(start)}`);
      const nameLen = pr.leb32();
      const nameBytes = pr.bytes(nameLen.value);
      try {
        s.name = new TextDecoder('utf-8', { fatal: true }).decode(nameBytes);
      } catch {
        fail(`custom section at ${at(start)}: name is not UTF-8`);
      }
      s.nameLenLen = nameLen.length;
      s.content = payload.subarray(pr.pos);
    }
    sections.push(s);
  }
  return sections;
}

function parseSignatureData(buf, base) {
  const r = new Reader(buf, base, 'signature section');
  const spec = r.u7();
  if (spec !== 1) fail(`signature section: spec_version ${spec}, want 1`);
  const contentType = r.u7();
  if (contentType !== 1) fail(`signature section: content_type ${contentType}, want 1 (module)`);
  const hashFn = r.u7();
  if (hashFn !== 1) fail(`signature section: hash_fn ${hashFn}, want 1 (SHA-256)`);
  const setCount = r.u32();
  if (setCount > MAX_HASHES) fail(`signature section: ${setCount} signature sets (max ${MAX_HASHES})`);
  const sets = [];
  for (let i = 0; i < setCount; i++) {
    const sr = r.slice(`signature set ${i}`);
    const hashCount = sr.u32();
    if (hashCount > MAX_HASHES) fail(`signature set ${i}: ${hashCount} hashes (max ${MAX_HASHES})`);
    const hashes = [];
    for (let h = 0; h < hashCount; h++) hashes.push(Buffer.from(sr.bytes(32)));
    const sigCount = sr.u32();
    if (sigCount > MAX_SIGNATURES) fail(`signature set ${i}: ${sigCount} signatures (max ${MAX_SIGNATURES})`);
    const signatures = [];
    for (let s = 0; s < sigCount; s++) {
      const gr = sr.slice(`signature set ${i}, signature ${s}`);
      const keyId = Buffer.from(gr.bytes(gr.u32()));
      const alg = gr.byte();
      if (alg !== ALG_ED25519) fail(`signature set ${i}, signature ${s}: algorithm ${alg}, want 1 (Ed25519)`);
      const sigLen = gr.u32();
      if (sigLen !== 64) fail(`signature set ${i}, signature ${s}: ${sigLen}-byte signature, want 64`);
      const signature = Buffer.from(gr.bytes(64));
      gr.end();
      signatures.push({ keyId, alg, signature });
    }
    sr.end();
    sets.push({ hashes, signatures });
  }
  r.end();
  return sets;
}

function publicKeyFromHex(h, where) {
  if (typeof h !== 'string' || !/^[0-9a-fA-F]{64}$/.test(h)) fail(`${where}: not 64 hex digits`);
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(h, 'hex')]),
    format: 'der',
    type: 'spki',
  });
}

// Hashes one section into `hash` either as it appears in the file, or (wasmsign2 mode) with
// every LEB128 re-encoded minimally, as wasmsign2's Section::serialize does.
function hashSection(hash, bytes, s, wasmsign2) {
  if (!wasmsign2) {
    hash.update(bytes.subarray(s.start, s.end));
    return;
  }
  let payload = s.payload;
  if (s.id === 0) {
    const name = Buffer.from(s.name, 'utf8');
    payload = Buffer.concat([minimalLeb(name.length), name, s.content]);
  }
  hash.update(Buffer.from([s.id]));
  hash.update(minimalLeb(payload.length));
  hash.update(payload);
}

// Section ids in the order the wasm spec requires (datacount, 12, sits before code, 10).
const SECTION_ORDER = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11];

function checkLayout(parts) {
  if (parts.length !== 3) fail(`capsule layout: ${parts.length} parts, want 3`);
  const [code, meta, payload] = parts;
  let lastRank = -1;
  if (code.length === 0) fail('capsule layout: part 1 has no code sections');
  for (const s of code) {
    if (s.id === 0) fail(`capsule layout: custom section "${s.name}" at ${at(s.start)} in part 1 (code only)`);
    const rank = SECTION_ORDER.indexOf(s.id);
    if (rank <= lastRank) fail(`capsule layout: section id ${s.id} at ${at(s.start)} out of order or repeated`);
    lastRank = rank;
  }
  const metaNames = meta.map((s) => (s.id === 0 ? s.name : `#${s.id}`));
  const okMeta = [MANIFEST, INDEX].every((n, i) => metaNames[i] === n) &&
    (metaNames.length === 2 || (metaNames.length === 3 && metaNames[2] === PREVIEW));
  if (!okMeta) fail(`capsule layout: part 2 is [${metaNames.join(', ')}], want capsule.manifest, capsule.index[, capsule.preview]`);
  const payloadNames = payload.map((s) => (s.id === 0 ? s.name : `#${s.id}`));
  if (payloadNames.length !== 1 || payloadNames[0] !== PAYLOAD) {
    fail(`capsule layout: part 3 is [${payloadNames.join(', ')}], want capsule.payload`);
  }
  return { manifest: meta[0], index: meta[1], preview: meta[2], payload: payload[0] };
}

// V8's view of the module must agree with ours.
function checkV8(bytes, found, detached) {
  if (!WebAssembly.validate(bytes)) fail('V8: WebAssembly.validate returned false');
  const m = new WebAssembly.Module(bytes);
  const expected = [
    [SIGNATURE, found.signature ? [found.signature] : []],
    [MANIFEST, [found.manifest]],
    [INDEX, [found.index]],
    [PREVIEW, found.preview ? [found.preview] : []],
    [PAYLOAD, [found.payload]],
    [DELIMITER, found.delimiters],
  ];
  if (!detached && !found.signature) fail('internal: no signature section');
  for (const [name, ours] of expected) {
    const theirs = WebAssembly.Module.customSections(m, name);
    if (theirs.length !== ours.length) {
      fail(`V8: customSections("${name}") has ${theirs.length}, parser found ${ours.length}`);
    }
    theirs.forEach((ab, i) => {
      if (!Buffer.from(ab).equals(Buffer.from(ours[i].content))) {
        fail(`V8: customSections("${name}")[${i}] differs from the parser's section at ${at(ours[i].start)}`);
      }
    });
  }
  const imports = WebAssembly.Module.imports(m);
  const foreign = imports.filter((i) => i.module !== 'capsule_v1');
  if (foreign.length) fail(`V8: imports from other modules: ${foreign.map((i) => `${i.module}.${i.name}`).join(', ')}`);
  const exports = WebAssembly.Module.exports(m);
  const has = (name, kind) => exports.some((e) => e.name === name && e.kind === kind);
  if (!has('memory', 'memory')) fail('V8: no exported memory "memory"');
  if (!has('capsule_run', 'function')) fail('V8: no exported function "capsule_run"');
}

function verifyFile(file, opts) {
  const result = { file, ok: false, v8_valid: false, parts: 0, signatures_valid: 0, key_source: opts.keySource };
  const warnings = [];
  try {
    const bytes = readFileSync(file);
    result.v8_valid = WebAssembly.validate(bytes);
    const sections = parseSections(bytes);

    // The signature section: first, or detached (an embedded one is then not used).
    let signature = null;
    let body = sections;
    if (sections.length && sections[0].id === 0 && sections[0].name === SIGNATURE) {
      signature = sections[0];
      body = sections.slice(1);
    } else if (!opts.detached) {
      fail('the first section is not the custom section "signature"');
    }
    for (const s of body) {
      if (s.id === 0 && s.name === SIGNATURE) fail(`a second "signature" section at ${at(s.start)}`);
    }
    const sets = opts.detached
      ? parseSignatureData(opts.detached, 0)
      : parseSignatureData(signature.content, signature.end - signature.content.length);

    // Parts and cumulative hashes.
    const hash = createHash('sha256');
    const parts = [];
    const computed = [];
    const delimiters = [];
    let current = [];
    for (const s of body) {
      hashSection(hash, bytes, s, opts.wasmsign2);
      const label = s.id === 0 ? `"${s.name}"` : `id ${s.id}`;
      if (s.sizeLen !== minimalLeb(s.size).length) {
        warnings.push(`section ${label} at ${at(s.start)}: size LEB128 ` +
          `${hex(bytes.subarray(s.start + 1, s.start + 1 + s.sizeLen))} is ${s.sizeLen} bytes, ` +
          `minimal ${hex(minimalLeb(s.size))}; wasmsign2 re-encodes it before hashing`);
      }
      if (s.id === 0 && s.nameLenLen !== minimalLeb(Buffer.byteLength(s.name)).length) {
        warnings.push(`section ${label} at ${at(s.start)}: name length LEB128 is ${s.nameLenLen} bytes, ` +
          'not minimal; wasmsign2 re-encodes it before hashing');
      }
      if (s.id === 0 && s.name === DELIMITER) {
        if (s.content.length !== 16) fail(`delimiter at ${at(s.start)} holds ${s.content.length} bytes, want 16`);
        computed.push(hash.copy().digest());
        parts.push(current);
        delimiters.push(s);
        current = [];
      } else {
        current.push(s);
      }
    }
    if (current.length) {
      fail(`${current.length} section(s) after the last delimiter, from ${at(current[0].start)}`);
    }
    result.parts = parts.length;

    const layout = checkLayout(parts);

    // Signatures: a set matching every computed hash, with a valid signature per key.
    const candidates = sets.filter((set) =>
      set.hashes.length === computed.length && set.hashes.every((h, i) => h.equals(computed[i])));
    if (!candidates.length) {
      const firstBad = sets.map((set) => {
        if (set.hashes.length !== computed.length) return `${set.hashes.length} hashes for ${computed.length} parts`;
        const i = set.hashes.findIndex((h, k) => !h.equals(computed[k]));
        return `h${i + 1} signed ${hex(set.hashes[i])}, computed ${hex(computed[i])}`;
      });
      fail(`no signature set matches the computed hashes (${firstBad.join('; ') || 'no sets'})`);
    }

    // The manifest is read only now, from bytes the hashes cover.
    let manifest;
    try {
      manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(layout.manifest.content));
    } catch (e) {
      fail(`capsule.manifest is not UTF-8 JSON: ${e.message}`);
    }

    // Keys: given, else the manifest's creator key.
    let keys = opts.keys;
    if (!keys.length) {
      keys = [{ label: 'manifest creator.ed25519', key: publicKeyFromHex(manifest?.creator?.ed25519, 'manifest creator.ed25519') }];
    }
    for (const { label, key } of keys) {
      let valid = 0;
      for (const set of candidates) {
        const msg = Buffer.concat([SIGNED_DOMAIN, ...set.hashes]);
        for (const sig of set.signatures) {
          if (edVerify(null, msg, key, sig.signature)) valid++;
        }
      }
      if (!valid) fail(`no valid Ed25519 signature by ${label}`);
      result.signatures_valid += valid;
    }

    checkV8(bytes, { signature, ...layout, delimiters }, Boolean(opts.detached));
    result.ok = true;
  } catch (e) {
    if (!(e instanceof VerifyError) && !(e instanceof WebAssembly.CompileError) && e.code !== 'ENOENT') {
      result.error = `${e.name}: ${e.message}`;
    } else {
      result.error = e.message;
    }
  }
  if (warnings.length) result.warnings = warnings;
  return result;
}

function usage(msg) {
  if (msg) process.stderr.write(`verify_capsule: ${msg}\n`);
  process.stderr.write('usage: node verify_capsule.mjs [--key HEX | --key-file FILE.pub]... ' +
    '[--detached SIGFILE] [--wasmsign2] CAPSULE...\n');
  process.exit(2);
}

function main(argv) {
  const opts = { keys: [], detached: null, wasmsign2: false, keySource: 'manifest' };
  const files = [];
  const sources = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    try {
      if (a === '--key') {
        const v = value();
        opts.keys.push({ label: `--key ${v.slice(0, 16)}…`, key: publicKeyFromHex(v, '--key') });
        sources.push('--key');
      } else if (a === '--key-file') {
        const f = value();
        const pub = JSON.parse(readFileSync(f, 'utf8'));
        opts.keys.push({ label: `--key-file ${f}`, key: publicKeyFromHex(pub.ed25519, `${f}: "ed25519"`) });
        sources.push('--key-file');
      } else if (a === '--detached') {
        opts.detached = readFileSync(value());
      } else if (a === '--wasmsign2') {
        opts.wasmsign2 = true;
      } else if (a === '-h' || a === '--help') {
        usage();
      } else if (a.startsWith('--')) {
        usage(`unknown option ${a}`);
      } else {
        files.push(a);
      }
    } catch (e) {
      usage(e.message);
    }
  }
  if (!files.length) usage('no capsule given');
  if (sources.length) {
    opts.keySource = [...new Set(sources)].join(',');
  } else {
    process.stderr.write('verify_capsule: no --key given: using the key named in each manifest ' +
      '(creator.ed25519); this checks integrity, not trust\n');
  }
  let allOk = true;
  for (const f of files) {
    const r = verifyFile(f, opts);
    allOk &&= r.ok;
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  process.exit(allOk ? 0 : 1);
}

main(process.argv.slice(2));

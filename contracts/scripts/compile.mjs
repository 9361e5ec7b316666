#!/usr/bin/env node
// Compiles contracts/src/CapsuleAccess.sol with the pinned solc-js (standard JSON) for the
// `shanghai` EVM, optimizer on (200 runs), resolving `@openzeppelin/...` from node_modules.
//
//   node contracts/scripts/compile.mjs [OUTDIR]      (default OUTDIR: contracts/out)
//
// Writes OUTDIR/CapsuleAccess.json atomically (temporary file + rename):
//   {contractName, abi, bytecode, deployedBytecode, methodIdentifiers, compiler: {solc, evmVersion, optimizer}}
// Exits 1, printing solc's messages, on any compile error.
//
// As a module it exports compileCapsuleAccess() (returns the artifact object, writes nothing)
// and writeArtifact(outDir, artifact).

import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const solc = require('solc');

/** contracts/ */
export const CONTRACTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE_MODULES = path.join(CONTRACTS_DIR, 'node_modules');

export const CONTRACT_NAME = 'CapsuleAccess';
export const SOURCE_UNIT = 'src/CapsuleAccess.sol';
export const EVM_VERSION = 'shanghai';
const OPTIMIZER = { enabled: true, runs: 200 };

/** Resolves an import path to a file: npm packages from node_modules, our own from src/ only. */
function resolveImport(importPath) {
  const base = importPath.startsWith('@') ? NODE_MODULES : CONTRACTS_DIR;
  const full = path.resolve(base, importPath);
  const allowed = importPath.startsWith('@') ? NODE_MODULES : path.join(CONTRACTS_DIR, 'src');
  if (!full.startsWith(allowed + path.sep)) return null;
  return full;
}

function findImports(importPath) {
  const full = resolveImport(importPath);
  if (full === null) return { error: `import outside the allowed roots: ${importPath}` };
  try {
    return { contents: fs.readFileSync(full, 'utf8') };
  } catch (e) {
    return { error: `cannot read ${importPath} (${full}): ${e.code || e.message}` };
  }
}

/** Compiles and returns the artifact; throws an Error listing solc's messages on failure. */
export function compileCapsuleAccess() {
  const input = {
    language: 'Solidity',
    sources: {
      [SOURCE_UNIT]: { content: fs.readFileSync(path.join(CONTRACTS_DIR, SOURCE_UNIT), 'utf8') },
    },
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: OPTIMIZER,
      outputSelection: {
        [SOURCE_UNIT]: {
          [CONTRACT_NAME]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers', 'metadata'],
        },
      },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const messages = output.errors || [];
  const errors = messages.filter((m) => m.severity === 'error');
  if (errors.length > 0) {
    const err = new Error(
      `solc ${solc.version()}: ${errors.length} error(s)\n` +
        messages.map((m) => (m.formattedMessage || m.message).trimEnd()).join('\n'),
    );
    err.solcMessages = messages;
    throw err;
  }
  const c = output.contracts?.[SOURCE_UNIT]?.[CONTRACT_NAME];
  if (!c || !c.evm?.bytecode?.object) throw new Error(`solc produced no bytecode for ${CONTRACT_NAME}`);
  const metadata = JSON.parse(c.metadata);
  if (metadata.settings.evmVersion !== EVM_VERSION) {
    throw new Error(`compiled for ${metadata.settings.evmVersion}, expected ${EVM_VERSION}`);
  }
  return {
    contractName: CONTRACT_NAME,
    abi: c.abi,
    bytecode: '0x' + c.evm.bytecode.object,
    deployedBytecode: '0x' + c.evm.deployedBytecode.object,
    methodIdentifiers: c.evm.methodIdentifiers,
    compiler: { solc: solc.version(), evmVersion: metadata.settings.evmVersion, optimizer: OPTIMIZER },
    warnings: messages.filter((m) => m.severity !== 'error').map((m) => (m.formattedMessage || m.message).trimEnd()),
  };
}

/** Writes OUTDIR/CapsuleAccess.json atomically; returns its path. */
export function writeArtifact(outDir, artifact) {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${CONTRACT_NAME}.json`);
  const tmp = path.join(outDir, `.${CONTRACT_NAME}.json.${process.pid}.tmp`);
  const { warnings, ...stored } = artifact;
  try {
    fs.writeFileSync(tmp, JSON.stringify(stored, null, 2) + '\n');
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return file;
}

function main(argv) {
  if (argv.length > 1 || argv[0] === '-h' || argv[0] === '--help') {
    process.stderr.write('usage: node contracts/scripts/compile.mjs [OUTDIR]   (default contracts/out)\n');
    return argv[0] === '-h' || argv[0] === '--help' ? 0 : 2;
  }
  const outDir = path.resolve(argv[0] ?? path.join(CONTRACTS_DIR, 'out'));
  let artifact;
  try {
    artifact = compileCapsuleAccess();
  } catch (e) {
    process.stderr.write(`compile.mjs: ${e.message}\n`);
    return 1;
  }
  for (const w of artifact.warnings) process.stderr.write(`${w}\n`);
  const file = writeArtifact(outDir, artifact);
  const size = (artifact.deployedBytecode.length - 2) / 2;
  process.stdout.write(
    `compiled ${CONTRACT_NAME} with solc ${artifact.compiler.solc} for ${EVM_VERSION}: ${size} bytes of runtime code -> ${file}\n`,
  );
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main(process.argv.slice(2));
}

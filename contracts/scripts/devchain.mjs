#!/usr/bin/env node
// A local development chain for tests: the pinned anvil (npm @foundry-rs/anvil-linux-amd64) on
// 127.0.0.1, chain id 21, hardfork shanghai, with CapsuleAccess deployed on it.
//
// Library (ES module):
//   import { startAnvil, deploy, devAccounts } from './devchain.mjs';
//   const node = await startAnvil();                       // {url, pid, chainId, stop()}
//   const address = await deploy(node.url, privateKeyOrSigner, 'ipfs://CID/{id}.json');
//   await node.stop();
//
// Command line (for shell tests; see contracts/README.md):
//   node contracts/scripts/devchain.mjs start --artifact OUT/CapsuleAccess.json [--state-file F]
//        [--uri TEMPLATE] [--port N] [--chain-id N] [--ttl SECONDS] [--log FILE]
//     starts anvil detached, deploys the contract from the artifact with dev account 0 and prints
//     one JSON line {url, pid, chainId, contract, deployer, accounts: [{address, privateKey}], log}
//     (also written atomically to F when --state-file is given). The node lives until `stop`, or
//     at most --ttl seconds (default 600; 0 = no limit), so a test that dies cannot leak it.
//   node contracts/scripts/devchain.mjs stop (--pid N | --state-file F)
//     stops that node (SIGTERM, then SIGKILL after 5 s) and waits until it is gone. Exit 0 also
//     when it was no longer running; refuses (exit 1) a pid that is not an anvil started here.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import process from 'node:process';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ContractFactory, HDNodeWallet, JsonRpcProvider, Wallet } from 'ethers';

const require = createRequire(import.meta.url);
const CONTRACTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The anvil binary shipped by the pinned npm package. */
export const ANVIL_BIN = path.join(
  path.dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')),
  'bin',
  'anvil',
);

/** anvil's default mnemonic: its ten well-known, funded (10,000 ETH) dev accounts. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEFAULT_CHAIN_ID = 21;
export const DEFAULT_TTL_SECONDS = 600;
export const HARDFORK = 'shanghai';

const READY_ATTEMPTS = 200; // polls of eth_chainId before giving up
const READY_WAIT_MS = 50; // wait between two polls
const STOP_GRACE_MS = 5000; // SIGTERM → SIGKILL

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** anvil's first `n` dev accounts, derived from DEV_MNEMONIC (m/44'/60'/0'/0/i). */
export function devAccounts(n = 10) {
  const root = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, "m/44'/60'/0'/0");
  const accounts = [];
  for (let i = 0; i < n; ++i) {
    const w = root.deriveChild(i);
    accounts.push({ address: w.address, privateKey: w.privateKey });
  }
  return accounts;
}

/** A port that was free on 127.0.0.1 a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One JSON-RPC call (1 s timeout); resolves to the result, rejects on any failure. */
export async function rpc(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(1000),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

function isAlive(pid) {
  try {
    // A zombie (exited, not yet reaped) is gone for our purposes.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function processGroup(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return 0;
  }
}

function signal(pid, sig) {
  // A node started by startAnvil leads its own process group (detached, or `timeout`'s own
  // group): signal the whole group so the anvil under `timeout` gets it too.
  const target = processGroup(pid) === pid ? -pid : pid;
  try {
    process.kill(target, sig);
  } catch (e) {
    if (e.code !== 'ESRCH') throw e;
  }
}

/** SIGTERM, wait up to STOP_GRACE_MS, then SIGKILL; resolves once `pid` is gone. */
async function killAndWait(pid) {
  if (!isAlive(pid)) return 'not running';
  signal(pid, 'SIGTERM');
  for (let waited = 0; waited < STOP_GRACE_MS; waited += 25) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(25);
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 200 && isAlive(pid); ++i) await sleep(25);
  if (isAlive(pid)) throw new Error(`process ${pid} survived SIGKILL`);
  return 'killed';
}

function readLogTail(file) {
  if (!file) return '';
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts anvil on 127.0.0.1 and waits until it answers eth_chainId.
 * @param {object} [o]
 * @param {number} [o.chainId=21]
 * @param {number} [o.port=0] 0 picks a free port
 * @param {number} [o.ttl=600] seconds after which the node is killed regardless (0: never)
 * @param {boolean} [o.detached=false] survive this process (command-line mode)
 * @param {string} [o.log] file receiving anvil's output (default: discarded)
 * @param {string[]} [o.extraArgs] more anvil arguments
 * @returns {Promise<{url: string, port: number, pid: number, chainId: number, stop: () => Promise<string>}>}
 */
export async function startAnvil({
  chainId = DEFAULT_CHAIN_ID,
  port = 0,
  ttl = DEFAULT_TTL_SECONDS,
  detached = false,
  log,
  extraArgs = [],
} = {}) {
  if (!fs.existsSync(ANVIL_BIN)) {
    throw new Error(`anvil not found at ${ANVIL_BIN}: run scripts/install-npm.sh`);
  }
  const attempts = port === 0 ? 3 : 1; // a picked port can be taken before anvil binds it
  let lastError;
  for (let attempt = 0; attempt < attempts; ++attempt) {
    const p = port === 0 ? await freePort() : port;
    try {
      return await startOnce({ chainId, port: p, ttl, detached, log, extraArgs });
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

/** Throws when something already listens on 127.0.0.1:port (its answers would be taken for ours). */
function ensurePortFree(port) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (e) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${port} on 127.0.0.1 is already in use` : e.message)));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

async function startOnce({ chainId, port, ttl, detached, log, extraArgs }) {
  await ensurePortFree(port);
  const anvilArgs = [
    '--host', '127.0.0.1',
    '--port', String(port),
    '--chain-id', String(chainId),
    '--hardfork', HARDFORK,
    '--silent',
    ...extraArgs,
  ];
  const [cmd, args] =
    ttl > 0 ? ['timeout', ['--kill-after=5s', `${ttl}s`, ANVIL_BIN, ...anvilArgs]] : [ANVIL_BIN, anvilArgs];
  const logFd = log ? fs.openSync(log, 'a') : 'ignore';
  const child = spawn(cmd, args, { stdio: ['ignore', logFd, logFd], detached });
  if (typeof logFd === 'number') fs.closeSync(logFd);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, sig) => {
      exited = { code, sig };
      resolve();
    });
    child.once('error', (e) => {
      exited = { error: e };
      resolve();
    });
  });
  const pid = child.pid;
  const url = `http://127.0.0.1:${port}`;

  const killOnExit = () => {
    if (exited === null && pid) signal(pid, 'SIGTERM');
  };
  if (!detached) process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (exited !== null) return 'not running';
    if (detached) return killAndWait(pid);
    signal(pid, 'SIGTERM');
    const timer = setTimeout(() => signal(pid, 'SIGKILL'), STOP_GRACE_MS);
    await exitPromise;
    clearTimeout(timer);
    return 'stopped';
  };

  let answered = null;
  for (let i = 0; i < READY_ATTEMPTS && exited === null; ++i) {
    try {
      answered = Number(await rpc(url, 'eth_chainId'));
      break;
    } catch {
      await sleep(READY_WAIT_MS);
    }
  }
  if (exited !== null) answered = null; // whoever answered, it was not our anvil: it has exited
  if (answered === null || answered !== chainId) {
    await stop();
    const why =
      exited?.error?.message ??
      (exited ? `anvil exited (code ${exited.code}, signal ${exited.sig})` : `no answer after ${READY_ATTEMPTS} polls`);
    const tail = readLogTail(log);
    throw new Error(
      answered !== null && answered !== chainId
        ? `${url} answered chain id ${answered}, expected ${chainId}`
        : `anvil did not start on ${url}: ${why}${tail ? `\n${tail}` : ''}`,
    );
  }
  if (detached) child.unref();
  return { url, port, pid, chainId, stop };
}

/** An artifact object from a path, an object, $CAPSULE_CONTRACT_ARTIFACT, or a fresh compile. */
export async function loadArtifact(artifact) {
  if (artifact && typeof artifact === 'object') return artifact;
  const file = artifact ?? process.env.CAPSULE_CONTRACT_ARTIFACT;
  if (file) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const { compileCapsuleAccess } = await import('./compile.mjs');
  return compileCapsuleAccess();
}

/** An ethers provider for a local node: no network detection, fast receipt polling. */
export function localProvider(url, chainId = DEFAULT_CHAIN_ID) {
  return new JsonRpcProvider(url, chainId, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
}

/**
 * Deploys CapsuleAccess(uriTemplate) and returns its address.
 * @param {string} url the node's RPC URL
 * @param {string|import('ethers').Signer} signer a private key, or a signer connected to a provider
 * @param {string} uriTemplate e.g. 'ipfs://CID/{id}.json'
 * @param {{artifact?: string|object}} [o] the build output (default: see loadArtifact)
 */
export async function deploy(url, signer, uriTemplate, { artifact } = {}) {
  const art = await loadArtifact(artifact);
  let provider = null;
  if (typeof signer === 'string') {
    provider = localProvider(url);
    signer = new Wallet(signer, provider);
  }
  try {
    const factory = new ContractFactory(art.abi, art.bytecode, signer);
    const contract = await factory.deploy(uriTemplate);
    const receipt = await contract.deploymentTransaction().wait();
    if (!receipt || receipt.status !== 1) throw new Error('deployment transaction failed');
    return await contract.getAddress();
  } finally {
    provider?.destroy();
  }
}

// ---------------------------------------------------------------------- command line

const USAGE = `usage:
  node devchain.mjs start --artifact PATH [--state-file F] [--uri TEMPLATE] [--port N]
                          [--chain-id N] [--ttl SECONDS] [--log FILE]
  node devchain.mjs stop (--pid N | --state-file F)
`;

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`${a} needs a value`);
    opts[key] = value;
  }
  return opts;
}

function checkOnly(opts, allowed) {
  for (const k of Object.keys(opts)) if (!allowed.includes(k)) throw new Error(`unknown option --${k}`);
}

function intOption(opts, key, dflt, min, max) {
  if (opts[key] === undefined) return dflt;
  const n = Number(opts[key]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${key}: expected an integer in [${min}, ${max}]`);
  return n;
}

function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

async function cliStart(opts) {
  checkOnly(opts, ['artifact', 'state-file', 'uri', 'port', 'chain-id', 'ttl', 'log']);
  if (!opts.artifact) throw new Error('start needs --artifact PATH (the output of compile.mjs)');
  const artifact = JSON.parse(fs.readFileSync(opts.artifact, 'utf8'));
  const chainId = intOption(opts, 'chain-id', DEFAULT_CHAIN_ID, 1, 2 ** 32);
  const port = intOption(opts, 'port', 0, 0, 65535);
  const ttl = intOption(opts, 'ttl', DEFAULT_TTL_SECONDS, 0, 7 * 24 * 3600);
  const stateFile = opts['state-file'] ? path.resolve(opts['state-file']) : null;
  const log = opts.log ? path.resolve(opts.log) : stateFile ? `${stateFile}.anvil.log` : undefined;
  const uri = opts.uri ?? 'ipfs://capsules/{id}.json';

  const node = await startAnvil({ chainId, port, ttl, detached: true, log });
  try {
    const accounts = devAccounts(10);
    const onNode = (await rpc(node.url, 'eth_accounts')).map((a) => a.toLowerCase());
    if (onNode.length < 1 || onNode[0] !== accounts[0].address.toLowerCase()) {
      throw new Error(`anvil's dev accounts are not the expected ones (${onNode[0]})`);
    }
    const contract = await deploy(node.url, accounts[0].privateKey, uri, { artifact });
    const info = {
      url: node.url,
      pid: node.pid,
      chainId,
      contract,
      deployer: accounts[0].address,
      uriTemplate: uri,
      accounts,
      ...(log ? { log } : {}),
    };
    const line = JSON.stringify(info) + '\n';
    if (stateFile) writeAtomic(stateFile, line);
    return line;
  } catch (e) {
    await node.stop();
    throw e;
  }
}

async function cliStop(opts) {
  checkOnly(opts, ['pid', 'state-file']);
  let pid;
  if (opts.pid !== undefined) {
    pid = intOption(opts, 'pid', 0, 2, 2 ** 22);
  } else if (opts['state-file']) {
    pid = JSON.parse(fs.readFileSync(opts['state-file'], 'utf8')).pid;
    if (!Number.isInteger(pid) || pid < 2) throw new Error(`${opts['state-file']}: no pid in it`);
  } else {
    throw new Error('stop needs --pid N or --state-file F');
  }
  if (isAlive(pid)) {
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      /* it just exited */
    }
    if (cmdline && !cmdline.includes(ANVIL_BIN)) {
      throw new Error(`process ${pid} is not an anvil started by devchain.mjs (${cmdline.trim()}); not stopping it`);
    }
  }
  const what = await killAndWait(pid);
  if (opts['state-file']) fs.rmSync(opts['state-file'], { force: true });
  return `devchain: anvil ${pid} ${what}\n`;
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help') {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    if (command === 'start') {
      process.stdout.write(await cliStart(parseArgs(rest)));
    } else if (command === 'stop') {
      process.stdout.write(await cliStop(parseArgs(rest)));
    } else {
      process.stderr.write(USAGE);
      return 2;
    }
  } catch (e) {
    process.stderr.write(`devchain.mjs ${command}: ${e.message}\n`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const code = await main(process.argv.slice(2));
  // Exit now: keep-alive sockets must not hold the process (the detached node lives on).
  process.stdout.write('', () => process.exit(code));
}

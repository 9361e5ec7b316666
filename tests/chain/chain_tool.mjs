// Test-only chain operations for tests/chain/*_test.sh, with ethers (an independent
// implementation) against the local anvil node: fund an address, transfer a token, create a
// rental user record, move the node's clock. Usage:
//   node chain_tool.mjs fund URL ADDRESS
//   node chain_tool.mjs transfer URL CONTRACT FROM.key TO_ADDRESS TOKEN_ID
//   node chain_tool.mjs rent URL CONTRACT OWNER.key USER_ADDRESS TOKEN_ID SECONDS
//   node chain_tool.mjs advance URL SECONDS
//   node chain_tool.mjs balance URL CONTRACT ADDRESS TOKEN_ID
//   node chain_tool.mjs squat URL MINT.json KEY    (MINT.json: `capsulec mint --json` without --rpc)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../contracts/package.json'));
const { ethers } = require('ethers');

const abi = [
  'function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes data)',
  'function createUserRecord(address owner, address user, uint256 tokenId, uint64 amount, uint64 expiry) returns (uint256)',
  'function balanceOf(address account, uint256 id) view returns (uint256)',
  'function mint(address to, uint256 id, uint256 amount, bytes32 manifestHash, bytes32 creatorKey, uint32 royaltyPpm, address[] recipients, uint32[] allocations)',
];

// The secp256k1 secret of a capsule key file (docs/spec/key-files.md: bytes 64..96 of the
// 96-byte secret; unprotected files only).
function walletOf(keyFile, provider) {
  const k = JSON.parse(readFileSync(keyFile, 'utf8'));
  if (k.protection !== 'none') throw new Error(`${keyFile}: protected key files are not supported here`);
  const secret = Buffer.from(k.secret, 'base64');
  return new ethers.Wallet('0x' + secret.subarray(64, 96).toString('hex'), provider);
}

const [cmd, url, ...a] = process.argv.slice(2);
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
try {
  if (cmd === 'fund') {
    await provider.send('anvil_setBalance', [a[0], '0x' + (10n ** 21n).toString(16)]);
  } else if (cmd === 'transfer') {
    const w = walletOf(a[1], provider);
    const c = new ethers.Contract(a[0], abi, w);
    await (await c.safeTransferFrom(w.address, a[2], BigInt(a[3]), 1n, '0x')).wait();
  } else if (cmd === 'rent') {
    const w = walletOf(a[1], provider);
    const c = new ethers.Contract(a[0], abi, w);
    const block = await provider.getBlock('latest');
    const expiry = BigInt(block.timestamp) + BigInt(a[4]);
    await (await c.createUserRecord(w.address, a[2], BigInt(a[3]), 1n, expiry)).wait();
    console.log(expiry.toString());
  } else if (cmd === 'advance') {
    await provider.send('evm_increaseTime', [Number(a[0])]);
    await provider.send('evm_mine', []);
  } else if (cmd === 'balance') {
    const c = new ethers.Contract(a[0], abi, provider);
    console.log((await c.balanceOf(a[1], BigInt(a[2]))).toString());
  } else if (cmd === 'squat') {
    // Registers the token an unsigned mint request names, with its manifest hash but another
    // creator key, from KEY's address: what anyone can do first (both values are public).
    const req = JSON.parse(readFileSync(a[0], 'utf8').trim().split('\n').pop()).unsigned_request;
    const w = walletOf(a[1], provider);
    const args = new ethers.Interface(abi).decodeFunctionData('mint', req.data);
    const c = new ethers.Contract(req.to, abi, w);
    const squatterKey = '0x' + '11'.repeat(32);
    await (await c.mint(w.address, args[1], 0n, args[3], squatterKey, 0, [w.address], [1000000])).wait();
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
  provider.destroy();
} catch (e) {
  console.error(`chain_tool ${cmd}: ${e.shortMessage ?? e.message}`);
  process.exit(1);
}

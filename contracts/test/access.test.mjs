// CapsuleAccess on a real anvil node (127.0.0.1, chain id 21, hardfork shanghai).
// The artifact comes from $CAPSULE_CONTRACT_ARTIFACT (tests/chain/contract_test.sh sets it) or
// is compiled afresh. Run: node --test contracts/test/

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Contract, ContractFactory, Interface, MaxUint256, Wallet, ZeroAddress, ZeroHash, getAddress, id as keccakText, toBeHex } from 'ethers';
import { devAccounts, loadArtifact, localProvider, rpc, startAnvil } from '../scripts/devchain.mjs';

const URI = 'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/{id}.json';
const PPM = 1_000_000n;
const MAX_UINT64 = 2n ** 64n - 1n;

let node;
let provider;
let artifact;
let iface;
let w; // dev wallets: 0 deployer, 1 creator, 2-4 royalty recipients, 5 holder, 6 stranger, 7 renter, 8 operator, 9 other creator
let access; // the deployed contract, connected to the deployer
let accessAddress;

/** A token id as the C++ side makes it: a 16-byte capsule id read as a big-endian integer. */
const capsuleId = (n) => BigInt('0x' + Buffer.from(keccakText(`capsule-${n}`).slice(2), 'hex').subarray(0, 16).toString('hex'));
const manifest = (n) => keccakText(`manifest-${n}`);
const edKey = (n) => keccakText(`ed25519-key-${n}`);
const byAddress = (a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

const as = (wallet) => access.connect(wallet);

async function mined(txPromise) {
  const tx = await txPromise;
  const receipt = await tx.wait();
  assert.equal(receipt.status, 1);
  return receipt;
}

function events(receipt, name) {
  return receipt.logs
    .filter((l) => l.address === accessAddress)
    .map((l) => iface.parseLog(l))
    .filter((e) => e && e.name === name);
}

/** The custom error a failed call or transaction reverted with: {name, args}. */
function decodeRevert(e) {
  if (e?.revert?.name) return { name: e.revert.name, args: [...e.revert.args] };
  const data = e?.data ?? e?.info?.error?.data ?? e?.error?.data;
  if (typeof data === 'string' && data.length >= 10) {
    const parsed = iface.parseError(data);
    if (parsed) return { name: parsed.name, args: [...parsed.args] };
    return { name: `unknown error ${data.slice(0, 10)}`, args: [] };
  }
  return { name: `no revert data (${e?.shortMessage ?? e?.message})`, args: [] };
}

async function expectRevert(promise, name, args) {
  let err = null;
  try {
    await (await promise).wait?.();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a revert with ${name}, but it succeeded`);
  const got = decodeRevert(err);
  assert.equal(got.name, name);
  if (args) assert.deepEqual(got.args, args);
}

async function now() {
  return BigInt((await provider.getBlock('latest')).timestamp);
}

/** Registers (first mint) token `n`'s id; returns {id, receipt, split}. */
async function register(n, { creator = w[1], to = w[5], amount = 1n, ppm = 50_000, recipients, allocations } = {}) {
  const id = capsuleId(n);
  if (!recipients) {
    recipients = [w[2].address, w[3].address, w[4].address].sort(byAddress);
    allocations = [333_333, 333_333, 333_334];
  }
  const receipt = await mined(
    as(creator).mint(to.address ?? to, id, amount, manifest(n), edKey(n), ppm, recipients, allocations),
  );
  return { id, receipt, recipients, allocations };
}

before(async () => {
  artifact = await loadArtifact();
  iface = new Interface(artifact.abi);
  node = await startAnvil();
  provider = localProvider(node.url);
  w = devAccounts(10).map((a) => new Wallet(a.privateKey, provider));
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, w[0]);
  const deployed = await factory.deploy(URI);
  await deployed.waitForDeployment();
  accessAddress = await deployed.getAddress();
  access = new Contract(accessAddress, artifact.abi, w[0]);
});

after(async () => {
  provider?.destroy();
  await node?.stop();
});

describe('the node', () => {
  it('is chain 21 and runs shanghai: PUSH0 works, the Cancun MCOPY does not', async () => {
    assert.equal(Number(await rpc(node.url, 'eth_chainId')), 21);
    // initcode PUSH0 PUSH0 RETURN deploys an empty contract
    const ok = await (await w[9].sendTransaction({ data: '0x5f5ff3', gasLimit: 100_000 })).wait();
    assert.equal(ok.status, 1);
    // initcode PUSH0 PUSH0 PUSH0 MCOPY PUSH0 PUSH0 RETURN: invalid opcode before Cancun
    const tx = await w[9].sendTransaction({ data: '0x5f5f5f5e5f5ff3', gasLimit: 100_000 });
    await assert.rejects(tx.wait(), (e) => e.code === 'CALL_EXCEPTION' && e.receipt?.status === 0);
  });

  it('the deployed runtime code is the compiled one (for shanghai)', async () => {
    assert.equal(artifact.compiler.evmVersion, 'shanghai');
    assert.equal(await provider.getCode(accessAddress), artifact.deployedBytecode);
  });
});

describe('CapsuleAccess', () => {
  it('uri returns the template for every id', async () => {
    assert.equal(await access.uri(0n), URI);
    assert.equal(await access.uri(capsuleId(1)), URI);
  });

  it('supports ERC-1155, EIP-2981, ERC-5006 and ERC-165', async () => {
    for (const id of ['0xd9b67a26', '0x0e89341c', '0x2a55205a', '0xc26d96cc', '0x01ffc9a7']) {
      assert.equal(await access.supportsInterface(id), true, id);
    }
    assert.equal(await access.supportsInterface('0xffffffff'), false);
    assert.equal(await access.supportsInterface('0x80ac58cd'), false); // ERC-721
    // ERC-5006's id is the XOR of its five selectors
    const sel = ['usableBalanceOf', 'frozenBalanceOf', 'userRecordOf', 'createUserRecord', 'deleteUserRecord'].map(
      (f) => BigInt(iface.getFunction(f).selector),
    );
    assert.equal(toBeHex(sel.reduce((a, b) => a ^ b), 4), '0xc26d96cc');
  });

  it('tokenInfo and splitOf are zero / empty for an unknown id (no revert)', async () => {
    const info = await access.tokenInfo(capsuleId(999));
    assert.deepEqual([...info], [ZeroHash, ZeroHash, ZeroAddress, 0n]);
    const split = await access.splitOf(capsuleId(999));
    assert.deepEqual([[...split[0]], [...split[1]]], [[], []]);
    assert.equal(await access.hasAccess(w[5].address, capsuleId(999)), false);
    assert.equal(await access.accessExpiry(w[5].address, capsuleId(999)), 0n);
  });

  it('the first mint registers the token and mints to the holder', async () => {
    const { id, receipt, recipients, allocations } = await register(1, { amount: 2n });
    const [reg] = events(receipt, 'TokenRegistered');
    assert.deepEqual([...reg.args], [id, w[1].address, manifest(1), edKey(1)]);
    const [xfer] = events(receipt, 'TransferSingle');
    assert.deepEqual([...xfer.args], [w[1].address, ZeroAddress, w[5].address, id, 2n]);
    assert.deepEqual([...(await access.tokenInfo(id))], [manifest(1), edKey(1), w[1].address, 50_000n]);
    const split = await access.splitOf(id);
    assert.deepEqual([...split[0]], recipients);
    assert.deepEqual([...split[1]].map(Number), allocations);
    assert.equal(await access.balanceOf(w[5].address, id), 2n);
  });

  it('amount 0 registers without supply and announces the id (TransferSingle 0x0 → 0x0, value 0)', async () => {
    const { id, receipt } = await register(2, { amount: 0n, to: ZeroAddress });
    assert.equal(events(receipt, 'TokenRegistered').length, 1);
    const [xfer] = events(receipt, 'TransferSingle');
    assert.deepEqual([...xfer.args], [w[1].address, ZeroAddress, ZeroAddress, id, 0n]);
    assert.equal((await access.tokenInfo(id)).creator, w[1].address);
    assert.equal(await access.hasAccess(w[1].address, id), false);
  });

  it('a later mint adds supply only by the creator with the same manifest, key and rate and no split', async () => {
    const id = capsuleId(1);
    const m = manifest(1);
    const k = edKey(1);
    const r = await mined(as(w[1]).mint(w[6].address, id, 3n, m, k, 50_000, [], []));
    assert.equal(events(r, 'TokenRegistered').length, 0);
    assert.equal(await access.balanceOf(w[6].address, id), 3n);
    await expectRevert(as(w[9]).mint(w[9].address, id, 1n, m, k, 50_000, [], []), 'NotCreator', [id, w[9].address, w[1].address]);
    await expectRevert(as(w[1]).mint(w[6].address, id, 1n, manifest(7), k, 50_000, [], []), 'ManifestHashMismatch');
    await expectRevert(as(w[1]).mint(w[6].address, id, 1n, m, edKey(7), 50_000, [], []), 'CreatorKeyMismatch');
    await expectRevert(as(w[1]).mint(w[6].address, id, 1n, m, k, 60_000, [], []), 'RoyaltyMismatch');
    await expectRevert(as(w[1]).mint(w[6].address, id, 1n, m, k, 50_000, [w[2].address], [1_000_000]), 'SplitAlreadySet');
    await expectRevert(as(w[1]).mint(w[6].address, id, 1n, m, k, 50_000, [], [1_000_000]), 'SplitAlreadySet');
    await expectRevert(as(w[1]).mint(ZeroAddress, id, 1n, m, k, 50_000, [], []), 'ERC1155InvalidReceiver');
    assert.equal(await access.balanceOf(w[6].address, id), 3n);
    // the registration is unchanged
    assert.deepEqual([...(await access.tokenInfo(id))], [m, k, w[1].address, 50_000n]);
    // move the extra supply away again so later tests see holder 5 = 2 tokens, stranger 6 = none
    await mined(as(w[6]).safeTransferFrom(w[6].address, w[9].address, id, 3n, '0x'));
  });

  it('registration needs a manifest hash, a creator key and a rate of at most 1e6 ppm', async () => {
    const id = capsuleId(10);
    const one = [[w[2].address], [1_000_000]];
    await expectRevert(as(w[1]).mint(w[5].address, id, 1n, ZeroHash, edKey(10), 0, ...one), 'ZeroManifestHash');
    await expectRevert(as(w[1]).mint(w[5].address, id, 1n, manifest(10), ZeroHash, 0, ...one), 'ZeroCreatorKey');
    await expectRevert(as(w[1]).mint(w[5].address, id, 1n, manifest(10), edKey(10), 1_000_001, ...one), 'RoyaltyTooHigh', [1_000_001n]);
    assert.equal((await access.tokenInfo(id)).creator, ZeroAddress);
    // a single recipient and a 100 % rate are fine
    await register(10, { ppm: 1_000_000, recipients: one[0], allocations: one[1] });
    assert.equal((await access.tokenInfo(id)).royaltyPpm, 1_000_000n);
  });

  it('bad splits are rejected', async () => {
    const id = capsuleId(11);
    const [a, b, c] = [w[2].address, w[3].address, w[4].address].sort(byAddress);
    const mint = (rs, as_) => as(w[1]).mint(w[5].address, id, 1n, manifest(11), edKey(11), 10_000, rs, as_);
    await expectRevert(mint([], []), 'EmptySplit');
    await expectRevert(mint([a, b], [500_000]), 'SplitLengthMismatch', [2n, 1n]);
    await expectRevert(mint([a], [500_000, 500_000]), 'SplitLengthMismatch', [1n, 2n]);
    await expectRevert(mint([b, a], [500_000, 500_000]), 'RecipientsNotStrictlyAscending', [1n]);
    await expectRevert(mint([a, c, b], [400_000, 300_000, 300_000]), 'RecipientsNotStrictlyAscending', [2n]);
    await expectRevert(mint([a, a], [500_000, 500_000]), 'RecipientsNotStrictlyAscending', [1n]);
    await expectRevert(mint([ZeroAddress, a], [500_000, 500_000]), 'ZeroRecipient', [0n]);
    await expectRevert(mint([a, b, c], [500_000, 0, 500_000]), 'ZeroAllocation', [1n]);
    await expectRevert(mint([a, b], [500_000, 499_999]), 'SplitSumNotOneMillion', [999_999n]);
    await expectRevert(mint([a, b], [500_000, 500_001]), 'SplitSumNotOneMillion', [1_000_001n]);
    // uint32 allocations cannot wrap the sum
    await expectRevert(mint([a, b], [4_294_967_295, 1]), 'SplitSumNotOneMillion', [4_294_967_296n]);
    const many = Array.from({ length: 101 }, (_, i) => getAddress(toBeHex(i + 1, 20)));
    await expectRevert(mint(many, many.map(() => 1)), 'TooManyRecipients', [101n, 100n]);
    assert.equal((await access.tokenInfo(id)).creator, ZeroAddress, 'nothing registered');
    // 100 recipients are accepted
    const hundred = Array.from({ length: 100 }, (_, i) => getAddress(toBeHex(i + 1, 20)));
    await mined(mint(hundred, hundred.map(() => 10_000)));
    assert.equal((await access.splitOf(id))[0].length, 100);
  });

  it('hasAccess and accessExpiry: holder yes (forever), stranger no', async () => {
    const id = capsuleId(1);
    assert.equal(await access.hasAccess(w[5].address, id), true);
    assert.equal(await access.accessExpiry(w[5].address, id), MAX_UINT64);
    assert.equal(await access.hasAccess(w[6].address, id), false);
    assert.equal(await access.accessExpiry(w[6].address, id), 0n);
  });

  it('a transfer moves access', async () => {
    const { id } = await register(3, { amount: 1n });
    assert.equal(await access.hasAccess(w[5].address, id), true);
    await mined(as(w[5]).safeTransferFrom(w[5].address, w[6].address, id, 1n, '0x'));
    assert.equal(await access.hasAccess(w[5].address, id), false);
    assert.equal(await access.accessExpiry(w[5].address, id), 0n);
    assert.equal(await access.hasAccess(w[6].address, id), true);
    assert.equal(await access.accessExpiry(w[6].address, id), MAX_UINT64);
  });

  it('a rental: the user has access until expiry, frozen tokens do not move, access ends after expiry', async () => {
    const { id } = await register(4, { amount: 2n }); // holder w5 owns 2
    const expiry = (await now()) + 3600n;
    const rc = await mined(as(w[5]).createUserRecord(w[5].address, w[7].address, id, 1n, expiry));
    const [ev] = events(rc, 'CreateUserRecord');
    const recordId = ev.args.recordId;
    assert.deepEqual([...ev.args], [recordId, id, 1n, w[5].address, w[7].address, expiry]);
    assert.deepEqual([...(await access.userRecordOf(recordId))], [id, w[5].address, 1n, w[7].address, expiry]);

    assert.equal(await access.frozenBalanceOf(w[5].address, id), 1n);
    assert.equal(await access.usableBalanceOf(w[7].address, id), 1n);
    assert.equal(await access.hasAccess(w[7].address, id), true);
    assert.equal(await access.accessExpiry(w[7].address, id), expiry);
    // the owner keeps one unfrozen token, so keeps access
    assert.equal(await access.hasAccess(w[5].address, id), true);
    assert.equal(await access.accessExpiry(w[5].address, id), MAX_UINT64);

    // frozen tokens cannot be transferred, singly or by naming the id twice in a batch
    await expectRevert(as(w[5]).safeTransferFrom(w[5].address, w[6].address, id, 2n, '0x'), 'FrozenTokens', [w[5].address, id, 1n, 0n]);
    await expectRevert(as(w[5]).safeBatchTransferFrom(w[5].address, w[6].address, [id, id], [1n, 1n], '0x'), 'FrozenTokens');
    // nor can a second record freeze more than is unfrozen
    await expectRevert(as(w[5]).createUserRecord(w[5].address, w[7].address, id, 2n, expiry), 'InsufficientUnfrozenBalance', [w[5].address, id, 1n, 2n]);
    // the unfrozen one can move, and then the owner has no access (all it holds is rented out)
    await mined(as(w[5]).safeTransferFrom(w[5].address, w[6].address, id, 1n, '0x'));
    assert.equal(await access.hasAccess(w[5].address, id), false);
    assert.equal(await access.accessExpiry(w[5].address, id), 0n);
    assert.equal(await access.hasAccess(w[7].address, id), true);

    // the owner may not end the rental early; a stranger may not delete it at all
    await expectRevert(as(w[5]).deleteUserRecord(recordId), 'RecordNotExpired', [recordId, expiry]);
    await expectRevert(as(w[6]).deleteUserRecord(recordId), 'NotAllowedToDelete', [recordId, w[6].address]);

    // past expiry: access is gone, the tokens stay frozen until the record is deleted
    await provider.send('evm_increaseTime', [3601]);
    await provider.send('evm_mine', []);
    assert.ok((await now()) >= expiry);
    assert.equal(await access.hasAccess(w[7].address, id), false);
    assert.equal(await access.accessExpiry(w[7].address, id), 0n);
    assert.equal(await access.usableBalanceOf(w[7].address, id), 0n);
    assert.equal(await access.frozenBalanceOf(w[5].address, id), 1n);
    assert.equal(await access.hasAccess(w[5].address, id), false);

    const rd = await mined(as(w[5]).deleteUserRecord(recordId));
    assert.deepEqual([...events(rd, 'DeleteUserRecord')[0].args], [recordId]);
    assert.equal(await access.frozenBalanceOf(w[5].address, id), 0n);
    assert.deepEqual([...(await access.userRecordOf(recordId))], [0n, ZeroAddress, 0n, ZeroAddress, 0n]);
    assert.equal(await access.hasAccess(w[5].address, id), true);
    await expectRevert(as(w[5]).deleteUserRecord(recordId), 'UnknownUserRecord', [recordId]);
  });

  it('user records: who may create and delete them, and their limits', async () => {
    const { id } = await register(5, { amount: 40n }); // holder w5 owns 40
    const t = await now();
    const rec = (signer, owner, user, amount, expiry) => as(signer).createUserRecord(owner, user, id, amount, expiry);
    await expectRevert(rec(w[8], w[5].address, w[7].address, 1n, t + 100n), 'NotOwnerOrApproved', [w[5].address, w[8].address]);
    await expectRevert(rec(w[5], w[5].address, ZeroAddress, 1n, t + 100n), 'ZeroUser');
    await expectRevert(rec(w[5], w[5].address, w[7].address, 0n, t + 100n), 'ZeroAmount');
    await expectRevert(rec(w[5], w[5].address, w[7].address, 1n, t - 1n), 'ExpiryNotInFuture');
    await expectRevert(rec(w[5], w[5].address, w[7].address, 41n, t + 100n), 'InsufficientUnfrozenBalance');

    // an operator approved for all may create records for the owner
    await mined(as(w[5]).setApprovalForAll(w[8].address, true));
    const r1 = events(await mined(rec(w[8], w[5].address, w[7].address, 2n, t + 100n)), 'CreateUserRecord')[0].args.recordId;
    const r2 = events(await mined(rec(w[5], w[5].address, w[7].address, 3n, t + 5000n)), 'CreateUserRecord')[0].args.recordId;
    assert.equal(await access.usableBalanceOf(w[7].address, id), 5n);
    assert.equal(await access.accessExpiry(w[7].address, id), t + 5000n);
    assert.equal(await access.frozenBalanceOf(w[5].address, id), 5n);

    // the user may give a record up at any time
    await mined(as(w[7]).deleteUserRecord(r2));
    assert.equal(await access.usableBalanceOf(w[7].address, id), 2n);
    assert.equal(await access.accessExpiry(w[7].address, id), t + 100n);
    assert.equal(await access.frozenBalanceOf(w[5].address, id), 2n);
    // after expiry, the approved operator may delete it
    await provider.send('evm_increaseTime', [200]);
    await provider.send('evm_mine', []);
    assert.equal(await access.hasAccess(w[7].address, id), false);
    await mined(as(w[8]).deleteUserRecord(r1));
    assert.equal(await access.frozenBalanceOf(w[5].address, id), 0n);
    await mined(as(w[5]).setApprovalForAll(w[8].address, false));

    // at most 32 live records per (token, user)
    const t2 = await now();
    const ids = [];
    for (let i = 0; i < 32; ++i) {
      const r = await mined(rec(w[5], w[5].address, w[7].address, 1n, t2 + 1000n + BigInt(i)));
      ids.push(events(r, 'CreateUserRecord')[0].args.recordId);
    }
    await expectRevert(rec(w[5], w[5].address, w[7].address, 1n, t2 + 5000n), 'TooManyUserRecords', [w[7].address, id, 32n]);
    // another user is not affected; deleting one (from the middle of the list) makes room
    await mined(rec(w[5], w[5].address, w[6].address, 1n, t2 + 5000n));
    await mined(as(w[7]).deleteUserRecord(ids[10]));
    await mined(rec(w[5], w[5].address, w[7].address, 1n, t2 + 5000n));
    assert.equal(await access.usableBalanceOf(w[7].address, id), 32n);
    assert.equal(await access.accessExpiry(w[7].address, id), t2 + 5000n);
    assert.equal(await access.frozenBalanceOf(w[5].address, id), 33n);
    // every remaining record can still be deleted by its user (the list stays consistent)
    for (const r of ids.filter((_, i) => i !== 10)) await mined(as(w[7]).deleteUserRecord(r));
    assert.equal(await access.usableBalanceOf(w[7].address, id), 1n);
    assert.equal(await access.frozenBalanceOf(w[5].address, id), 2n);
  });

  it('royaltyInfo: the contract receives salePrice × rate / 1e6', async () => {
    const id = capsuleId(1); // 50,000 ppm = 5 %
    assert.deepEqual([...(await access.royaltyInfo(id, 10n ** 18n))], [accessAddress, 5n * 10n ** 16n]);
    assert.deepEqual([...(await access.royaltyInfo(id, 999n))], [accessAddress, 49n]); // 49.95 rounded down
    // no overflow on absurd prices
    assert.deepEqual([...(await access.royaltyInfo(id, MaxUint256))], [accessAddress, (MaxUint256 * 50_000n) / PPM]);
    assert.deepEqual([...(await access.royaltyInfo(capsuleId(999), 10n ** 18n))], [accessAddress, 0n]);
  });

  it('payRoyalty splits exactly (the first recipient gets the remainder) and withdraw pays it', async () => {
    const { id, recipients, allocations } = await register(6, { ppm: 100_000 });
    const value = 10n ** 18n + 7n; // 333,333 ppm of it is not a whole number of wei
    const before = await Promise.all(recipients.map((r) => access.owed(r)));
    assert.deepEqual(before, [0n, 0n, 0n]);
    const rc = await mined(as(w[9]).payRoyalty(id, { value }));
    assert.deepEqual([...events(rc, 'RoyaltyReceived')[0].args], [id, w[9].address, value]);

    const floors = allocations.map((a) => (value * BigInt(a)) / PPM);
    const remainder = value - floors.reduce((x, y) => x + y, 0n);
    assert.ok(remainder > 0n, 'the test amount must not divide evenly');
    const expected = floors.map((f, i) => (i === 0 ? f + remainder : f));
    const owed = await Promise.all(recipients.map((r) => access.owed(r)));
    assert.deepEqual(owed, expected);
    assert.equal(owed.reduce((x, y) => x + y, 0n), value);
    assert.equal(await provider.getBalance(accessAddress), value);

    // zero payments are accepted and change nothing; unknown ids are refused
    await mined(as(w[9]).payRoyalty(id, { value: 0n }));
    assert.deepEqual(await Promise.all(recipients.map((r) => access.owed(r))), expected);
    await expectRevert(as(w[9]).payRoyalty(capsuleId(999), { value: 1n }), 'UnknownToken', [capsuleId(999)]);

    const byAddr = new Map(w.map((x) => [x.address, x]));
    for (let i = 0; i < recipients.length; ++i) {
      const wallet = byAddr.get(recipients[i]);
      const balanceBefore = await provider.getBalance(wallet.address);
      const r = await mined(as(wallet).withdraw());
      const fee = r.gasUsed * r.gasPrice;
      assert.equal(await provider.getBalance(wallet.address), balanceBefore + expected[i] - fee);
      assert.deepEqual([...events(r, 'Withdrawn')[0].args], [wallet.address, expected[i]]);
      assert.equal(await access.owed(wallet.address), 0n);
      await expectRevert(as(wallet).withdraw(), 'NothingOwed', [wallet.address]);
    }
    assert.equal(await provider.getBalance(accessAddress), 0n);
  });

  it('a plain ether transfer reverts and tells the payer to use payRoyalty', async () => {
    await expectRevert(w[9].sendTransaction({ to: accessAddress, value: 1n }), 'UsePayRoyalty');
    // mined anyway (explicit gas limit): it fails and the contract holds nothing
    const tx = await w[9].sendTransaction({ to: accessAddress, value: 1n, gasLimit: 100_000 });
    await assert.rejects(tx.wait(), (e) => e.receipt?.status === 0);
    assert.equal(await provider.getBalance(accessAddress), 0n);
    // unknown calldata with value: no fallback, reverts
    await assert.rejects(w[9].sendTransaction({ to: accessAddress, value: 1n, data: '0x12345678' }), (e) => e.code === 'CALL_EXCEPTION');
    assert.equal(await provider.getBalance(accessAddress), 0n);
  });
});

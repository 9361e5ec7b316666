// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IERC5006} from "./IERC5006.sol";

/// @title CapsuleAccess: the on-chain access tokens of Capsule SDK capsules
/// @notice One ERC-1155 token id per capsule. The first mint of an id registers it: the caller
///         becomes its creator and the capsule's manifest hash, the creator's Ed25519 public key,
///         the royalty rate and the royalty split are recorded for good. Holding an unfrozen token,
///         or being the user of an unexpired ERC-5006 user record (a rental or a subscription),
///         gives access to the capsule. Royalties (EIP-2981) are paid to this contract with
///         `payRoyalty(id)` and split exactly among the token's recipients, who withdraw them
///         (pull payment).
/// @dev There are no owner or admin powers of any kind: nothing recorded at registration can
///      be changed by anyone, and nobody can move anyone else's tokens or ether.
///      Compiled for the `shanghai` EVM (no Cancun opcodes), so it runs on Elastos Smart Chain.
contract CapsuleAccess is ERC1155, ReentrancyGuard, IERC2981, IERC5006 {
    /// @dev The denominator of royalty rates and split allocations (parts per million).
    uint32 private constant PPM = 1_000_000;
    /// @dev At most this many royalty recipients per token, so `payRoyalty` stays bounded in gas.
    uint256 private constant MAX_RECIPIENTS = 100;
    /// @dev At most this many live user records per (token id, user), so the access views stay
    ///      bounded in gas. A user can delete any record naming them to make room.
    uint256 private constant MAX_RECORDS_PER_USER = 32;

    /// @dev What a token's registration recorded (never changed afterwards).
    struct Token {
        bytes32 manifestHash;
        bytes32 creatorKey;
        address creator;
        uint32 royaltyPpm;
        address[] recipients;
        uint32[] allocations;
    }

    mapping(uint256 id => Token) private _tokens;
    mapping(address account => uint256) private _owed;

    /// @dev ERC-5006 state. Record ids start at 1.
    uint256 private _lastRecordId;
    mapping(uint256 recordId => UserRecord) private _records;
    mapping(uint256 tokenId => mapping(address owner => uint256)) private _frozen;
    mapping(uint256 tokenId => mapping(address user => uint256[])) private _userRecordIds;
    /// @dev Position + 1 of a record in its user's `_userRecordIds` list (0: not listed).
    mapping(uint256 recordId => uint256) private _recordSlot;

    // ------------------------------------------------------------------ events

    /// @notice Emitted once per token id, when its first mint registers it.
    event TokenRegistered(uint256 indexed id, address indexed creator, bytes32 manifestHash, bytes32 creatorKey);
    /// @notice Emitted when `payer` pays `amount` wei of royalties for token `id`.
    event RoyaltyReceived(uint256 indexed id, address indexed payer, uint256 amount);
    /// @notice Emitted when `account` withdraws the `amount` wei it was owed.
    event Withdrawn(address indexed account, uint256 amount);

    // ------------------------------------------------------------------ errors

    /// @notice A registration needs a nonzero manifest hash.
    error ZeroManifestHash();
    /// @notice A registration needs a nonzero creator key (the creator's Ed25519 public key).
    error ZeroCreatorKey();
    /// @notice The royalty rate is above 1,000,000 ppm (100 %).
    error RoyaltyTooHigh(uint32 royaltyPpm);
    /// @notice A registration needs at least one royalty recipient.
    error EmptySplit();
    /// @notice More royalty recipients than the contract accepts.
    error TooManyRecipients(uint256 count, uint256 max);
    /// @notice `recipients` and `allocations` differ in length.
    error SplitLengthMismatch(uint256 recipients, uint256 allocations);
    /// @notice The recipient at `index` is the zero address.
    error ZeroRecipient(uint256 index);
    /// @notice The recipient at `index` is not above the one before it (unsorted or duplicate).
    error RecipientsNotStrictlyAscending(uint256 index);
    /// @notice The allocation at `index` is zero.
    error ZeroAllocation(uint256 index);
    /// @notice The allocations add up to `sum` instead of exactly 1,000,000.
    error SplitSumNotOneMillion(uint256 sum);
    /// @notice Only the creator of token `id` may mint more of it.
    error NotCreator(uint256 id, address caller, address creator);
    /// @notice A later mint gave another manifest hash than the registered one.
    error ManifestHashMismatch(uint256 id, bytes32 registered, bytes32 given);
    /// @notice A later mint gave another creator key than the registered one.
    error CreatorKeyMismatch(uint256 id, bytes32 registered, bytes32 given);
    /// @notice A later mint gave another royalty rate than the registered one.
    error RoyaltyMismatch(uint256 id, uint32 registered, uint32 given);
    /// @notice A later mint gave a split: the split is fixed at registration, pass empty arrays.
    error SplitAlreadySet(uint256 id);
    /// @notice Token `id` has not been registered.
    error UnknownToken(uint256 id);
    /// @notice `account` is owed nothing.
    error NothingOwed(address account);
    /// @notice Sending `amount` wei to `account` failed.
    error WithdrawFailed(address account, uint256 amount);
    /// @notice Plain ether transfers are refused, because they cannot be attributed to a token:
    ///         pay royalties with `payRoyalty(id)`.
    error UsePayRoyalty();
    /// @notice The caller is neither `owner` nor approved for all of `owner`'s tokens.
    error NotOwnerOrApproved(address owner, address caller);
    /// @notice A user record needs a nonzero user.
    error ZeroUser();
    /// @notice A user record needs a nonzero amount.
    error ZeroAmount();
    /// @notice A user record's expiry must be later than the current block's timestamp.
    error ExpiryNotInFuture(uint64 expiry, uint256 timestamp);
    /// @notice `owner` has only `available` unfrozen `tokenId` tokens, not `requested`.
    error InsufficientUnfrozenBalance(address owner, uint256 tokenId, uint256 available, uint256 requested);
    /// @notice `user` already has the maximum number of records for `tokenId`; delete some first.
    error TooManyUserRecords(address user, uint256 tokenId, uint256 max);
    /// @notice There is no user record `recordId`.
    error UnknownUserRecord(uint256 recordId);
    /// @notice Only the record's user (at any time) or its owner or an operator approved by the
    ///         owner (after expiry) may delete record `recordId`.
    error NotAllowedToDelete(uint256 recordId, address caller);
    /// @notice The owner's side may delete record `recordId` only from `expiry` on.
    error RecordNotExpired(uint256 recordId, uint64 expiry);
    /// @notice A transfer would move tokens frozen by user records: `owner` would keep
    ///         `balanceAfter` `id` tokens while `frozen` of them are frozen.
    error FrozenTokens(address owner, uint256 id, uint256 frozen, uint256 balanceAfter);

    // ------------------------------------------------------------------ construction

    /// @param uriTemplate The ERC-1155 metadata URI for every id, with `{id}` standing for the
    ///        token id as 64 lowercase hex digits, e.g. `ipfs://<CID>/{id}.json`.
    constructor(string memory uriTemplate) ERC1155(uriTemplate) {}

    // ------------------------------------------------------------------ minting

    /// @notice Mints `amount` of token `id` to `to`; the first mint of `id` registers it.
    /// @dev First mint: the caller becomes the creator; `manifestHash` and `creatorKey` must be
    ///      nonzero, `royaltyPpm` at most 1,000,000, and the split valid: at least one recipient,
    ///      as many allocations as recipients, recipients strictly ascending (hence unique and
    ///      nonzero), every allocation positive, the sum exactly 1,000,000. Emits `TokenRegistered`.
    ///      Later mints: only by the creator, with the registered `manifestHash`, `creatorKey` and
    ///      `royaltyPpm`, and empty `recipients` and `allocations`.
    ///      `amount` may be 0: the token is then registered without supply (and, on a first mint,
    ///      a zero `TransferSingle` from and to the zero address announces it, as ERC-1155 asks).
    /// @param to Who receives the tokens (ignored when `amount` is 0).
    /// @param id The token id (the capsule's 16-byte id read as a big-endian integer).
    /// @param amount How many tokens to mint.
    /// @param manifestHash The hash of the capsule's embedded manifest.
    /// @param creatorKey The creator's Ed25519 public key.
    /// @param royaltyPpm The EIP-2981 royalty rate, in parts per million of the sale price.
    /// @param recipients Royalty recipients, strictly ascending.
    /// @param allocations Each recipient's share in parts per million, summing to 1,000,000.
    function mint(
        address to,
        uint256 id,
        uint256 amount,
        bytes32 manifestHash,
        bytes32 creatorKey,
        uint32 royaltyPpm,
        address[] calldata recipients,
        uint32[] calldata allocations
    ) external {
        Token storage t = _tokens[id];
        if (t.creator == address(0)) {
            if (manifestHash == bytes32(0)) revert ZeroManifestHash();
            if (creatorKey == bytes32(0)) revert ZeroCreatorKey();
            if (royaltyPpm > PPM) revert RoyaltyTooHigh(royaltyPpm);
            _checkSplit(recipients, allocations);
            t.manifestHash = manifestHash;
            t.creatorKey = creatorKey;
            t.creator = _msgSender();
            t.royaltyPpm = royaltyPpm;
            t.recipients = recipients;
            t.allocations = allocations;
            emit TokenRegistered(id, _msgSender(), manifestHash, creatorKey);
            if (amount == 0) emit TransferSingle(_msgSender(), address(0), address(0), id, 0);
        } else {
            if (_msgSender() != t.creator) revert NotCreator(id, _msgSender(), t.creator);
            if (manifestHash != t.manifestHash) revert ManifestHashMismatch(id, t.manifestHash, manifestHash);
            if (creatorKey != t.creatorKey) revert CreatorKeyMismatch(id, t.creatorKey, creatorKey);
            if (royaltyPpm != t.royaltyPpm) revert RoyaltyMismatch(id, t.royaltyPpm, royaltyPpm);
            if (recipients.length != 0 || allocations.length != 0) revert SplitAlreadySet(id);
        }
        if (amount != 0) _mint(to, id, amount, "");
    }

    /// @dev Reverts unless the split is one 0xSplits would accept as is (bar its 2-recipient minimum).
    function _checkSplit(address[] calldata recipients, uint32[] calldata allocations) private pure {
        uint256 n = recipients.length;
        if (n == 0) revert EmptySplit();
        if (n > MAX_RECIPIENTS) revert TooManyRecipients(n, MAX_RECIPIENTS);
        if (allocations.length != n) revert SplitLengthMismatch(n, allocations.length);
        uint256 sum;
        address previous;
        for (uint256 i; i < n; ++i) {
            address r = recipients[i];
            if (r == address(0)) revert ZeroRecipient(i);
            if (i != 0 && r <= previous) revert RecipientsNotStrictlyAscending(i);
            if (allocations[i] == 0) revert ZeroAllocation(i);
            sum += allocations[i];
            previous = r;
        }
        if (sum != PPM) revert SplitSumNotOneMillion(sum);
    }

    // ------------------------------------------------------------------ token views

    /// @notice What the registration of token `id` recorded; all zero for an unknown id.
    function tokenInfo(
        uint256 id
    ) external view returns (bytes32 manifestHash, bytes32 creatorKey, address creator, uint32 royaltyPpm) {
        Token storage t = _tokens[id];
        return (t.manifestHash, t.creatorKey, t.creator, t.royaltyPpm);
    }

    /// @notice The royalty split of token `id` (empty arrays for an unknown id).
    function splitOf(uint256 id) external view returns (address[] memory recipients, uint32[] memory allocations) {
        Token storage t = _tokens[id];
        return (t.recipients, t.allocations);
    }

    /// @notice Whether `holder` may open capsule `id`: it holds an unfrozen token, or it is the
    ///         user of an unexpired user record of the token.
    function hasAccess(address holder, uint256 id) external view returns (bool) {
        return balanceOf(holder, id) > _frozen[id][holder] || usableBalanceOf(holder, id) > 0;
    }

    /// @notice Until when `holder` has access to capsule `id`: `type(uint64).max` while it holds an
    ///         unfrozen token, else the latest expiry of its unexpired user records, else 0 (no
    ///         access). A record is unexpired while `block.timestamp < expiry`.
    function accessExpiry(address holder, uint256 id) external view returns (uint64) {
        if (balanceOf(holder, id) > _frozen[id][holder]) return type(uint64).max;
        uint64 latest;
        uint256[] storage ids = _userRecordIds[id][holder];
        for (uint256 i; i < ids.length; ++i) {
            uint64 expiry = _records[ids[i]].expiry;
            if (expiry > block.timestamp && expiry > latest) latest = expiry;
        }
        return latest;
    }

    // ------------------------------------------------------------------ ERC-5006 user records

    /// @inheritdoc IERC5006
    /// @dev The caller must be `owner` or approved for all of `owner`'s tokens; `user` nonzero;
    ///      `amount` positive and not above `owner`'s unfrozen balance; `expiry` later than the
    ///      current block. The `amount` tokens stay `owner`'s but are frozen (not transferable)
    ///      until the record is deleted — also after it expires.
    function createUserRecord(
        address owner,
        address user,
        uint256 tokenId,
        uint64 amount,
        uint64 expiry
    ) external returns (uint256 recordId) {
        if (_msgSender() != owner && !isApprovedForAll(owner, _msgSender())) {
            revert NotOwnerOrApproved(owner, _msgSender());
        }
        if (user == address(0)) revert ZeroUser();
        if (amount == 0) revert ZeroAmount();
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, block.timestamp);
        uint256 balance = balanceOf(owner, tokenId);
        uint256 frozen = _frozen[tokenId][owner];
        uint256 available = balance > frozen ? balance - frozen : 0;
        if (amount > available) revert InsufficientUnfrozenBalance(owner, tokenId, available, amount);
        uint256[] storage ids = _userRecordIds[tokenId][user];
        if (ids.length >= MAX_RECORDS_PER_USER) revert TooManyUserRecords(user, tokenId, MAX_RECORDS_PER_USER);

        recordId = ++_lastRecordId;
        _records[recordId] = UserRecord(tokenId, owner, amount, user, expiry);
        _frozen[tokenId][owner] = frozen + amount;
        ids.push(recordId);
        _recordSlot[recordId] = ids.length;
        emit CreateUserRecord(recordId, tokenId, amount, owner, user, expiry);
    }

    /// @inheritdoc IERC5006
    /// @dev Allowed to the record's user at any time (giving up the use early), and to its owner
    ///      or an operator approved by the owner once `block.timestamp >= expiry`.
    function deleteUserRecord(uint256 recordId) external {
        UserRecord storage r = _records[recordId];
        address owner = r.owner;
        if (owner == address(0)) revert UnknownUserRecord(recordId);
        address caller = _msgSender();
        if (caller != r.user) {
            if (caller != owner && !isApprovedForAll(owner, caller)) revert NotAllowedToDelete(recordId, caller);
            if (block.timestamp < r.expiry) revert RecordNotExpired(recordId, r.expiry);
        }
        uint256 tokenId = r.tokenId;
        _frozen[tokenId][owner] -= r.amount;

        uint256[] storage ids = _userRecordIds[tokenId][r.user];
        uint256 slot = _recordSlot[recordId];
        uint256 last = ids[ids.length - 1];
        ids[slot - 1] = last;
        _recordSlot[last] = slot;
        ids.pop();
        delete _recordSlot[recordId];
        delete _records[recordId];
        emit DeleteUserRecord(recordId);
    }

    /// @inheritdoc IERC5006
    function userRecordOf(uint256 recordId) external view returns (UserRecord memory) {
        return _records[recordId];
    }

    /// @inheritdoc IERC5006
    /// @dev The sum of the amounts of the unexpired records (`block.timestamp < expiry`) whose
    ///      user is `account`.
    function usableBalanceOf(address account, uint256 tokenId) public view returns (uint256 amount) {
        uint256[] storage ids = _userRecordIds[tokenId][account];
        for (uint256 i; i < ids.length; ++i) {
            UserRecord storage r = _records[ids[i]];
            if (r.expiry > block.timestamp) amount += r.amount;
        }
    }

    /// @inheritdoc IERC5006
    /// @dev Tokens stay frozen by a record until the record is deleted, even after it expired:
    ///      the owner (or the user) deletes expired records to unfreeze them.
    function frozenBalanceOf(address account, uint256 tokenId) external view returns (uint256) {
        return _frozen[tokenId][account];
    }

    /// @dev Refuses any transfer that would leave the sender with fewer tokens than it has frozen.
    ///      Checked after the balances moved, so a batch naming the same id twice is caught too.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        super._update(from, to, ids, values);
        if (from != address(0)) {
            for (uint256 i; i < ids.length; ++i) {
                uint256 frozen = _frozen[ids[i]][from];
                if (frozen != 0) {
                    uint256 balanceAfter = balanceOf(from, ids[i]);
                    if (balanceAfter < frozen) revert FrozenTokens(from, ids[i], frozen, balanceAfter);
                }
            }
        }
    }

    // ------------------------------------------------------------------ royalties

    /// @inheritdoc IERC2981
    /// @dev The receiver is always this contract: pay with `payRoyalty(id)`, which splits the
    ///      payment among the token's recipients. The amount is 0 for an unknown id.
    function royaltyInfo(
        uint256 id,
        uint256 salePrice
    ) external view returns (address receiver, uint256 royaltyAmount) {
        return (address(this), Math.mulDiv(salePrice, _tokens[id].royaltyPpm, PPM));
    }

    /// @notice Pays `msg.value` wei of royalties for token `id` and credits its recipients.
    /// @dev Recipient i is credited `msg.value * allocation_i / 1e6` (rounded down); what the
    ///      rounding leaves goes to the first recipient, so exactly `msg.value` is credited.
    ///      Recipients withdraw with `withdraw()`. Unknown ids revert; a zero payment is accepted
    ///      and credits nothing.
    function payRoyalty(uint256 id) external payable {
        Token storage t = _tokens[id];
        if (t.creator == address(0)) revert UnknownToken(id);
        uint256 value = msg.value;
        uint256 n = t.recipients.length;
        uint256 credited;
        for (uint256 i = 1; i < n; ++i) {
            uint256 share = (value * t.allocations[i]) / PPM;
            _owed[t.recipients[i]] += share;
            credited += share;
        }
        _owed[t.recipients[0]] += value - credited;
        emit RoyaltyReceived(id, _msgSender(), value);
    }

    /// @notice How many wei `account` can withdraw.
    function owed(address account) external view returns (uint256) {
        return _owed[account];
    }

    /// @notice Sends the caller everything it is owed.
    function withdraw() external nonReentrant {
        address account = _msgSender();
        uint256 amount = _owed[account];
        if (amount == 0) revert NothingOwed(account);
        _owed[account] = 0;
        (bool ok, ) = payable(account).call{value: amount}("");
        if (!ok) revert WithdrawFailed(account, amount);
        emit Withdrawn(account, amount);
    }

    /// @notice Refuses plain ether transfers (they cannot be attributed to a token).
    receive() external payable {
        revert UsePayRoyalty();
    }

    // ------------------------------------------------------------------ ERC-165

    /// @notice ERC-165: ERC-1155 (0xd9b67a26), its metadata URI extension (0x0e89341c),
    ///         EIP-2981 (0x2a55205a), ERC-5006 (0xc26d96cc) and ERC-165 itself (0x01ffc9a7).
    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, IERC165) returns (bool) {
        return
            interfaceId == type(IERC2981).interfaceId ||
            interfaceId == type(IERC5006).interfaceId ||
            super.supportsInterface(interfaceId);
    }
}

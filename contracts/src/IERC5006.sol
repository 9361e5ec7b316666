// SPDX-License-Identifier: CC0-1.0
pragma solidity ^0.8.24;

/// @title ERC-5006: Rental NFT, NFT User Extension (ERC-1155 user records with an expiry)
/// @notice The interface exactly as the final ERC-5006 text gives it. Its ERC-165 interface id is
///         0xc26d96cc (the XOR of the five function selectors below).
interface IERC5006 {
    /// @notice One grant of use: `user` may use `amount` of `owner`'s `tokenId` until `expiry`.
    struct UserRecord {
        uint256 tokenId;
        address owner;
        uint64 amount;
        address user;
        uint64 expiry;
    }

    /// @notice Emitted when `user` is given the use of `amount` of `owner`'s `tokenId` until `expiry`.
    event CreateUserRecord(
        uint256 recordId,
        uint256 tokenId,
        uint64 amount,
        address owner,
        address user,
        uint64 expiry
    );

    /// @notice Emitted when the record `recordId` is deleted.
    event DeleteUserRecord(uint256 recordId);

    /// @notice How many `tokenId` tokens `account` may use through unexpired user records.
    function usableBalanceOf(address account, uint256 tokenId) external view returns (uint256);

    /// @notice How many of `account`'s `tokenId` tokens are frozen by user records.
    function frozenBalanceOf(address account, uint256 tokenId) external view returns (uint256);

    /// @notice The record `recordId` (all fields zero when there is no such record).
    function userRecordOf(uint256 recordId) external view returns (UserRecord memory);

    /// @notice Gives `user` the use of `amount` of `owner`'s `tokenId` until `expiry`, freezing them.
    function createUserRecord(
        address owner,
        address user,
        uint256 tokenId,
        uint64 amount,
        uint64 expiry
    ) external returns (uint256);

    /// @notice Deletes the record `recordId` and unfreezes its tokens.
    function deleteUserRecord(uint256 recordId) external;
}

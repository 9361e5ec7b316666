#include "chain/contract_errors.h"

#include <array>
#include <cstring>
#include <map>

#include "format/bytes.h"
#include "format/keccak.h"

namespace capsule::chain {
namespace {

// Kept in step with contracts/src/CapsuleAccess.sol (a unit test checks two selectors observed
// from a node; a new error without a line here is shown as its hex selector, as before).
constexpr const char* kSignatures[] = {
    "ZeroManifestHash()",
    "ZeroCreatorKey()",
    "RoyaltyTooHigh(uint32)",
    "EmptySplit()",
    "TooManyRecipients(uint256,uint256)",
    "SplitLengthMismatch(uint256,uint256)",
    "ZeroRecipient(uint256)",
    "RecipientsNotStrictlyAscending(uint256)",
    "ZeroAllocation(uint256)",
    "SplitSumNotOneMillion(uint256)",
    "NotCreator(uint256,address,address)",
    "ManifestHashMismatch(uint256,bytes32,bytes32)",
    "CreatorKeyMismatch(uint256,bytes32,bytes32)",
    "RoyaltyMismatch(uint256,uint32,uint32)",
    "SplitAlreadySet(uint256)",
    "UnknownToken(uint256)",
    "NothingOwed(address)",
    "WithdrawFailed(address,uint256)",
    "UsePayRoyalty()",
    "NotOwnerOrApproved(address,address)",
    "ZeroUser()",
    "ZeroAmount()",
    "ExpiryNotInFuture(uint64,uint256)",
    "InsufficientUnfrozenBalance(address,uint256,uint256,uint256)",
    "TooManyUserRecords(address,uint256,uint256)",
    "UnknownUserRecord(uint256)",
    "NotAllowedToDelete(uint256,address)",
    "RecordNotExpired(uint256,uint64)",
    "FrozenTokens(address,uint256,uint256,uint256)",
    // OpenZeppelin 5 (draft-IERC6093.sol), ERC-1155.
    "ERC1155InsufficientBalance(address,uint256,uint256,uint256)",
    "ERC1155InvalidSender(address)",
    "ERC1155InvalidReceiver(address)",
    "ERC1155MissingApprovalForAll(address,address)",
    "ERC1155InvalidApprover(address)",
    "ERC1155InvalidOperator(address)",
    "ERC1155InvalidArrayLength(uint256,uint256)",
};

const std::map<std::string, std::string>& BySelector() {
  static const std::map<std::string, std::string> table = [] {
    std::map<std::string, std::string> t;
    for (const char* sig : kSignatures) {
      const std::array<uint8_t, 32> h = format::Keccak256(sig);
      t[format::HexEncode(format::ByteView(h.data(), 4))] = sig;
    }
    return t;
  }();
  return table;
}

}  // namespace

std::optional<std::string> ContractErrorOf(std::string_view data) {
  if (data.size() < 10 || data.substr(0, 2) != "0x") return std::nullopt;
  std::string selector(data.substr(2, 8));
  for (auto& c : selector)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  const auto& t = BySelector();
  auto it = t.find(selector);
  if (it == t.end()) return std::nullopt;
  return it->second;
}

}  // namespace capsule::chain

// The custom errors of the access-token contract (contracts/src/CapsuleAccess.sol) and of
// OpenZeppelin's ERC-1155 it builds on, by selector: a reverted call's data is then said by
// name ("NotCreator(…)") instead of as four bytes of hex.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace capsule::chain {

// The error's signature (e.g. "SplitAlreadySet(uint256)") for revert data "0x" + 8 or more hex
// digits whose selector is one of the contract's errors; nullopt otherwise.
std::optional<std::string> ContractErrorOf(std::string_view revert_data_hex);

}  // namespace capsule::chain

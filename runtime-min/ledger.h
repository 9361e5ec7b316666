// Ledgers behind one interface (DESIGN §9.6): who holds a capsule's access token, and until
// when. Holders are EVM addresses in every ledger. `file:PATH` is for development and tests;
// `evm:URL` (the chain) is EvmLedger (evm_ledger.h), bound to one capsule before it answers.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capsule/status.h"

namespace capsule::runtime {

using Address = std::array<uint8_t, 20>;
using CapsuleIdBytes = std::array<uint8_t, 16>;

struct Holding {
  bool holds = false;
  std::optional<int64_t> expires;  // Unix seconds (rentals, subscriptions)
  int64_t granted_at = 0;
  // A grant exists but ended at or before `now` (holds is false): lets the caller say "rental
  // expired" (LicenseExpired) instead of "no token" (NotHolder).
  bool expired = false;
};

class Ledger {
 public:
  virtual ~Ledger() = default;
  // Does `holder` hold the token of `capsule` at `now`? An expired grant answers holds=false.
  virtual Result<Holding> Holds(const CapsuleIdBytes& capsule, const Address& holder,
                                int64_t now) = 0;
  virtual std::string Describe() const = 0;
};

// "file:PATH" → FileLedger. "evm:URL" is built by the runtime itself (EvmLedger); other schemes:
// Usage error naming the supported ones.
Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& spec);

// File ledger management (capsule-run ledger grant|revoke|transfer). Every change takes an
// exclusive lock on the file, rewrites it through a temp file + rename, and is refused when the
// file is malformed (LedgerMalformed) — nobody has to hand-edit JSON.
struct LedgerChange {
  std::string path;
  CapsuleIdBytes capsule{};
  Address holder{};
  std::optional<Address> to;       // transfer
  std::optional<int64_t> expires;  // grant
  int64_t now = 0;
};
Status LedgerGrant(const LedgerChange& c);
Status LedgerRevoke(const LedgerChange& c);
Status LedgerTransfer(const LedgerChange& c);

}  // namespace capsule::runtime

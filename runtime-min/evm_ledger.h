// The evm ledger (`--ledger evm:URL`, docs/spec/chain.md §5): the Ledger interface over the
// access-token contract (chain/access_token.h). It is bound to one capsule while the capsule is
// opened — that binding is also what lets the runtime trust a creator key it was never given
// (DESIGN §3.13) — and then answers for that capsule only.
#pragma once

#include <memory>

#include "chain/access_token.h"
#include "runtime-min/ledger.h"

namespace capsule::runtime {

class EvmLedger final : public Ledger {
 public:
  static Result<std::unique_ptr<EvmLedger>> Create(const chain::AccessTokenOptions& o);
  Status Bind(const format::OpenedCapsule& c);
  Result<Holding> Holds(const CapsuleIdBytes& capsule, const Address& holder, int64_t now) override;
  std::string Describe() const override { return reader_.Describe(); }
  int64_t BlockTime() const { return reader_.BlockTime(); }

 private:
  explicit EvmLedger(chain::AccessTokenReader r) : reader_(std::move(r)) {}
  chain::AccessTokenReader reader_;
  CapsuleIdBytes capsule_{};
};

}  // namespace capsule::runtime

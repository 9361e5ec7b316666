// docs/spec/chain.md §5.
#include "runtime-min/evm_ledger.h"

namespace capsule::runtime {

Result<std::unique_ptr<EvmLedger>> EvmLedger::Create(const chain::AccessTokenOptions& o) {
  CAPSULE_ASSIGN_OR_RETURN(chain::AccessTokenReader r, chain::AccessTokenReader::Create(o));
  return std::unique_ptr<EvmLedger>(new EvmLedger(std::move(r)));
}

Status EvmLedger::Bind(const format::OpenedCapsule& c) {
  CAPSULE_RETURN_IF_ERROR(reader_.Bind(c));
  capsule_ = c.info.id;
  return Status::Ok();
}

Result<Holding> EvmLedger::Holds(const CapsuleIdBytes& capsule, const Address& holder,
                                 int64_t /*now: the chain answers at its own block time*/) {
  if (!reader_.bound() || capsule != capsule_)
    return Status(Code::Internal, "evm ledger asked about a capsule it was not bound to");
  CAPSULE_ASSIGN_OR_RETURN(chain::Access a, reader_.AccessOf(holder));
  Holding h;
  h.holds = a.has;
  h.expires = a.expires;
  return h;
}

}  // namespace capsule::runtime

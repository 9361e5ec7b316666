// capsulec license issue|inspect: an issuer grants one holder one offered business model
// (docs/spec/license.md); anyone can inspect a licence and check it against a capsule and a
// holder. Thin: flags → format/license.h → text or --json.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "capsulec/cli.h"
#include "chain/access_token.h"
#include "chain/license_request.h"
#include "chain/rpc.h"
#include "chain/secp256k1.h"
#include "format/canonical_json.h"
#include "format/container.h"
#include "format/file.h"
#include "format/keys.h"
#include "format/license.h"
#include "format/time.h"
#include "packager/manifest_values.h"

namespace capsulec {
namespace {

namespace fmt = capsule::format;
using capsule::Code;
using capsule::Status;

struct IssueOpts {
  std::string capsule, issuer_key, holder, model, expires, not_before = "now", not_after, output;
  std::optional<uint64_t> plays;
  bool force = false;
  // --request: a holder's signed licence request, checked against the chain (docs/spec/chain.md §6)
  std::string request, ledger, nonce_db;
  uint64_t confirmations = 2;
  int rpc_timeout_ms = 10000;
};
struct RequestOpts {
  std::string capsule, key, model, nonce, valid_for = "1h", output;
  bool force = false;
};
struct InspectOpts {
  std::string license, capsule, holder, at = "now";
};

// "now", or what format::ParseUtcTime reads.
std::optional<int64_t> ParseTime(const std::string& s, int64_t now) {
  if (s == "now") return now;
  return fmt::ParseUtcTime(s);
}

std::string FormatTime(int64_t t) { return fmt::FormatUtcTime(t); }

Status TimeFlag(const std::string& flag, const std::string& value, int64_t now, int64_t* out) {
  auto t = ParseTime(value, now);
  if (!t)
    return Status(Code::Usage, flag + " `" + value +
                                   "`: expected now, @UNIX-SECONDS, YYYY-MM-DD or "
                                   "YYYY-MM-DDTHH:MM[:SS] with Z or ±HH:MM");
  *out = *t;
  return Status::Ok();
}

// song.capsule.wasm → song.lic (in the current directory).
std::string DefaultLicenseName(const std::string& capsule) {
  std::string base = capsule.substr(capsule.find_last_of('/') + 1);
  for (const char* ext : {".capsule.wasm", ".wasm"}) {
    std::string e = ext;
    if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
      base.resize(base.size() - e.size());
      break;
    }
  }
  return base + ".lic";
}

// --request: the request's signature, its binding to this capsule and chain, and the chain's
// word that the requester holds the token — in that order — and then the holder's keys as the
// request states them. The nonce is recorded by RunIssue once the licence is ready to commit:
// a refusal for any other reason (an existing output, the wrong issuer key, terms above the
// offer) does not use the request up.
capsule::Result<fmt::PublicIdentity> RequestHolder(
    const IssueOpts& o, const fmt::OpenedCapsule& c, fmt::LicenseRequest* req, int64_t now,
    capsule::chain::SignedLicenseRequest* signed_request) {
  namespace ch = capsule::chain;
  CAPSULE_ASSIGN_OR_RETURN(std::string text, fmt::ReadSmallFile(o.request, 64 * 1024));
  CAPSULE_ASSIGN_OR_RETURN(ch::SignedLicenseRequest r, ch::ParseLicenseRequest(text, o.request));
  // docs/spec/chain.md §6: the request must name this capsule, chain and contract and be
  // unexpired (by the local clock) before the chain is asked anything; after the chain is
  // bound, expiry is checked again against its block time.
  CAPSULE_ASSIGN_OR_RETURN(ch::TokenRef local,
                           ch::TokenRefOf(c.manifest, c.manifest_bytes, c.info.id, o.request));
  CAPSULE_RETURN_IF_ERROR(ch::CheckLicenseRequestFor(r, local, now, o.request));
  ch::AccessTokenOptions ao;
  ao.url = *ch::ParseEvmLedgerSpec(o.ledger);
  ao.confirmations = o.confirmations;
  ao.timeout_ms = o.rpc_timeout_ms;
  CAPSULE_ASSIGN_OR_RETURN(ch::AccessTokenReader chain, ch::AccessTokenReader::Create(ao));
  CAPSULE_RETURN_IF_ERROR(chain.Bind(c));
  CAPSULE_RETURN_IF_ERROR(
      ch::CheckLicenseRequestFor(r, chain.token(), std::max(now, chain.BlockTime()), o.request));
  if (!o.model.empty() && o.model != r.message.model)
    return Status(Code::Usage, o.request + ": requests model " + r.message.model + ", not " +
                                   o.model + " (--model may be left out)");
  CAPSULE_ASSIGN_OR_RETURN(ch::Access a, chain.AccessOf(r.message.holder));
  if (!a.has)
    return Status(Code::NotHolder, chain.Describe() + ": " +
                                       fmt::EvmAddressChecksum(r.message.holder) +
                                       " holds no access token for this capsule");
  *signed_request = r;  // its nonce is recorded once the licence is ready (RunIssue)
  req->model_type = r.message.model;
  fmt::PublicIdentity h;
  h.ed25519 = r.message.holder_ed25519;
  h.x25519 = r.message.holder_x25519;
  h.address = r.message.holder;
  return h;
}

int RunRequest(const RequestOpts& o, bool json) {
  namespace ch = capsule::chain;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto valid = capsule::format::ParseDuration(o.valid_for, capsule::format::DurationUnit::kSeconds);
  if (!valid.ok()) return Fail(valid.status().WithContext("--valid-for"), json);
  auto key = ResolveKey(o.key);
  if (!key.ok()) return Fail(key.status(), json);
  const std::string out = o.output;
  for (const std::string& in : {o.capsule, *key})
    if (fmt::SameFile(out, in))
      return Fail(Status(Code::SameInputOutput, out + ": would overwrite the input " + in), json);
  fmt::VerifyOptions vo;
  vo.check_payload = false;
  auto c = fmt::OpenCapsule(o.capsule, vo);
  if (!c.ok()) return Fail(c.status(), json);
  auto token = ch::TokenRefOf(c->manifest, c->manifest_bytes, c->info.id, o.capsule);
  if (!token.ok()) return Fail(token.status(), json);
  {  // a request for a model the capsule does not offer would only be refused by the issuer
    bool offered = false;
    std::string models;
    for (const auto& m : fmt::JsonAt(c->manifest, "models")) {
      const std::string type = fmt::JsonStr(m, "type");
      offered |= type == o.model;
      models += (models.empty() ? "" : ", ") + type;
    }
    if (!offered)
      return Fail(Status(Code::ModelNotOffered,
                         o.capsule + ": offers " + models + ", not " + o.model + " (--model)"),
                  json);
  }
  auto holder = fmt::LoadSecretKey(*key, fmt::DefaultPassphraseSource());
  if (!holder.ok()) return Fail(holder.status(), json);
  ch::eip712::Domain d;
  d.chain_id = token->chain_id;
  d.verifying_contract = token->contract;
  ch::eip712::LicenseRequest m;
  m.holder = holder->pub.address;
  m.holder_ed25519 = holder->pub.ed25519;
  m.holder_x25519 = holder->pub.x25519;
  m.manifest_hash = token->manifest_hash;
  m.token_id = token->token_id;
  m.model = o.model;
  m.expiry = static_cast<uint64_t>(now) + *valid;
  if (o.nonce.empty()) {
    uint8_t n[16];
    fmt::RandomBytes(n, sizeof n);
    m.nonce = *ch::U256::FromBigEndian(fmt::ByteView(n, sizeof n));
  } else if (auto n = ch::U256::FromDecimal(o.nonce)) {
    m.nonce = *n;
  } else {
    return Fail(Status(Code::Usage, "--nonce must be a decimal integer below 2^256"), json);
  }
  auto text = ch::MakeLicenseRequest(d, m, holder->secret.data() + 64);
  if (!text.ok()) return Fail(text.status(), json);
  auto file = fmt::AtomicOutput::Create(out, o.force, 0644);
  if (!file.ok()) return Fail(file.status(), json);
  Status s = file->Write(text->data(), text->size());
  if (s.ok()) s = file->Commit();
  if (!s.ok()) return Fail(s, json);
  if (json) {
    std::cout << fmt::ReportJson(nlohmann::json({{"ok", true},
                                                 {"output", out},
                                                 {"holder", fmt::EvmAddressChecksum(m.holder)},
                                                 {"token_id", m.token_id.ToDecimal()},
                                                 {"model", m.model},
                                                 {"nonce", m.nonce.ToDecimal()},
                                                 {"expiry", m.expiry}}))
              << "\n";
  } else {
    std::cout << out << ": licence request by " << fmt::EvmAddressChecksum(m.holder) << " for "
              << m.model << " of token " << m.token_id.ToDecimal() << ", valid until "
              << FormatTime(static_cast<int64_t>(m.expiry)) << "\n";
  }
  return 0;
}

int RunIssue(const IssueOpts& o, bool json) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  fmt::LicenseRequest req;
  req.model_type = o.model;
  req.plays = o.plays;
  if (!o.expires.empty()) {
    auto d = capsule::format::ParseDuration(o.expires, capsule::format::DurationUnit::kSeconds);
    if (!d.ok()) return Fail(d.status().WithContext("--expires"), json);
    req.duration_s = static_cast<int64_t>(*d);
  }
  Status s = TimeFlag("--not-before", o.not_before, now, &req.not_before);
  if (!s.ok()) return Fail(s, json);
  if (!o.not_after.empty()) {
    int64_t na = 0;
    s = TimeFlag("--not-after", o.not_after, now, &na);
    if (!s.ok()) return Fail(s, json);
    req.not_after = na;
  }
  if (o.request.empty() == o.holder.empty())
    return Fail(Status(Code::Usage, "give either --holder HOLDER.pub or --request REQ.json"), json);
  if (o.request.empty() && (!o.ledger.empty() || !o.nonce_db.empty()))
    return Fail(Status(Code::Usage,
                       "--ledger and --nonce-db apply to --request (a holder's signed request); "
                       "with --holder the issuer vouches for the holder and no chain is asked"),
                json);
  if (!o.request.empty() && !capsule::chain::ParseEvmLedgerSpec(o.ledger))
    return Fail(Status(Code::Usage,
                       "--request needs --ledger evm:URL (the chain that says "
                       "whether the requester holds the token)"),
                json);
  auto key = ResolveKey(o.issuer_key);
  if (!key.ok()) return Fail(key.status(), json);
  const std::string out = o.output.empty() ? DefaultLicenseName(o.capsule) : o.output;
  for (const std::string& in : {o.capsule, *key, o.holder, o.request})
    if (!in.empty() && fmt::SameFile(out, in))
      return Fail(Status(Code::SameInputOutput, out + ": would overwrite the input " + in), json);

  fmt::VerifyOptions vo;
  vo.check_payload = false;  // a licence binds the manifest; the payload is checked on open
  auto capsule = fmt::OpenCapsule(o.capsule, vo);
  if (!capsule.ok()) return Fail(capsule.status(), json);
  auto issuer = fmt::LoadSecretKey(*key, fmt::DefaultPassphraseSource());
  if (!issuer.ok()) return Fail(issuer.status(), json);
  capsule::chain::SignedLicenseRequest signed_request;
  capsule::Result<fmt::PublicIdentity> holder =
      o.request.empty() ? fmt::LoadPublicKey(o.holder)
                        : RequestHolder(o, *capsule, &req, now, &signed_request);
  if (!holder.ok()) return Fail(holder.status(), json);

  auto text = fmt::IssueLicense(*capsule, *issuer, *holder, req, now);
  if (!text.ok()) return Fail(text.status(), json);
  auto lic = fmt::ParseLicense(*text, out);  // what we hand out must read back
  if (!lic.ok()) return Fail(lic.status(), json);
  auto file = fmt::AtomicOutput::Create(out, o.force, 0644);
  if (!file.ok()) return Fail(file.status(), json);
  s = file->Write(text->data(), text->size());
  // The request's nonce, recorded durably (a replay is refused) just before the licence appears.
  if (s.ok() && !o.request.empty()) {
    std::string db = o.nonce_db;
    if (db.empty()) {
      s = fmt::MakeDirs(fmt::CapsuleHome());
      db = fmt::CapsuleHome() + "/license-requests.log";
    }
    if (s.ok()) s = capsule::chain::RecordRequestNonce(db, signed_request);
  }
  if (s.ok()) s = file->Commit();
  if (!s.ok()) return Fail(s, json);

  bool expired = lic->not_after && *lic->not_after + fmt::kLicenseClockSkew < now;
  if (json) {
    nlohmann::json j = {{"ok", true},
                        {"output", out},
                        {"id", lic->id},
                        {"capsule_id", fmt::HexEncode(lic->capsule_id)},
                        {"issuer", fmt::HexEncode(lic->issuer)},
                        {"holder", fmt::EvmAddressChecksum(lic->holder_address)},
                        {"model", lic->model},
                        {"not_before", lic->not_before},
                        {"not_after", lic->body["not_after"]},
                        {"expired", expired}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << out << ": licence " << lic->id << " for "
              << fmt::EvmAddressChecksum(lic->holder_address) << "\n  "
              << fmt::DescribeLicenseModel(lic->model) << ", valid " << FormatTime(lic->not_before)
              << " → " << (lic->not_after ? FormatTime(*lic->not_after) : "no end") << "\n";
  }
  if (expired)
    std::cerr << "capsulec: warning: this licence has already expired (not_after "
              << FormatTime(*lic->not_after) << ")\n";
  return 0;
}

int RunInspect(const InspectOpts& o, bool json) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  int64_t at = now;
  Status s = TimeFlag("--at", o.at, now, &at);
  if (!s.ok()) return Fail(s, json);
  auto text = fmt::ReadLicenseFile(o.license);
  if (!text.ok()) return Fail(text.status(), json);
  auto lic = fmt::ParseLicenseUnverified(*text, o.license);
  if (!lic.ok()) return Fail(lic.status(), json);
  Status sig = fmt::VerifyLicenseSignature(*lic, o.license);

  std::optional<fmt::OpenedCapsule> capsule;
  if (!o.capsule.empty()) {
    fmt::VerifyOptions vo;
    vo.check_payload = false;
    auto c = fmt::OpenCapsule(o.capsule, vo);
    if (!c.ok()) return Fail(c.status(), json);
    capsule = std::move(*c);
  }
  std::optional<fmt::PublicIdentity> holder;
  if (!o.holder.empty()) {
    auto h = fmt::LoadPublicKey(o.holder);
    if (!h.ok()) return Fail(h.status(), json);
    holder = *h;
  }
  auto checks =
      fmt::ExplainLicense(*lic, capsule ? &*capsule : nullptr, holder ? &*holder : nullptr, at);
  Status first = sig;
  for (const auto& c : checks)
    if (first.ok() && !c.status.ok()) first = c.status.WithContext(o.license);

  if (json) {
    nlohmann::json jc = nlohmann::json::array();
    for (const auto& c : checks) {
      nlohmann::json e = {{"check", c.name}, {"ok", c.status.ok()}};
      if (!c.status.ok()) {
        e["code"] = std::string(capsule::ReasonCode(c.status.code()));
        e["message"] = c.status.detail();
      }
      jc.push_back(e);
    }
    nlohmann::json j = {
        {"ok", first.ok()},
        {"path", o.license},
        {"license", lic->body},
        {"signature",
         {{"alg", "ed25519"}, {"key", fmt::HexEncode(lic->issuer)}, {"valid", sig.ok()}}},
        {"at", at},
        {"checks", jc}};
    if (!first.ok())
      j["error"] = {{"code", std::string(capsule::ReasonCode(first.code()))},
                    {"exit_code", capsule::ExitCode(first.code())},
                    {"message", first.detail()}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    auto row = [](const char* k, const std::string& v) {
      std::cout << "  " << k << std::string(12 - std::string(k).size(), ' ') << v << "\n";
    };
    std::cout << o.license << ": licence " << lic->id << " (version 1)\n";
    row("signature", sig.ok() ? "valid (Ed25519, by the issuer below)"
                              : "INVALID: nothing below can be believed");
    row("capsule", fmt::HexEncode(lic->capsule_id));
    row("manifest", "sha256 " + fmt::HexEncode(lic->manifest_sha256));
    row("issuer", "ed25519 " + fmt::HexEncode(lic->issuer));
    row("holder", fmt::EvmAddressChecksum(lic->holder_address));
    row("", "ed25519 " + fmt::HexEncode(lic->holder_ed25519));
    row("", "x25519  " + fmt::HexEncode(lic->holder_x25519));
    row("model", fmt::DescribeLicenseModel(lic->model));
    row("valid", FormatTime(lic->not_before) + " → " +
                     (lic->not_after ? FormatTime(*lic->not_after) : std::string("no end")));
    row("issued", FormatTime(lic->issued_at));
    row("sealed key",
        std::to_string(lic->sealed_key.size()) + " bytes, for the holder's X25519 key");
    std::cout << "checks at " << FormatTime(at) << ":\n";
    for (const auto& c : checks)
      row(c.name.c_str(), c.status.ok() ? std::string("ok") : c.status.ToString());
    if (!capsule) row("", "(issuer, capsule and model need --capsule)");
    if (!holder) row("", "(holder needs --holder)");
  }
  if (!first.ok()) {
    std::cerr << "capsulec: " << first.ToString() << "\n";
    return capsule::ExitCode(first.code());
  }
  return 0;
}

}  // namespace

void RegisterLicense(CLI::App& root, Command& cmd) {
  auto io = std::make_shared<IssueOpts>();
  auto no = std::make_shared<InspectOpts>();
  cmd.app = root.add_subcommand("license", "Issue or inspect a licence for a capsule");
  cmd.app->require_subcommand(1);
  cmd.app->footer(
      "A licence lets one holder open one capsule under one business model the capsule's\n"
      "manifest offers, for a window of time. See docs/spec/license.md.\n\n"
      "Examples:\n"
      "  capsulec license issue song.capsule.wasm --holder bob.pub --model rental --expires 48h\n"
      "  capsulec license inspect song.lic --capsule song.capsule.wasm --holder bob.pub");

  CLI::App* issue = cmd.app->add_subcommand("issue", "Issue a licence (you must be an issuer)");
  issue->footer(
      "The issuer key must be one of the capsule's issuers (the creator always is; pack adds\n"
      "more with --issuer): it opens its sealed content key and re-seals it to the holder's\n"
      "X25519 key. The model must be one the manifest offers; its terms are the offer's, or\n"
      "lower ones with --expires (rental duration, subscription period) or --plays\n"
      "(pay_per_view). A rental or subscription ends --expires after --not-before; a rental\n"
      "counted from the first play has no fixed end (the runtime ends it). Other models have\n"
      "no end unless --not-after. Times: now, @UNIX-SECONDS, YYYY-MM-DD (UTC) or\n"
      "YYYY-MM-DDTHH:MM[:SS] with Z or ±HH:MM. Output: CAPSULE's name with .lic instead of\n"
      ".capsule.wasm, in the current directory (mode 0644: the key in it is sealed).\n\n"
      "Examples:\n"
      "  capsulec license issue song.capsule.wasm --holder bob.pub --model rental --expires 48h\n"
      "  capsulec license issue song.capsule.wasm --issuer-key shop.key --holder bob.pub \\\n"
      "      --model pay_per_view --plays 3 -o bob.lic --json\n"
      "  capsulec license issue song.capsule.wasm --request bob.req.json \\\n"
      "      --ledger evm:https://api.elastos.io/esc -o bob.lic");
  issue->add_option("CAPSULE", io->capsule, "the capsule to license")
      ->required()
      ->check(CLI::ExistingFile);
  issue->add_option("--issuer-key,-k", io->issuer_key,
                    "an issuer's secret key (default: your identity)");
  issue->add_option("--holder", io->holder, "the holder's public key (.pub)")
      ->check(CLI::ExistingFile);
  issue
      ->add_option("--request", io->request,
                   "a holder's signed licence request (capsulec license request) instead of "
                   "--holder; needs --ledger evm:URL")
      ->check(CLI::ExistingFile);
  issue->add_option("--ledger", io->ledger, "with --request: evm:URL, the capsule's chain");
  issue
      ->add_option("--confirmations", io->confirmations,
                   "with --request: read the chain this many blocks behind the head")
      ->default_val(io->confirmations)
      ->check(CLI::NonNegativeNumber);
  issue->add_option("--rpc-timeout-ms", io->rpc_timeout_ms, "time limit of each JSON-RPC request")
      ->default_val(io->rpc_timeout_ms)
      ->check(CLI::Range(100, 600000));
  issue->add_option("--nonce-db", io->nonce_db,
                    "with --request: file of used request nonces (default "
                    "$CAPSULE_HOME/license-requests.log)");
  // An unknown model name is a mistake on the command line (usage), not a model the capsule
  // does not offer (model-not-offered, 7).
  const std::vector<std::string> kModels = {"buy",          "resale", "pay_per_view", "rental",
                                            "subscription", "free",   "free_with_ads"};
  issue
      ->add_option("--model", io->model,
                   "business model: buy, resale, pay_per_view, rental, subscription, free, "
                   "free_with_ads (required with --holder; with --request, the request's)")
      ->check(CLI::IsMember(kModels));
  issue->add_option("--expires", io->expires,
                    "rental duration or subscription period, e.g. 48h (default and maximum: the "
                    "offer's)");
  issue->add_option("--plays", io->plays, "pay_per_view plays (default and maximum: the offer's)");
  issue->add_option("--not-before", io->not_before, "start of validity (default: now)");
  issue->add_option("--not-after", io->not_after,
                    "end of validity, for models without a fixed one (buy, pay_per_view, …)");
  issue->add_option("-o,--output", io->output, "where to write the licence");
  issue->add_flag("--force", io->force, "replace an existing output");
  issue->add_flag("--json", cmd.json, "print the result as JSON");

  auto ro = std::make_shared<RequestOpts>();
  CLI::App* request = cmd.app->add_subcommand(
      "request", "Ask for a licence: an EIP-712 request signed with your key's EVM address");
  request->footer(
      "Writes a request an issuer turns into a licence with `capsulec license issue --request`.\n"
      "It is EIP-712 typed data (the form eth_signTypedData_v4 takes) signed by your key file's\n"
      "secp256k1 key: the address that must hold the capsule's access token on its chain. It\n"
      "binds your Ed25519 and X25519 keys, the capsule's manifest hash, token, chain and\n"
      "contract, the model, a nonce (random unless --nonce) and an expiry (--valid-for). See\n"
      "docs/spec/chain.md §6.\n\n"
      "Example:\n"
      "  capsulec license request song.capsule.wasm --key bob.key --model buy -o bob.req.json");
  request->add_option("CAPSULE", ro->capsule, "the capsule you want to open")
      ->required()
      ->check(CLI::ExistingFile);
  request->add_option("--key,-k", ro->key, "your secret key (default: your identity)");
  request->add_option("--model", ro->model, "the business model you hold a token for")
      ->required()
      ->check(CLI::IsMember(kModels));
  request->add_option("--nonce", ro->nonce, "a decimal nonce (default: random 128 bits)");
  request->add_option("--valid-for", ro->valid_for, "how long the request stays valid (e.g. 1h)")
      ->default_val(ro->valid_for);
  request->add_option("-o,--output", ro->output, "where to write the request")->required();
  request->add_flag("--force", ro->force, "replace an existing output");
  request->add_flag("--json", cmd.json, "print the result as JSON");

  CLI::App* inspect = cmd.app->add_subcommand("inspect", "Show a licence and check it");
  inspect->footer(
      "Shows the licence and whether its signature is valid; with --capsule and --holder also\n"
      "the checks a runtime makes (issuer listed, capsule and manifest, holder keys, model\n"
      "within the offer) and, always, whether the window is open at --at (default: now,\n"
      "with 300 s of clock skew). Exits 0 only when every check made passed; otherwise with the\n"
      "first failure's exit code (5 bad signature, 7 refused).\n\n"
      "Examples:\n"
      "  capsulec license inspect bob.lic\n"
      "  capsulec license inspect bob.lic --capsule song.capsule.wasm --holder bob.pub --json");
  inspect->add_option("LICENSE", no->license, "licence file")->required()->check(CLI::ExistingFile);
  inspect->add_option("--capsule", no->capsule, "check the licence against this capsule")
      ->check(CLI::ExistingFile);
  inspect->add_option("--holder", no->holder, "check the licence against this holder (.pub)")
      ->check(CLI::ExistingFile);
  inspect->add_option("--at", no->at, "check the window at this time (default: now)");
  inspect->add_flag("--json", cmd.json, "print the report as JSON");

  cmd.run = [io, no, ro, issue, request, inspect, &cmd]() {
    if (issue->parsed()) {
      if (io->request.empty() && io->model.empty())
        return Fail(Status(Code::Usage, "license issue: --model is required with --holder"),
                    cmd.json);
      return RunIssue(*io, cmd.json);
    }
    if (request->parsed()) return RunRequest(*ro, cmd.json);
    if (inspect->parsed()) return RunInspect(*no, cmd.json);
    return 2;
  };
}

}  // namespace capsulec

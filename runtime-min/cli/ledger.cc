// capsule-run ledger grant|revoke|transfer: manage a file ledger (development and tests) so that
// nobody hand-edits its JSON (format: docs/spec/ledger.md). Thin: flags → runtime-min/ledger.h
// → text or --json.
//
// Invariants and why:
//  - --capsule FILE is verified (format::OpenCapsule, payload included) before its id is
//    used: a grant is never recorded for a capsule whose signature does not hold. A bare
//    32-hex-digit id is taken as given (for capsules not at hand), only when no such file exists.
//  - Holders are EVM addresses (DESIGN §9.6): --holder/--to take a .pub (or .key) file, resolved
//    to its secp256k1 address, or a 0x address (EIP-55 checked when mixed case).
//  - Times are Unix seconds from the system clock; --expires is relative (30d, 1h30m) or absolute
//    (@UNIX, 2027-01-01, 2027-01-01T00:00:00Z, …+02:00). An expiry already past is recorded
//    (tests need expired grants) and warned about on stderr.
//  - Every failure goes through Fail() (documented exit code, reason code with --json).
#include "runtime-min/ledger.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "format/bytes.h"
#include "format/canonical_json.h"
#include "format/container.h"
#include "format/crypto.h"
#include "format/file.h"
#include "format/keys.h"
#include "format/time.h"
#include "runtime-min/cli/cli.h"

namespace capsule_run {
namespace {

namespace fmt = capsule::format;
namespace rt = capsule::runtime;
using capsule::Code;
using capsule::Result;
using capsule::Status;

struct LedgerOpts {
  std::string ledger, capsule, holder, to, expires;
};

bool IsHex(const std::string& s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

Result<rt::CapsuleIdBytes> ResolveCapsule(const std::string& arg) {
  rt::CapsuleIdBytes id{};
  if (arg.size() == 32 && IsHex(arg) && !fmt::FileExists(arg)) {
    auto b = fmt::HexDecode(arg);
    if (!b || b->size() != id.size()) return Status(Code::Usage, "--capsule: bad capsule id");
    std::copy(b->begin(), b->end(), id.begin());
    return id;
  }
  if (!fmt::FileExists(arg))
    return Status(Code::IoOpen,
                  arg + ": no such file (--capsule takes a capsule file or a 32-hex-digit id)");
  fmt::VerifyOptions opts;
  opts.check_payload = true;
  CAPSULE_ASSIGN_OR_RETURN(fmt::OpenedCapsule c, fmt::OpenCapsule(arg, opts));
  return c.info.id;
}

Result<rt::Address> ResolveHolder(const std::string& arg, const std::string& flag) {
  rt::Address a{};
  const bool hex = arg.rfind("0x", 0) == 0 || arg.rfind("0X", 0) == 0;
  if (hex && (arg.size() == 42 || !fmt::FileExists(arg))) {
    auto b = fmt::ParseEvmAddress(arg);
    if (!b || b->size() != a.size())
      return Status(Code::BadAddress, flag + " " + arg +
                                          ": not an EVM address (0x + 40 hex digits; mixed case "
                                          "must carry a valid EIP-55 checksum)");
    std::copy(b->begin(), b->end(), a.begin());
    return a;
  }
  auto id = fmt::LoadPublicKey(arg);
  if (!id.ok()) return id.status().WithContext(flag);
  return id->address;
}

Result<int64_t> ParseExpiry(const std::string& text, int64_t now) {
  // A duration as everywhere else (format/time.h), or a time.
  if (auto d = fmt::ParseDuration(text, fmt::DurationUnit::kSeconds); d.ok())
    return now + static_cast<int64_t>(*d);
  if (auto t = fmt::ParseUtcTime(text)) return *t;
  return Status(Code::BadDuration, "--expires " + text +
                                       ": neither a duration (30d, 48h, 1h30m) nor a time "
                                       "(2027-01-01T00:00:00Z, 2027-01-01, @1798761600)");
}

nlohmann::json ExpiresJson(const std::optional<int64_t>& e) {
  return e ? nlohmann::json(*e) : nlohmann::json(nullptr);
}
std::string ExpiresText(const std::optional<int64_t>& e) {
  return e ? "until " + fmt::FormatUtcTime(*e) : "with no expiry";
}

// Validates --ledger through OpenLedger (one set of messages for every scheme) and returns PATH.
Result<std::string> LedgerPath(const std::string& spec) {
  CAPSULE_ASSIGN_OR_RETURN(std::unique_ptr<rt::Ledger> l, rt::OpenLedger(spec));
  (void)l;
  return spec.substr(5);  // OpenLedger accepted it, so it is "file:PATH"
}

CLI::App* AddChange(CLI::App* parent, const char* name, const char* what, const char* example,
                    LedgerOpts& o, Command& cmd, bool to, bool expires) {
  CLI::App* app = parent->add_subcommand(name, what);
  app->footer(example);
  app->add_option("--ledger", o.ledger, "file:PATH — the ledger (created by the first grant)")
      ->required();
  app->add_option("--capsule", o.capsule, "capsule file (verified) or its 32-hex-digit id")
      ->required();
  app->add_option("--holder", o.holder, "holder: a .pub file or a 0x EVM address")->required();
  if (to) app->add_option("--to", o.to, "recipient: a .pub file or a 0x EVM address")->required();
  if (expires)
    app->add_option("--expires", o.expires,
                    "end of the grant: a duration from now (30d, 48h, 1h30m) or a time "
                    "(2027-01-01T00:00:00Z, 2027-01-01, @UNIX); default: no expiry");
  app->add_flag("--json", cmd.json, "print the result as JSON");
  return app;
}

}  // namespace

void RegisterLedger(CLI::App& root, Command& cmd) {
  auto o = std::make_shared<LedgerOpts>();
  cmd.app = root.add_subcommand(
      "ledger", "Manage a file ledger: who holds a capsule's access token (development, tests)");
  cmd.app->require_subcommand(1);
  cmd.app->footer(
      "The file ledger stands in for the chain during development and tests; holders are EVM\n"
      "addresses, as on the chain. Format, locking and crash safety: docs/spec/ledger.md.\n\n"
      "Examples:\n"
      "  capsule-run ledger grant --ledger file:ledger.json --capsule song.capsule.wasm "
      "--holder bob.pub --expires 30d\n"
      "  capsule-run ledger transfer --ledger file:ledger.json --capsule song.capsule.wasm "
      "--holder bob.pub --to carol.pub\n"
      "  capsule-run ledger revoke --ledger file:ledger.json --capsule song.capsule.wasm "
      "--holder carol.pub");
  CLI::App* grant = AddChange(
      cmd.app, "grant", "Give a holder the capsule's token (again: replaces its expiry)",
      "Example:\n  capsule-run ledger grant --ledger file:ledger.json --capsule song.capsule.wasm "
      "--holder bob.pub --expires 2027-01-01T00:00:00Z --json",
      *o, cmd, /*to=*/false, /*expires=*/true);
  CLI::App* revoke = AddChange(
      cmd.app, "revoke", "Take a holder's token away (an error if there is none)",
      "Example:\n  capsule-run ledger revoke --ledger file:ledger.json --capsule "
      "00112233445566778899aabbccddeeff --holder 0x52908400098527886E0F7030069857D2E4169EE7",
      *o, cmd, false, false);
  CLI::App* transfer = AddChange(
      cmd.app, "transfer", "Move a holder's token to another holder (the expiry moves with it)",
      "Example:\n  capsule-run ledger transfer --ledger file:ledger.json --capsule "
      "song.capsule.wasm --holder bob.pub --to carol.pub",
      *o, cmd, /*to=*/true, false);

  cmd.run = [o, &cmd, grant, revoke, transfer]() {
    const bool json = cmd.json;
    fmt::CryptoInit();
    auto path = LedgerPath(o->ledger);
    if (!path.ok()) return Fail(path.status(), json);
    auto capsule = ResolveCapsule(o->capsule);
    if (!capsule.ok()) return Fail(capsule.status(), json);
    auto holder = ResolveHolder(o->holder, "--holder");
    if (!holder.ok()) return Fail(holder.status(), json);

    rt::LedgerChange c;
    c.path = *path;
    c.capsule = *capsule;
    c.holder = *holder;
    c.now = static_cast<int64_t>(std::time(nullptr));
    const std::string capsule_hex = fmt::HexEncode(c.capsule);
    const std::string holder_addr = fmt::EvmAddressChecksum(c.holder);
    nlohmann::json out = {{"ok", true}, {"ledger", o->ledger}, {"capsule", capsule_hex}};

    if (grant->parsed()) {
      if (!o->expires.empty()) {
        auto e = ParseExpiry(o->expires, c.now);
        if (!e.ok()) return Fail(e.status(), json);
        c.expires = *e;
      }
      Status s = rt::LedgerGrant(c);
      if (!s.ok()) return Fail(s, json);
      bool past = c.expires && *c.expires <= c.now;
      if (past)
        std::cerr << "capsule-run: warning: this grant has already expired ("
                  << fmt::FormatUtcTime(*c.expires) << ")\n";
      out["action"] = "grant";
      out["holder"] = holder_addr;
      out["expires"] = ExpiresJson(c.expires);
      out["expired"] = past;
      if (!json)
        std::cout << "granted capsule " << capsule_hex << " to " << holder_addr << " "
                  << ExpiresText(c.expires) << " in " << o->ledger << "\n";
    } else if (revoke->parsed()) {
      Status s = rt::LedgerRevoke(c);
      if (!s.ok()) return Fail(s, json);
      out["action"] = "revoke";
      out["holder"] = holder_addr;
      if (!json)
        std::cout << "revoked capsule " << capsule_hex << " from " << holder_addr << " in "
                  << o->ledger << "\n";
    } else if (transfer->parsed()) {
      auto to = ResolveHolder(o->to, "--to");
      if (!to.ok()) return Fail(to.status(), json);
      c.to = *to;
      Status s = rt::LedgerTransfer(c);
      if (!s.ok()) return Fail(s, json);
      // Report the expiry that travelled with the token (read back, not guessed).
      std::optional<int64_t> expires;
      if (auto l = rt::OpenLedger(o->ledger); l.ok())
        if (auto h = l.value()->Holds(c.capsule, *c.to, c.now); h.ok()) expires = h->expires;
      const std::string to_addr = fmt::EvmAddressChecksum(*c.to);
      out["action"] = "transfer";
      out["from"] = holder_addr;
      out["to"] = to_addr;
      out["expires"] = ExpiresJson(expires);
      if (!json)
        std::cout << "transferred capsule " << capsule_hex << " from " << holder_addr << " to "
                  << to_addr << " " << ExpiresText(expires) << " in " << o->ledger << "\n";
    } else {
      return Fail(Status(Code::Usage, "ledger: give grant, revoke or transfer"), json);
    }
    if (json) std::cout << fmt::ReportJson(out) << "\n";
    return 0;
  };
}

}  // namespace capsule_run

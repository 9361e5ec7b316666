// The file ledger (docs/spec/ledger.md): a JSON list of grants — (capsule id, holder address,
// granted_at, expires) — for development and tests; the chain ledger replaces it later.
//
// Invariants and why:
//  - The file on disk is always a complete, valid ledger: every change is written to a temporary
//    file in the same directory, fsync'd, renamed over the ledger and the directory fsync'd, so a
//    crash leaves the old or the new ledger, never a torn one.
//  - Changes are serialized by an exclusive flock on PATH.lock (not on the ledger itself: rename
//    replaces the ledger's inode, so a lock on it would guard nothing). Readers take a shared lock;
//    when the lock file cannot be created (read-only directory) they read without it, which is
//    still safe because rename is atomic.
//  - Parsing is strict (unknown or duplicate keys, wrong types, non-canonical hex, duplicate grants
//    are LedgerMalformed naming the file and the fault) and a change to a malformed ledger is
//    refused: the tool never "repairs" a file by dropping what it did not understand.
//  - Output is deterministic: grants sorted by (capsule, holder), keys sorted, 2-space indent.
//  - No exceptions escape: JSON is parsed with allow_exceptions=false (and a SAX pass that finds
//    syntax errors with their position and duplicate keys).
#include "runtime-min/ledger.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <utility>

#include "format/bytes.h"
#include "format/canonical_json.h"
#include "format/file.h"
#include "runtime-min/posix_fd.h"

namespace capsule::runtime {
namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "capsule-file-ledger";
constexpr int64_t kVersion = 1;
constexpr size_t kMaxLedgerBytes = 64u << 20;

std::string DirOf(const std::string& p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

Status Malformed(const std::string& path, const std::string& reason) {
  return Status(Code::LedgerMalformed, path + ": " + reason);
}

// Locks PATH.lock. Exclusive: created when absent, blocking. Shared: created when possible; when
// the directory does not allow it, an unlocked read is returned (Fd(-1)).
Result<Fd> LockLedger(const std::string& path, bool exclusive) {
  std::string lock_path = path + ".lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && !exclusive) {
    fd = open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == ENOENT)) return Fd();
  }
  if (fd < 0) return Status(Code::IoOpen, lock_path + ": cannot open the ledger lock: " + Errno());
  Fd owned(fd);
  while (flock(owned.get(), exclusive ? LOCK_EX : LOCK_SH) != 0) {
    if (errno != EINTR) return Status(Code::IoOpen, lock_path + ": cannot lock: " + Errno());
  }
  return owned;
}

// The file's bytes, or nullopt when it does not exist.
Result<std::optional<std::string>> ReadIfExists(const std::string& path) {
  int raw = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status(Code::IoOpen, path + ": cannot open: " + Errno());
  }
  Fd fd(raw);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status(Code::IoRead, path + ": " + Errno());
  if (!S_ISREG(st.st_mode)) return Status(Code::IoOpen, path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxLedgerBytes)
    return Malformed(path, "larger than " + std::to_string(kMaxLedgerBytes) + " bytes");
  std::string s(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < s.size()) {
    ssize_t got = pread(fd.get(), s.data() + done, s.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Status(Code::IoRead, path + ": read failed: " + Errno());
    if (got == 0) return Status(Code::IoRead, path + ": file shrank while reading");
    done += static_cast<size_t>(got);
  }
  return std::optional<std::string>(std::move(s));
}

// Temp file beside `path` → fsync → rename → fsync the directory. The temporary is removed on
// any failure; `path` is then untouched.
Status WriteDurably(const std::string& path, const std::string& data, mode_t mode) {
  std::string dir = DirOf(path);
  std::string tmpl = format::TemporaryTemplate(path);
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int raw = mkostemp(name.data(), O_CLOEXEC);
  if (raw < 0)
    return Status(Code::IoWrite,
                  path + ": cannot create a temporary file in " + dir + ": " + Errno());
  std::string temp = name.data();
  Fd fd(raw);
  auto fail = [&](Code code, const std::string& what) {
    std::string why = Errno();
    unlink(temp.c_str());
    return Status(code, path + ": " + what + ": " + why);
  };
  if (fchmod(fd.get(), mode) != 0) return fail(Code::IoWrite, "chmod of the temporary failed");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = write(fd.get(), data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return fail(Code::IoWrite, "write failed");
    done += static_cast<size_t>(w);
  }
  if (fsync(fd.get()) != 0) return fail(Code::IoWrite, "fsync failed");
  fd = Fd();  // close before the rename
  if (rename(temp.c_str(), path.c_str()) != 0) return fail(Code::IoRename, "rename failed");
  Fd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || fsync(dfd.get()) != 0)
    return Status(Code::IoWrite, dir + ": fsync of the directory failed: " + Errno());
  return Status::Ok();
}

// A SAX pass: the first syntax error with its position, and the first duplicate key (which
// nlohmann's DOM parser would silently collapse).
class StrictChecker {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(number_integer_t) { return true; }
  bool number_unsigned(number_unsigned_t) { return true; }
  bool number_float(number_float_t, const string_t&) { return true; }
  bool string(string_t&) { return true; }
  bool binary(binary_t&) { return true; }
  bool start_object(std::size_t) {
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) {
    if (!keys_.back().insert(k).second) {
      error = "duplicate key \"" + k + "\"";
      return false;
    }
    return true;
  }
  bool end_object() {
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    error = ex.what();
    return false;
  }

  std::string error;

 private:
  std::vector<std::set<std::string>> keys_;
};

bool IsLowerHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::optional<int64_t> AsInt64(const json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

struct Grant {
  int64_t granted_at = 0;
  std::optional<int64_t> expires;
};
using GrantKey = std::pair<CapsuleIdBytes, Address>;
// std::array compares bytewise, so this order equals the order of the lowercase hex strings.
using Grants = std::map<GrantKey, Grant>;

std::string CapsuleHex(const CapsuleIdBytes& c) { return format::HexEncode(c); }
std::string AddressHex(const Address& a) { return format::EvmAddressLower(a); }

Result<Grants> ParseLedger(const std::string& text, const std::string& path) {
  if (format::HasNulByte(text)) return Malformed(path, "not valid JSON (a NUL byte)");
  StrictChecker checker;
  if (!json::sax_parse(text, &checker) || !checker.error.empty())
    return Malformed(path,
                     "not valid JSON: " + (checker.error.empty() ? "parse error" : checker.error));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Malformed(path, "not valid JSON");
  if (!j.is_object()) return Malformed(path, "the top level is not a JSON object");
  for (const auto& [k, v] : j.items())
    if (k != "format" && k != "version" && k != "grants")
      return Malformed(path, "unknown key \"" + k + "\" (expected format, version, grants)");
  if (!j.contains("format") || !j["format"].is_string() ||
      j["format"].get<std::string>() != kFormat)
    return Malformed(path, "\"format\" is not \"" + std::string(kFormat) + "\"");
  if (!j.contains("version")) return Malformed(path, "\"version\" is missing");
  auto version = AsInt64(j["version"]);
  if (!version) return Malformed(path, "\"version\" is not an integer");
  if (*version != kVersion)
    return Malformed(path, "unsupported version " + std::to_string(*version) +
                               " (this runtime reads version 1)");
  if (!j.contains("grants") || !j["grants"].is_array())
    return Malformed(path, "\"grants\" is missing or not an array");

  Grants grants;
  size_t i = 0;
  for (const json& g : j["grants"]) {
    std::string where = "grants[" + std::to_string(i++) + "]";
    if (!g.is_object()) return Malformed(path, where + " is not an object");
    for (const auto& [k, v] : g.items())
      if (k != "capsule" && k != "holder" && k != "granted_at" && k != "expires")
        return Malformed(path, where + ": unknown key \"" + k + "\"");
    for (const char* k : {"capsule", "holder", "granted_at", "expires"})
      if (!g.contains(k)) return Malformed(path, where + ": \"" + k + "\" is missing");

    const json& c = g["capsule"];
    if (!c.is_string() || c.get<std::string>().size() != 32 || !IsLowerHex(c.get<std::string>()))
      return Malformed(path, where + ": \"capsule\" is not 32 lowercase hex digits");
    const json& h = g["holder"];
    std::string hs = h.is_string() ? h.get<std::string>() : "";
    if (hs.size() != 42 || hs.compare(0, 2, "0x") != 0 || !IsLowerHex(hs.substr(2)))
      return Malformed(path, where + ": \"holder\" is not 0x followed by 40 lowercase hex digits");
    auto granted_at = AsInt64(g["granted_at"]);
    if (!granted_at || *granted_at < 0)
      return Malformed(path, where + ": \"granted_at\" is not a non-negative integer");
    Grant grant;
    grant.granted_at = *granted_at;
    if (!g["expires"].is_null()) {
      auto e = AsInt64(g["expires"]);
      if (!e || *e < 0)
        return Malformed(path, where + ": \"expires\" is neither null nor a non-negative integer");
      grant.expires = *e;
    }

    GrantKey key;
    auto cb = format::HexDecode(c.get<std::string>());
    auto hb = format::HexDecode(hs.substr(2));
    if (!cb || !hb) return Malformed(path, where + ": bad hex");  // unreachable after the checks
    std::memcpy(key.first.data(), cb->data(), key.first.size());
    std::memcpy(key.second.data(), hb->data(), key.second.size());
    if (!grants.emplace(key, grant).second)
      return Malformed(path, where + ": a second grant for capsule " + c.get<std::string>() +
                                 " and holder " + hs);
  }
  return grants;
}

std::string SerializeLedger(const Grants& grants) {
  json list = json::array();
  for (const auto& [key, g] : grants) {
    json e = {{"capsule", CapsuleHex(key.first)},
              {"holder", AddressHex(key.second)},
              {"granted_at", g.granted_at},
              {"expires", g.expires ? json(*g.expires) : json(nullptr)}};
    list.push_back(std::move(e));
  }
  json j = {{"format", kFormat}, {"version", kVersion}, {"grants", std::move(list)}};
  return j.dump(2) + "\n";  // nlohmann's object is a std::map: keys come out sorted
}

// Reads the ledger under a lock already held. nullopt: the file does not exist.
Result<std::optional<Grants>> Load(const std::string& path) {
  CAPSULE_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadIfExists(path));
  if (!text) return std::optional<Grants>();
  CAPSULE_ASSIGN_OR_RETURN(Grants g, ParseLedger(*text, path));
  return std::optional<Grants>(std::move(g));
}

// Runs `change` on the grants under the exclusive lock and writes the result durably.
// `must_exist`: a missing ledger is an error (revoke, transfer) rather than an empty one.
template <typename F>
Status Modify(const std::string& path, bool must_exist, F change) {
  if (path.empty()) return Status(Code::Usage, "no ledger path given (use file:PATH)");
  const Status missing(
      Code::IoOpen, path + ": the ledger does not exist (`capsule-run ledger grant` creates it)");
  struct stat st;
  // Checked before the lock too, so that a refused change leaves no PATH.lock behind.
  if (must_exist && stat(path.c_str(), &st) != 0 && errno == ENOENT) return missing;
  CAPSULE_ASSIGN_OR_RETURN(Fd lock, LockLedger(path, /*exclusive=*/true));
  CAPSULE_ASSIGN_OR_RETURN(std::optional<Grants> loaded, Load(path));
  if (!loaded && must_exist) return missing;
  Grants grants = loaded ? std::move(*loaded) : Grants();
  CAPSULE_RETURN_IF_ERROR(change(grants));
  mode_t mode = 0644;
  if (stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;
  return WriteDurably(path, SerializeLedger(grants), mode);
}

std::string Who(const CapsuleIdBytes& c, const Address& h) {
  return "capsule " + CapsuleHex(c) + ", holder " + AddressHex(h);
}

class FileLedger final : public Ledger {
 public:
  explicit FileLedger(std::string path) : path_(std::move(path)) {}

  Result<Holding> Holds(const CapsuleIdBytes& capsule, const Address& holder,
                        int64_t now) override {
    Holding h;
    struct stat st;
    if (stat(path_.c_str(), &st) != 0 && errno == ENOENT) return h;  // no ledger: nobody holds
    CAPSULE_ASSIGN_OR_RETURN(Fd lock, LockLedger(path_, /*exclusive=*/false));
    CAPSULE_ASSIGN_OR_RETURN(std::optional<Grants> grants, Load(path_));
    if (!grants) return h;
    auto it = grants->find({capsule, holder});
    if (it == grants->end()) return h;
    h.granted_at = it->second.granted_at;
    h.expires = it->second.expires;
    h.expired = h.expires && now >= *h.expires;
    h.holds = !h.expired;
    return h;
  }

  std::string Describe() const override { return "file:" + path_; }

 private:
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& spec) {
  if (spec.rfind("file:", 0) == 0) {
    std::string path = spec.substr(5);
    if (path.empty()) return Status(Code::Usage, "ledger \"file:\" names no file (use file:PATH)");
    return std::unique_ptr<Ledger>(std::make_unique<FileLedger>(path));
  }
  if (spec.rfind("evm:", 0) == 0)
    return Status(Code::Usage, spec +
                                   ": the chain ledger is read by `capsule-run open` and `test` "
                                   "and changed only by transactions on its contract (mint, "
                                   "transfer, user records); this command takes file:PATH");
  return Status(Code::Usage, "unknown ledger \"" + spec + "\"; supported: file:PATH, evm:URL");
}

Status LedgerGrant(const LedgerChange& c) {
  return Modify(c.path, /*must_exist=*/false, [&](Grants& g) {
    auto [it, inserted] = g.try_emplace({c.capsule, c.holder}, Grant{c.now, c.expires});
    if (!inserted) it->second.expires = c.expires;  // granted_at records the first grant
    return Status::Ok();
  });
}

Status LedgerRevoke(const LedgerChange& c) {
  return Modify(c.path, /*must_exist=*/true, [&](Grants& g) {
    if (g.erase({c.capsule, c.holder}) == 0)
      return Status(Code::NotHolder,
                    c.path + ": no grant to revoke for " + Who(c.capsule, c.holder));
    return Status::Ok();
  });
}

Status LedgerTransfer(const LedgerChange& c) {
  if (!c.to) return Status(Code::Usage, "transfer needs a recipient (--to)");
  if (*c.to == c.holder)
    return Status(Code::Usage, "transfer to the same holder " + AddressHex(c.holder));
  return Modify(c.path, /*must_exist=*/true, [&](Grants& g) {
    auto from = g.find({c.capsule, c.holder});
    if (from == g.end())
      return Status(Code::NotHolder,
                    c.path + ": nothing to transfer: no grant for " + Who(c.capsule, c.holder));
    Grant moved = from->second;
    if (moved.expires && c.now >= *moved.expires)
      return Status(Code::NotHolder, c.path + ": nothing to transfer: the grant for " +
                                         Who(c.capsule, c.holder) + " expired at " +
                                         std::to_string(*moved.expires));
    auto to = g.find({c.capsule, *c.to});
    if (to != g.end() && !(to->second.expires && c.now >= *to->second.expires))
      return Status(Code::Usage, c.path + ": " + AddressHex(*c.to) + " already holds capsule " +
                                     CapsuleHex(c.capsule) + "; revoke that grant first");
    g.erase(from);
    moved.granted_at = c.now;  // when the recipient received it; the expiry travels unchanged
    g[{c.capsule, *c.to}] = moved;
    return Status::Ok();
  });
}

}  // namespace capsule::runtime

// The local state store (docs/spec/ledger.md, "State store"): play counts and first-play times
// per (capsule, holder, licence), and the store-wide last-seen time for the clock rule.
//
// On disk, under DIR (0700):
//   lock                      store lock: shared to read the manifest, exclusive to change it
//   store.key                 32 random bytes (0600), the per-store HMAC key
//   manifest.SEQ.json         the live manifest (the highest SEQ): seq, last_seen and, per record,
//                             its seq and HMAC; itself HMAC'd
//   records/KEY.SEQ.json      one record per (capsule, holder, licence):
//                             KEY = CAPSULEHEX-ADDRESSHEX-LICENCEHEX
//   locks/KEY.lock            the record lock a Session holds for its whole life
//
// Invariants and why:
//  - Every change gets the next store-wide SEQ and writes only files under fresh names: the new
//    record (if any) is written and fsync'd with its directory, then manifest.SEQ.json (temp +
//    fsync + rename + fsync of DIR) — that rename is the single commit point. A crash before it
//    leaves the previous manifest in charge (the play was not counted, and CountPlay had not
//    returned, so no content was released); after it, the new state is complete. Files the live
//    manifest does not name (older versions, a crash's leftovers) are removed afterwards.
//  - Nothing can be rolled back by putting one older file back: an older manifest copy under its
//    old name loses to the higher SEQ; older content under the live name fails its seq and MAC; an
//    older record under either name fails the manifest's seq or HMAC; a deleted record, or a
//    manifest rolled back to name record versions that are gone, is StateCorrupt — never a fresh
//    count.
//  - A Session holds an exclusive flock on locks/KEY.lock, so two opens of the same record
//    serialize (the second waits, or gets StateLocked) and both count. Lock order: a record lock,
//    then briefly the store lock; nothing waits for a record lock while holding the store lock.
//  - What this cannot do (docs/spec/ledger.md, DESIGN §9.16): the user owns these files and the
//    key beside them; deleting the whole store, or restoring a snapshot of all of it, resets the
//    counters. Only a chain (or another party) can stop that.
//  - No exceptions escape: JSON is parsed with allow_exceptions=false.
#include "runtime-min/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "format/bytes.h"
#include "format/canonical_json.h"
#include "format/crypto.h"
#include "format/file.h"
#include "format/keys.h"
#include "runtime-min/posix_fd.h"

namespace capsule::runtime {
namespace {

using nlohmann::json;

constexpr std::string_view kManifestFormat = "capsule-state-manifest";
constexpr std::string_view kRecordFormat = "capsule-state-record";
// 2: records per (capsule, holder, licence). Version 1 counted per (capsule, holder).
constexpr uint64_t kVersion = 2;
constexpr size_t kKeySize = 32;
constexpr size_t kMaxManifestBytes = 64u << 20;
constexpr size_t kMaxRecordBytes = 4096;
// Domain strings: a record MAC can never be taken for a manifest MAC, nor the reverse.
constexpr std::string_view kManifestDomain = "capsule/v1 state manifest";
constexpr std::string_view kRecordDomain = "capsule/v1 state record";

Status Corrupt(const std::string& dir, const std::string& what) {
  return Status(Code::StateCorrupt,
                dir + ": " + what +
                    ". The play counters cannot be trusted; restore the whole store from where "
                    "it was, or ask the issuer for a new licence");
}

Status FsyncDir(const std::string& dir) {
  Fd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0 || fsync(d.get()) != 0)
    return Status(Code::IoWrite, dir + ": fsync of the directory failed: " + Errno());
  return Status::Ok();
}

// flock on `path`. Without `create` (a store opened for reading, which creates nothing) the file
// is opened read-only (flock works on it), and a missing one means no lock: no open has written
// the store since it was set up, so there is nothing to wait for.
Result<Fd> Lock(const std::string& path, int how, bool create = true) {
  int raw = create ? open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)
                   : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0 && !create && errno == ENOENT) return Fd();
  if (raw < 0) return Status(Code::IoOpen, path + ": cannot open the lock file: " + Errno());
  Fd fd(raw);
  while (flock(fd.get(), how) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return Fd();  // caller reports StateLocked
    return Status(Code::IoOpen, path + ": cannot lock: " + Errno());
  }
  return fd;
}

// nullopt when the file does not exist.
Result<std::optional<std::string>> ReadIfExists(const std::string& path, size_t max) {
  int raw = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status(Code::IoOpen, path + ": cannot open: " + Errno());
  }
  Fd fd(raw);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status(Code::IoRead, path + ": " + Errno());
  if (!S_ISREG(st.st_mode)) return Status(Code::StateCorrupt, path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max)
    return Status(Code::StateCorrupt, path + ": larger than " + std::to_string(max) + " bytes");
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

// Temp file in `dir` → fsync → rename to dir/name → fsync dir.
Status WriteDurably(const std::string& dir, const std::string& name, std::string_view data) {
  std::string path = dir + "/" + name;
  std::string tmpl = dir + "/." + name + ".tmp-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int raw = mkostemp(buf.data(), O_CLOEXEC);
  if (raw < 0) return Status(Code::IoWrite, path + ": cannot create a temporary file: " + Errno());
  std::string temp = buf.data();
  Fd fd(raw);
  auto fail = [&](Code code, const std::string& what) {
    std::string why = Errno();
    unlink(temp.c_str());
    return Status(code, path + ": " + what + ": " + why);
  };
  if (fchmod(fd.get(), 0600) != 0) return fail(Code::IoWrite, "chmod failed");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = write(fd.get(), data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return fail(Code::IoWrite, "write failed");
    done += static_cast<size_t>(w);
  }
  if (fsync(fd.get()) != 0) return fail(Code::IoWrite, "fsync failed");
  fd = Fd();
  if (rename(temp.c_str(), path.c_str()) != 0) return fail(Code::IoRename, "rename failed");
  return FsyncDir(dir);
}

std::string Mac(const format::Secret<kKeySize>& key, std::string_view domain,
                std::string_view data) {
  std::string msg(domain);
  msg.push_back('\0');
  msg.append(data);
  return format::HexEncode(format::HmacSha256(key.view(), format::AsBytes(msg)));
}

bool SameMac(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::optional<uint64_t> AsU64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  return std::nullopt;
}
std::optional<int64_t> AsI64(const json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

bool HasExactly(const json& o, std::initializer_list<const char*> keys) {
  if (!o.is_object() || o.size() != keys.size()) return false;
  for (const char* k : keys)
    if (!o.contains(k)) return false;
  return true;
}

// "CAPSULEHEX-ADDRESSHEX": 32 + 1 + 40 characters.
// KEY = CAPSULE (32 hex) - HOLDER (40 hex) - LICENCE (32 hex).
constexpr size_t kKeyCapsule = 0, kKeyHolder = 33, kKeyLicense = 74, kRecordKeySize = 106;
bool IsRecordKey(std::string_view k) {
  return k.size() == kRecordKeySize && k[kKeyHolder - 1] == '-' && k[kKeyLicense - 1] == '-' &&
         IsLowerHex(k.substr(kKeyCapsule, 32)) && IsLowerHex(k.substr(kKeyHolder, 40)) &&
         IsLowerHex(k.substr(kKeyLicense, 32));
}
std::string CapsuleOf(const std::string& rkey) { return rkey.substr(kKeyCapsule, 32); }
std::string HolderOf(const std::string& rkey) { return "0x" + rkey.substr(kKeyHolder, 40); }
std::string LicenseOf(const std::string& rkey) { return rkey.substr(kKeyLicense, 32); }
std::string Describe(const std::string& rkey) {
  return "capsule " + CapsuleOf(rkey) + " for holder " + HolderOf(rkey) + " under licence " +
         LicenseOf(rkey);
}

struct Entry {
  uint64_t seq = 0;
  std::string mac;
};
struct Manifest {
  uint64_t seq = 0;
  int64_t last_seen = 0;
  std::map<std::string, Entry> records;
};

// What every Session of one store shares; outlives the StateStore object if sessions do.
struct Shared {
  std::string dir;
  bool read_only = false;  // OpenForReading: nothing is created, not even the lock file
  format::Secret<kKeySize> key;
  std::atomic<int64_t> last_seen{0};

  std::string RecordsDir() const { return dir + "/records"; }
  static std::string RecordName(const std::string& key, uint64_t seq) {
    return key + "." + std::to_string(seq) + ".json";
  }
  static std::string ManifestName(uint64_t seq) {
    return "manifest." + std::to_string(seq) + ".json";
  }
  void SeeTime(int64_t t) {
    int64_t cur = last_seen.load();
    while (t > cur && !last_seen.compare_exchange_weak(cur, t)) {
    }
  }

  // The SEQs of the manifest.SEQ.json files present (canonical decimal only), ascending, and
  // the temporaries of interrupted manifest writes (when `temporaries` is given).
  Result<std::vector<uint64_t>> ManifestSeqs(
      std::vector<std::string>* temporaries = nullptr) const {
    DIR* d = opendir(dir.c_str());
    if (!d) return Status(Code::IoOpen, dir + ": cannot list: " + Errno());
    std::vector<uint64_t> seqs;
    while (dirent* e = readdir(d)) {
      std::string_view n = e->d_name;
      if (temporaries && n.rfind(".manifest.", 0) == 0) temporaries->emplace_back(n);
      if (n.size() < 15 || n.substr(0, 9) != "manifest." || n.substr(n.size() - 5) != ".json")
        continue;
      std::string_view digits = n.substr(9, n.size() - 14);
      if (digits.empty() || digits.size() > 19 || (digits.size() > 1 && digits[0] == '0') ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      seqs.push_back(std::stoull(std::string(digits)));
    }
    closedir(d);
    std::sort(seqs.begin(), seqs.end());
    return seqs;
  }

  Result<Manifest> LoadManifest() const {
    CAPSULE_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, ManifestSeqs());
    return LoadManifest(seqs);
  }
  // The live manifest among `seqs` (a listing taken under the store lock held since).
  Result<Manifest> LoadManifest(const std::vector<uint64_t>& seqs) const {
    if (seqs.empty()) return Corrupt(dir, "the manifest is missing (deleted?)");
    const uint64_t live = seqs.back();
    const std::string name = ManifestName(live);
    CAPSULE_ASSIGN_OR_RETURN(std::optional<std::string> text,
                             ReadIfExists(dir + "/" + name, kMaxManifestBytes));
    if (!text) return Corrupt(dir, name + " vanished while reading");
    json j = format::ParseJsonText(*text);
    if (j.is_discarded()) return Corrupt(dir, name + " is not valid JSON");
    if (!HasExactly(j, {"format", "version", "seq", "last_seen", "records", "mac"}))
      return Corrupt(dir, name + " does not have the manifest's fields");
    if (j["format"] != kManifestFormat) return Corrupt(dir, name + ": wrong \"format\"");
    if (AsU64(j["version"]) != kVersion)
      return Corrupt(dir, name + ": version " + j["version"].dump() +
                              " (this runtime reads version 2; a version 1 store, from before "
                              "plays were counted per licence, must be moved away)");
    if (!j["mac"].is_string()) return Corrupt(dir, name + ": \"mac\" is not a string");
    std::string mac = j["mac"].get<std::string>();
    j.erase("mac");
    if (!SameMac(mac, Mac(key, kManifestDomain, j.dump())))
      return Corrupt(dir, name +
                              " does not match its MAC (edited by hand, or taken from "
                              "another store)");
    Manifest m;
    auto seq = AsU64(j["seq"]);
    auto last_seen = AsI64(j["last_seen"]);
    if (!seq || !last_seen || !j["records"].is_object())
      return Corrupt(dir, name + ": bad seq, last_seen or records");
    if (*seq != live)
      return Corrupt(dir, name + " holds manifest " + std::to_string(*seq) +
                              ": an older manifest was copied over the live one");
    m.seq = *seq;
    m.last_seen = *last_seen;
    for (const auto& [k, v] : j["records"].items()) {
      // (a plain uint64_t + flag: GCC 12 -O2 misreports an optional here as maybe-uninitialized)
      const bool shaped = HasExactly(v, {"seq", "mac"});
      const auto parsed = shaped ? AsU64(v["seq"]) : std::optional<uint64_t>();
      const uint64_t rec_seq = parsed.value_or(0);
      if (!IsRecordKey(k) || rec_seq == 0 || rec_seq > m.seq || !v["mac"].is_string())
        return Corrupt(dir, name + ": bad record entry \"" + k + "\"");
      m.records[k] = Entry{rec_seq, v["mac"].get<std::string>()};
    }
    return m;
  }

  // Writes manifest.SEQ.json (the commit point), then removes older manifests. `m.seq` must be
  // above every manifest present (the caller holds the exclusive store lock).
  Status WriteManifest(const Manifest& m) const {
    json records = json::object();
    for (const auto& [k, e] : m.records) records[k] = {{"seq", e.seq}, {"mac", e.mac}};
    json j = {{"format", kManifestFormat},
              {"version", kVersion},
              {"seq", m.seq},
              {"last_seen", m.last_seen},
              {"records", std::move(records)}};
    j["mac"] = Mac(key, kManifestDomain, j.dump());
    CAPSULE_RETURN_IF_ERROR(WriteDurably(dir, ManifestName(m.seq), j.dump(1) + "\n"));
    RemoveOlderManifests(m.seq);
    return Status::Ok();
  }

  // Best effort (a leftover older manifest always loses to the live one).
  void RemoveOlderManifests(uint64_t live) const {
    auto seqs = ManifestSeqs();
    if (seqs.ok()) RemoveOlderManifests(live, seqs.value());
  }
  void RemoveOlderManifests(uint64_t live, const std::vector<uint64_t>& seqs) const {
    for (uint64_t s : seqs)
      if (s < live) unlink((dir + "/" + ManifestName(s)).c_str());
  }

  // Raises last_seen to `now` (never lowers it): a new manifest when it moves.
  Status Touch(int64_t now) {
    CAPSULE_ASSIGN_OR_RETURN(Fd store_lock, Lock(dir + "/lock", LOCK_EX));
    CAPSULE_ASSIGN_OR_RETURN(Manifest m, LoadManifest());
    SeeTime(m.last_seen);
    if (now <= m.last_seen) return Status::Ok();
    m.seq += 1;
    m.last_seen = now;
    CAPSULE_RETURN_IF_ERROR(WriteManifest(m));
    SeeTime(now);
    return Status::Ok();
  }

  static std::string SerializeRecord(const std::string& rkey, uint64_t seq, const PlayRecord& r) {
    json j = {{"format", kRecordFormat},
              {"version", kVersion},
              {"capsule", CapsuleOf(rkey)},
              {"holder", HolderOf(rkey)},
              {"license", LicenseOf(rkey)},
              {"seq", seq},
              {"plays_used", r.plays_used},
              {"first_play", r.first_play ? json(*r.first_play) : json(nullptr)}};
    return j.dump() + "\n";
  }

  Result<PlayRecord> LoadRecord(const std::string& rkey, const Entry& e) const {
    const std::string name = RecordName(rkey, e.seq);
    const std::string what = "the record of " + Describe(rkey) + " (records/" + name + ")";
    CAPSULE_ASSIGN_OR_RETURN(std::optional<std::string> text,
                             ReadIfExists(RecordsDir() + "/" + name, kMaxRecordBytes));
    if (!text) return Corrupt(dir, what + " is missing: deleted, or the manifest was rolled back");
    if (!SameMac(e.mac, Mac(key, kRecordDomain, *text)))
      return Corrupt(dir, what + " does not match the manifest: rolled back or edited");
    // Authentic from here; the checks below catch our own bugs, not an attacker.
    json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !HasExactly(j, {"format", "version", "capsule", "holder", "license",
                                            "seq", "plays_used", "first_play"}))
      return Corrupt(dir, what + " is malformed");
    PlayRecord r;
    auto plays = AsU64(j["plays_used"]);
    if (j["capsule"] != CapsuleOf(rkey) || j["holder"] != HolderOf(rkey) ||
        j["license"] != LicenseOf(rkey) || AsU64(j["seq"]) != e.seq || !plays)
      return Corrupt(dir, what + " does not describe itself");
    r.plays_used = *plays;
    if (!j["first_play"].is_null()) {
      r.first_play = AsI64(j["first_play"]);
      if (!r.first_play) return Corrupt(dir, what + ": bad first_play");
    }
    return r;
  }

  // Best effort: every file of `rkey` in records/ except the live one (older versions, the
  // leftovers of a crash before the manifest was replaced, temporaries).
  void RemoveStale(const std::string& rkey, uint64_t live_seq) const {
    const std::string live = RecordName(rkey, live_seq);
    DIR* d = opendir(RecordsDir().c_str());
    if (!d) return;
    std::vector<std::string> stale;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      bool ours = n.rfind(rkey + ".", 0) == 0 || n.rfind("." + rkey + ".", 0) == 0;
      if (ours && n != live) stale.push_back(n);
    }
    closedir(d);
    for (const auto& n : stale) unlink((RecordsDir() + "/" + n).c_str());
  }
};

std::string RecordKey(const RecordId& id) {
  return format::HexEncode(id.capsule) + "-" + format::HexEncode(id.holder) + "-" +
         format::HexEncode(id.license);
}

class SessionImpl final : public StateStore::Session {
 public:
  SessionImpl(std::shared_ptr<Shared> s, std::string rkey, Fd lock, PlayRecord r, uint64_t seq)
      : s_(std::move(s)), rkey_(std::move(rkey)), lock_(std::move(lock)), record_(r), seq_(seq) {}

  // Unlocks explicitly: a child forked (without exec) while the session was open shares the
  // lock's open file description, and closing our descriptor alone would leave it locked.
  ~SessionImpl() override { flock(lock_.get(), LOCK_UN); }

  const PlayRecord& record() const override { return record_; }

  Status CountPlay(int64_t now) override {
    if (record_.plays_used == UINT64_MAX) return Status(Code::Internal, "play counter overflow");
    CAPSULE_ASSIGN_OR_RETURN(Fd store_lock, Lock(s_->dir + "/lock", LOCK_EX));
    CAPSULE_ASSIGN_OR_RETURN(Manifest m, s_->LoadManifest());
    auto it = m.records.find(rkey_);
    uint64_t listed = it == m.records.end() ? 0 : it->second.seq;
    if (listed != seq_)  // we hold the record lock: only a hand edit can get here
      return Corrupt(s_->dir, "the record of " + rkey_ + " changed while it was locked");
    const uint64_t seq = m.seq + 1;
    const int64_t t = std::max({now, m.last_seen, s_->last_seen.load()});
    PlayRecord next = record_;
    next.plays_used += 1;
    if (!next.first_play) next.first_play = t;  // never earlier than the store has seen
    const std::string bytes = Shared::SerializeRecord(rkey_, seq, next);
    CAPSULE_RETURN_IF_ERROR(WriteDurably(s_->RecordsDir(), Shared::RecordName(rkey_, seq), bytes));
    m.records[rkey_] = Entry{seq, Mac(s_->key, kRecordDomain, bytes)};
    m.seq = seq;
    m.last_seen = t;
    CAPSULE_RETURN_IF_ERROR(s_->WriteManifest(m));  // the commit point
    record_ = next;
    seq_ = seq;
    s_->SeeTime(t);
    s_->RemoveStale(rkey_, seq);
    return Status::Ok();
  }

  Status Touch(int64_t now) override { return s_->Touch(now); }

 private:
  std::shared_ptr<Shared> s_;
  std::string rkey_;
  Fd lock_;  // the record lock, released when the session ends
  PlayRecord record_;
  uint64_t seq_ = 0;  // 0: no record yet
};

class StateStoreImpl final : public StateStore {
 public:
  explicit StateStoreImpl(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  int64_t LastSeen() const override { return s_->last_seen.load(); }
  Status Touch(int64_t now) override { return s_->Touch(now); }

  Result<PlayRecord> Read(const RecordId& id) override {
    uint64_t seq;
    return Committed(RecordKey(id), &seq);
  }

  Result<std::unique_ptr<Session>> Begin(const RecordId& id, bool wait) override {
    const std::string rkey = RecordKey(id);
    const std::string lock_path = s_->dir + "/locks/" + rkey + ".lock";
    CAPSULE_ASSIGN_OR_RETURN(Fd lock, Lock(lock_path, LOCK_EX | (wait ? 0 : LOCK_NB)));
    if (lock.get() < 0) {
      std::string holder_pid;
      if (auto t = ReadIfExists(lock_path, 64); t.ok() && t.value()) {
        std::string& p = *t.value();
        p.erase(std::find_if(p.begin(), p.end(), [](char c) { return c == ' ' || c == '\n'; }),
                p.end());
        if (!p.empty()) holder_pid = " (process " + p + ")";
      }
      return Status(Code::StateLocked, s_->dir + ": " + Describe(rkey) +
                                           " is being opened by another process" + holder_pid);
    }
    // Our pid, for the message above: a hint only. Written over the previous one at a fixed
    // width, never truncated first: truncating a lock file that holds data costs an ext4 journal
    // transaction and a writeback on close (0.3–0.5 ms measured) on every open.
    char pid[24];
    const int n = std::snprintf(pid, sizeof pid, "%-20ld\n", static_cast<long>(getpid()));
    if (n <= 0 || pwrite(lock.get(), pid, static_cast<size_t>(n), 0) < 0) {
      // The lock is held either way.
    }
    uint64_t seq;
    CAPSULE_ASSIGN_OR_RETURN(PlayRecord r, Committed(rkey, &seq));
    return std::unique_ptr<Session>(
        std::make_unique<SessionImpl>(s_, rkey, std::move(lock), r, seq));
  }

 private:
  // The record `rkey` as the live manifest names it (empty, seq 0, when it names none), read
  // under a shared store lock.
  Result<PlayRecord> Committed(const std::string& rkey, uint64_t* seq) {
    *seq = 0;
    CAPSULE_ASSIGN_OR_RETURN(Fd store_lock, Lock(s_->dir + "/lock", LOCK_SH, !s_->read_only));
    CAPSULE_ASSIGN_OR_RETURN(Manifest m, s_->LoadManifest());
    s_->SeeTime(m.last_seen);
    auto it = m.records.find(rkey);
    if (it == m.records.end()) return PlayRecord{};
    *seq = it->second.seq;
    return s_->LoadRecord(rkey, it->second);
  }

  std::shared_ptr<Shared> s_;
};

// Record files present in records/ (temporaries excluded).
Result<size_t> CountRecordFiles(const std::string& records_dir) {
  DIR* d = opendir(records_dir.c_str());
  if (!d) return Status(Code::IoOpen, records_dir + ": cannot list: " + Errno());
  size_t n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

Result<std::unique_ptr<StateStore>> OpenStore(const std::string& dir_arg, bool read_only) {
  format::CryptoInit();
  auto s = std::make_shared<Shared>();
  s->dir = dir_arg.empty() ? format::CapsuleHome() + "/state" : dir_arg;
  while (s->dir.size() > 1 && s->dir.back() == '/') s->dir.pop_back();
  const std::string& dir = s->dir;
  // An existing store (every open but the first) needs no mkdir.
  struct stat st;
  const bool exists = stat((dir + "/records").c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
                      stat((dir + "/locks").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  s->read_only = read_only;
  if (!exists && !read_only) {
    CAPSULE_RETURN_IF_ERROR(format::MakeDirs(dir, 0700));
    // Not fsync'd here: DIR is fsync'd by the manifest write that follows before anything in
    // records/ counts, and lock files need no durability.
    for (const char* sub : {"/records", "/locks"}) {
      if (mkdir((dir + sub).c_str(), 0700) != 0 && errno != EEXIST)
        return Status(Code::IoWrite, dir + sub + ": cannot create the directory: " + Errno());
    }
  }

  // Exclusive while the store may be initialized; short. Shared to read it.
  CAPSULE_ASSIGN_OR_RETURN(Fd lock, Lock(dir + "/lock", read_only ? LOCK_SH : LOCK_EX, !read_only));
  // One listing serves the clean-up, the initialization check and the load below: nobody else
  // can add or remove a manifest while we hold the lock exclusively.
  std::vector<std::string> temporaries;
  CAPSULE_ASSIGN_OR_RETURN(std::vector<uint64_t> manifests, s->ManifestSeqs(&temporaries));
  if (!read_only)
    for (const auto& t : temporaries) unlink((dir + "/" + t).c_str());
  const std::string key_path = dir + "/store.key";
  CAPSULE_ASSIGN_OR_RETURN(std::optional<std::string> key, ReadIfExists(key_path, 1024));
  if (key && key->size() != kKeySize)
    return Corrupt(dir, "store.key is not " + std::to_string(kKeySize) + " bytes");
  if (!manifests.empty() && !key) return Corrupt(dir, "store.key is missing (deleted?)");
  if (manifests.empty()) {
    if (read_only)
      return Corrupt(dir, "the manifest is missing (deleted?)");  // (Exists said a store)
    CAPSULE_ASSIGN_OR_RETURN(size_t records, CountRecordFiles(s->RecordsDir()));
    if (records > 0)
      return Corrupt(dir, "the manifest is missing but " + std::to_string(records) +
                              " record file(s) remain (deleted?)");
    // A new store (or one that was deleted whole: DESIGN §9.16 — counters start again).
    if (!key) {
      format::RandomBytes(s->key.data(), kKeySize);
      CAPSULE_RETURN_IF_ERROR(
          WriteDurably(dir, "store.key",
                       std::string_view(reinterpret_cast<const char*>(s->key.data()), kKeySize)));
    } else {
      std::memcpy(s->key.data(), key->data(), kKeySize);
    }
    CAPSULE_RETURN_IF_ERROR(s->WriteManifest(Manifest{}));
    manifests = {0};
  } else {
    std::memcpy(s->key.data(), key->data(), kKeySize);
  }
  if (key) format::Wipe(key->data(), key->size());
  CAPSULE_ASSIGN_OR_RETURN(Manifest m, s->LoadManifest(manifests));
  if (!read_only) s->RemoveOlderManifests(m.seq, manifests);  // a crash between commit and clean-up
  s->last_seen = m.last_seen;
  return std::unique_ptr<StateStore>(std::make_unique<StateStoreImpl>(std::move(s)));
}
}  // namespace

bool StateStore::Exists(const std::string& dir_arg) {
  const std::string dir = dir_arg.empty() ? format::CapsuleHome() + "/state" : dir_arg;
  struct stat st;
  const bool key = stat((dir + "/store.key").c_str(), &st) == 0;
  Shared probe;
  probe.dir = dir;
  auto manifests = probe.ManifestSeqs();
  if (!manifests.ok()) return key;       // no directory; or OpenForReading says why
  if (!manifests->empty()) return true;  // (without its key: OpenForReading says so)
  // A key alone (a store set up by hand, or a crash during the first open) has seen nothing.
  if (stat(probe.RecordsDir().c_str(), &st) != 0) return false;
  auto records = CountRecordFiles(probe.RecordsDir());
  return !records.ok() || *records > 0;
}

Result<std::unique_ptr<StateStore>> StateStore::OpenForReading(const std::string& dir) {
  return OpenStore(dir, /*read_only=*/true);
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir) {
  return OpenStore(dir, /*read_only=*/false);
}

}  // namespace capsule::runtime

// Unit tests of the local state store (runtime-min/state_store.h, docs/spec/ledger.md): counts
// and first-play time persist; the clock rule (last_seen never goes back, first_play never
// before it); record locks (StateLocked without wait; two concurrent opens serialize and both
// count, across processes and threads); a SIGKILL right after CountPlay keeps the play; leftovers
// of a crash mid-commit are harmless; deleting, rolling back or editing one file is StateCorrupt;
// deleting the whole store starts again (the documented limit, DESIGN §9.16).
#include "runtime-min/state_store.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "format/file.h"

using namespace capsule;           // NOLINT
using namespace capsule::runtime;  // NOLINT

namespace {

using CapsuleKey = std::array<uint8_t, 16>;
using HolderKey = std::array<uint8_t, 20>;

std::string StateTmpDir() {
  const char* base = std::getenv("CAPSULE_TEST_TMP");
  std::string root = base ? base : "/tmp";
  mkdir(root.c_str(), 0700);
  std::string t = root + "/stateXXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  return mkdtemp(b.data());
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
void Spit(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}
bool Exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}
std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}
void RemoveTree(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string p = dir + "/" + n;
      struct stat st;
      if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        RemoveTree(p);
      else
        unlink(p.c_str());
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}

// Waits until `pid` is blocked on an flock (a "->" waiter in /proc/locks): an observed state,
// not a guess about timing. False after a generous bound.
bool WaitBlockedOnFlock(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream locks("/proc/locks");
    std::string line;
    while (std::getline(locks, line)) {
      std::istringstream in(line);
      std::vector<std::string> t;
      for (std::string w; in >> w;) t.push_back(w);
      if (t.size() > 5 && t[1] == "->" && t[2] == "FLOCK" && t[5] == std::to_string(pid))
        return true;
    }
    sched_yield();
  }
  return false;
}

const CapsuleKey kCapsule = {0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
const HolderKey kHolder = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
const HolderKey kOtherHolder = {0xbb};
const std::array<uint8_t, 16> kLicense = {0x11, 0xce, 2,  3,  4,  5,  6,  7,
                                          8,    9,    10, 11, 12, 13, 14, 15};
RecordId Rid(const HolderKey& h = kHolder, const std::array<uint8_t, 16>& lic = kLicense) {
  return RecordId{kCapsule, h, lic};
}
const std::string kRecordKey =
    "c00102030405060708090a0b0c0d0e0f-aa0102030405060708090a0b0c0d0e0f10111213-"
    "11ce02030405060708090a0b0c0d0e0f";

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = StateTmpDir() + "/state"; }

  std::unique_ptr<StateStore> MustOpen() {
    auto s = StateStore::Open(dir_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::unique_ptr<StateStore::Session> MustBegin(StateStore& s, const HolderKey& h = kHolder) {
    auto r = s.Begin(Rid(h), /*wait=*/false);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  // Plays used now, through a fresh store instance.
  uint64_t Plays() {
    auto s = MustOpen();
    if (!s) return UINT64_MAX;
    auto ss = MustBegin(*s);
    return ss ? ss->record().plays_used : UINT64_MAX;
  }
  std::string RecordFile() {
    for (const auto& n : Files(dir_ + "/records"))
      if (n.rfind(kRecordKey + ".", 0) == 0) return dir_ + "/records/" + n;
    return "";
  }
  // The live manifest (the highest manifest.SEQ.json).
  std::string ManifestFile() {
    std::string best;
    uint64_t best_seq = 0;
    for (const auto& n : Files(dir_)) {
      if (n.rfind("manifest.", 0) != 0) continue;
      uint64_t seq = std::stoull(n.substr(9));
      if (best.empty() || seq > best_seq) best = n, best_seq = seq;
    }
    return best.empty() ? "" : dir_ + "/" + best;
  }
  // Plays at 1000 and 1100, then the first manifest written back as a crash between the
  // second commit and its clean-up leaves it; returns its path.
  std::string TwoPlaysWithTheFirstManifestBack() {
    {
      auto s = MustOpen();
      EXPECT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
    }
    std::string one = ManifestFile();
    std::string one_bytes = Slurp(one);
    {
      auto s = MustOpen();
      EXPECT_TRUE(MustBegin(*s)->CountPlay(1100).ok());
    }
    Spit(one, one_bytes);
    return one;
  }

  Status BeginStatus() {
    auto s = StateStore::Open(dir_);
    if (!s.ok()) return s.status();
    auto r = s.value()->Begin(Rid(kHolder), false);
    return r.ok() ? Status::Ok() : r.status();
  }

  std::string dir_;
};

TEST_F(StateStoreTest, NewStoreLayoutAndPermissions) {
  auto s = MustOpen();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->LastSeen(), 0);
  struct stat st;
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(Files(dir_),
            (std::vector<std::string>{"lock", "locks", "manifest.0.json", "records", "store.key"}));
  for (const char* f : {"/manifest.0.json", "/store.key"}) {
    ASSERT_EQ(stat((dir_ + f).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  ASSERT_EQ(stat((dir_ + "/store.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 32);
  std::string m = Slurp(dir_ + "/manifest.0.json");
  EXPECT_NE(m.find("\"format\": \"capsule-state-manifest\""), std::string::npos) << m;
  EXPECT_NE(m.find("\"mac\": \""), std::string::npos) << m;
}

TEST_F(StateStoreTest, DefaultDirectoryIsUnderCapsuleHome) {
  std::string home = StateTmpDir() + "/home";
  const char* old = std::getenv("CAPSULE_HOME");
  std::string saved = old ? old : "";
  setenv("CAPSULE_HOME", home.c_str(), 1);
  auto s = StateStore::Open("");
  if (old)
    setenv("CAPSULE_HOME", saved.c_str(), 1);
  else
    unsetenv("CAPSULE_HOME");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(Exists(home + "/state/manifest.0.json"));
  struct stat st;
  ASSERT_EQ(stat((home + "/state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(StateStoreTest, CountsPersistAcrossInstances) {
  {
    auto s = MustOpen();
    auto ss = MustBegin(*s);
    ASSERT_TRUE(ss);
    EXPECT_EQ(ss->record().plays_used, 0u);
    EXPECT_FALSE(ss->record().first_play.has_value());
    ASSERT_TRUE(ss->CountPlay(1000).ok());
    EXPECT_EQ(ss->record().plays_used, 1u);
    EXPECT_EQ(ss->record().first_play, 1000);
    ASSERT_TRUE(ss->CountPlay(1100).ok());
    EXPECT_EQ(ss->record().plays_used, 2u);
    EXPECT_EQ(ss->record().first_play, 1000);  // the first play stays the first
    EXPECT_EQ(s->LastSeen(), 1100);
  }
  auto s = MustOpen();
  EXPECT_EQ(s->LastSeen(), 1100);
  auto ss = MustBegin(*s);
  EXPECT_EQ(ss->record().plays_used, 2u);
  EXPECT_EQ(ss->record().first_play, 1000);
  // Another holder of the same capsule has its own record.
  auto other = MustBegin(*s, kOtherHolder);
  EXPECT_EQ(other->record().plays_used, 0u);
  // So has another licence of the same holder (a second purchase), and it is not locked by the
  // first one's session; Read sees what the sessions committed.
  const std::array<uint8_t, 16> second_licence = {0x22};
  auto second = s->Begin(Rid(kHolder, second_licence), /*wait=*/false);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second.value()->record().plays_used, 0u);
  EXPECT_FALSE(second.value()->record().first_play.has_value());
  ASSERT_TRUE(second.value()->CountPlay(1300).ok());
  EXPECT_EQ(s->Read(Rid(kHolder, second_licence))->plays_used, 1u);
  EXPECT_EQ(s->Read(Rid())->plays_used, 2u);
  EXPECT_EQ(s->Read(Rid(kOtherHolder))->plays_used, 0u);
  second->reset();
  // One live file per record and one manifest: older versions are gone.
  EXPECT_EQ(Files(dir_ + "/records"),
            (std::vector<std::string>{
                kRecordKey + ".2.json",
                kRecordKey.substr(0, 74) + "22000000000000000000000000000000.3.json"}));
  EXPECT_EQ(ManifestFile(), dir_ + "/manifest.3.json");
  EXPECT_FALSE(Exists(dir_ + "/manifest.2.json"));
}

// docs/spec/ledger.md §3.2's example, computed from the spec's rules (Python's hmac, sorted
// compact JSON) with store.key = bytes 00..1f: the store writes exactly that.
TEST_F(StateStoreTest, SpecExample) {
  std::string key(32, '\0');
  for (int i = 0; i < 32; ++i) key[i] = static_cast<char>(i);
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  Spit(dir_ + "/store.key", key);
  chmod((dir_ + "/store.key").c_str(), 0600);
  {
    auto s = MustOpen();
    auto ss = MustBegin(*s);
    ASSERT_TRUE(ss->CountPlay(1000).ok());
    ASSERT_TRUE(ss->CountPlay(1100).ok());
  }
  EXPECT_EQ(
      Slurp(dir_ + "/records/" + kRecordKey + ".2.json"),
      R"({"capsule":"c00102030405060708090a0b0c0d0e0f","first_play":1000,)"
      R"("format":"capsule-state-record","holder":"0xaa0102030405060708090a0b0c0d0e0f10111213",)"
      R"("license":"11ce02030405060708090a0b0c0d0e0f","plays_used":2,"seq":2,"version":2})"
      "\n");
  const std::string m = Slurp(dir_ + "/manifest.2.json");
  EXPECT_NE(m.find("95680b448147eb1106f9eb1e633a9f25d9b41bf22144cd96480eb1b0e566f2f5"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("4dd680dda9f1f8c7d1d4db179e66f13af127f7ec3437269028532b5f8b2168ef"),
            std::string::npos)
      << m;
}

TEST_F(StateStoreTest, ClockNeverGoesBack) {
  auto s = MustOpen();
  {
    auto ss = MustBegin(*s, kOtherHolder);
    ASSERT_TRUE(ss->Touch(5000).ok());
    EXPECT_EQ(s->LastSeen(), 5000);
    ASSERT_TRUE(ss->Touch(4000).ok());  // a clock set back does not lower it
    EXPECT_EQ(s->LastSeen(), 5000);
  }
  auto ss = MustBegin(*s);
  ASSERT_TRUE(ss->CountPlay(3000).ok());  // the local clock says 3000; the store saw 5000
  EXPECT_EQ(ss->record().first_play, 5000);
  EXPECT_EQ(MustOpen()->LastSeen(), 5000);
  ASSERT_TRUE(ss->Touch(6000).ok());
  EXPECT_EQ(MustOpen()->LastSeen(), 6000);
}

TEST_F(StateStoreTest, LockedRecordWithoutWaitIsStateLocked) {
  auto a = MustOpen();
  auto b = MustOpen();  // a separate instance: as another process would be
  auto held = MustBegin(*a);
  ASSERT_TRUE(held);
  auto r = b->Begin(Rid(kHolder), /*wait=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::StateLocked);
  EXPECT_NE(r.status().detail().find("process " + std::to_string(getpid())), std::string::npos)
      << r.status().detail();
  // Another record is not locked.
  EXPECT_TRUE(b->Begin(Rid(kOtherHolder), false).ok());
  held.reset();  // the session ends: the lock is released
  EXPECT_TRUE(b->Begin(Rid(kHolder), false).ok());
}

TEST_F(StateStoreTest, ConcurrentOpensInProcessesSerializeAndBothCount) {
  // Parent and child open the same record; pipes sequence them, /proc/locks shows the child
  // waiting. The child must see the parent's play when it gets in, and both plays count.
  ASSERT_TRUE(MustOpen());
  int ready[2], go[2], report[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(report), 0);
  pid_t pid = fork();  // before the parent locks anything: the child inherits no lock
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    close(report[0]);
    auto cs = StateStore::Open(dir_);
    if (!cs.ok()) _exit(10);
    char c = 'r';
    if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1) _exit(11);
    if (cs.value()->Begin(Rid(kHolder), false).status().code() != Code::StateLocked) _exit(12);
    auto session = cs.value()->Begin(Rid(kHolder), /*wait=*/true);  // blocks
    if (!session.ok()) _exit(13);
    uint64_t seen = session.value()->record().plays_used;
    if (!session.value()->CountPlay(2000).ok()) _exit(14);
    c = static_cast<char>('0' + seen);
    if (write(report[1], &c, 1) != 1) _exit(15);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  close(report[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  auto s = MustOpen();
  auto held = MustBegin(*s);
  ASSERT_TRUE(held);
  ASSERT_EQ(write(go[1], "g", 1), 1);
  EXPECT_TRUE(WaitBlockedOnFlock(pid));  // the child waits on the record lock
  ASSERT_TRUE(held->CountPlay(1000).ok());
  held.reset();
  char seen = 0;
  ASSERT_EQ(read(report[0], &seen, 1), 1);
  for (int fd : {ready[0], go[1], report[0]}) close(fd);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st)) << st;
  ASSERT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(seen, '1');  // the child read the record only after the parent's play
  EXPECT_EQ(Plays(), 2u);
}

TEST_F(StateStoreTest, EndingASessionUnlocksEvenIfAForkedChildSharesTheLock) {
  // A child forked (without exec) while a session is open shares the lock's open file
  // description; ending the session must still release the record.
  auto s = MustOpen();
  auto held = MustBegin(*s);
  int release[2];
  ASSERT_EQ(pipe(release), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(release[1]);
    char c;
    _exit(read(release[0], &c, 1) == 0 ? 0 : 1);  // lives (with the inherited fd) until EOF
  }
  close(release[0]);
  held.reset();
  auto other = MustOpen();
  auto again = other->Begin(Rid(kHolder), /*wait=*/false);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  close(release[1]);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST_F(StateStoreTest, ConcurrentThreadsWithSeparateStoresAllCount) {
  ASSERT_TRUE(MustOpen());
  constexpr int kThreads = 4, kPlays = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto s = StateStore::Open(dir_);
      if (!s.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < kPlays; ++i) {
        auto ss = s.value()->Begin(Rid(kHolder), /*wait=*/true);
        if (!ss.ok() || !ss.value()->CountPlay(100 + t).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Plays(), static_cast<uint64_t>(kThreads * kPlays));
}

TEST_F(StateStoreTest, KillAfterCountPlayKeepsThePlay) {
  {
    auto s = MustOpen();
    auto ss = MustBegin(*s);
    ASSERT_TRUE(ss->CountPlay(1000).ok());
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = StateStore::Open(dir_);
    if (!s.ok()) _exit(10);
    auto ss = s.value()->Begin(Rid(kHolder), false);
    if (!ss.ok() || !ss.value()->CountPlay(2000).ok()) _exit(11);
    raise(SIGKILL);  // "mid-play": content would be streaming now
    _exit(12);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(st)) << "child exited with " << WEXITSTATUS(st);
  EXPECT_EQ(WTERMSIG(st), SIGKILL);
  // The kernel released the dead child's lock; the play was counted; the store is sound.
  auto s = MustOpen();
  EXPECT_EQ(s->LastSeen(), 2000);
  auto ss = MustBegin(*s);
  ASSERT_TRUE(ss);
  EXPECT_EQ(ss->record().plays_used, 2u);
  EXPECT_EQ(ss->record().first_play, 1000);
}

TEST_F(StateStoreTest, LeftoversOfACrashMidCommitAreHarmless) {
  {
    auto s = MustOpen();
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
  }
  std::string live = RecordFile();
  ASSERT_FALSE(live.empty());
  // What a crash leaves before manifest.json is replaced: the next record version (complete or
  // torn), a record temporary and a manifest temporary.
  std::string next = dir_ + "/records/" + kRecordKey + ".2.json";
  Spit(next, "{\"plays_used\": 9");
  Spit(dir_ + "/records/." + kRecordKey + ".2.json.tmp-abcdef", "x");
  Spit(dir_ + "/.manifest.2.json.tmp-abcdef", "y");
  EXPECT_EQ(Plays(), 1u);  // the old state holds
  EXPECT_FALSE(Exists(dir_ + "/.manifest.2.json.tmp-abcdef"));
  {
    auto s = MustOpen();
    auto ss = MustBegin(*s);
    ASSERT_TRUE(ss->CountPlay(1100).ok());
  }
  EXPECT_EQ(Plays(), 2u);
  EXPECT_EQ(Files(dir_ + "/records"), (std::vector<std::string>{kRecordKey + ".2.json"}));
  EXPECT_FALSE(Exists(dir_ + "/records/." + kRecordKey + ".2.json.tmp-abcdef"));
}

TEST_F(StateStoreTest, CrashAfterTheManifestCommitKeepsTheNewState) {
  // A crash after manifest.N.json was renamed in but before the older one was removed: the
  // higher one is in charge, and the next open removes the older one.
  const std::string one = TwoPlaysWithTheFirstManifestBack();
  EXPECT_EQ(Plays(), 2u);
  EXPECT_FALSE(Exists(one));
}

// A dry run reads a store and changes nothing in it: a key alone is no store (nothing is set up
// around it), and an existing store keeps its leftovers (a temporary, an older manifest) for the
// next real open to clean up.
TEST_F(StateStoreTest, ReadingChangesNothing) {
  ASSERT_TRUE(capsule::format::MakeDirs(dir_, 0700).ok());
  Spit(dir_ + "/store.key", std::string(32, 'k'));
  EXPECT_FALSE(StateStore::Exists(dir_));
  EXPECT_EQ(Files(dir_), (std::vector<std::string>{"store.key"}));
  ASSERT_EQ(unlink((dir_ + "/store.key").c_str()), 0);
  const std::string one = TwoPlaysWithTheFirstManifestBack();
  Spit(dir_ + "/.manifest.9.json.tmp-abcdef", "y");
  ASSERT_TRUE(StateStore::Exists(dir_));
  const std::vector<std::string> before = Files(dir_), records = Files(dir_ + "/records");
  auto r = StateStore::OpenForReading(dir_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->LastSeen(), 1100);
  auto rec = (*r)->Read(Rid());
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->plays_used, 2u);
  EXPECT_EQ(Files(dir_), before);
  EXPECT_EQ(Files(dir_ + "/records"), records);
  EXPECT_TRUE(Exists(one));
  // Parts a real open would make again (locks/, the lock file) are not needed to read, and not
  // made; a missing key is reported as open reports it.
  ASSERT_EQ(rename((dir_ + "/locks").c_str(), (dir_ + "/moved").c_str()), 0);
  ASSERT_EQ(unlink((dir_ + "/lock").c_str()), 0);
  auto again = StateStore::OpenForReading(dir_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto rec2 = (*again)->Read(Rid());
  ASSERT_TRUE(rec2.ok()) << rec2.status().ToString();
  EXPECT_EQ(rec2->plays_used, 2u);
  EXPECT_FALSE(Exists(dir_ + "/locks"));
  EXPECT_FALSE(Exists(dir_ + "/lock"));
  ASSERT_EQ(rename((dir_ + "/store.key").c_str(), (dir_ + "/key.moved").c_str()), 0);
  EXPECT_TRUE(StateStore::Exists(dir_));
  EXPECT_EQ(StateStore::OpenForReading(dir_).status().code(), Code::StateCorrupt);
}

TEST_F(StateStoreTest, DeletingOneRecordIsDetected) {
  {
    auto s = MustOpen();
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
    ASSERT_TRUE(MustBegin(*s, kOtherHolder)->CountPlay(1000).ok());
  }
  ASSERT_EQ(unlink(RecordFile().c_str()), 0);
  Status st = BeginStatus();
  EXPECT_EQ(st.code(), Code::StateCorrupt);
  EXPECT_NE(st.detail().find("is missing"), std::string::npos) << st.detail();
  EXPECT_NE(st.detail().find(dir_), std::string::npos);
  // The untouched record still opens; the damaged one never silently restarts from zero.
  auto s = MustOpen();
  EXPECT_TRUE(s->Begin(Rid(kOtherHolder), false).ok());
  EXPECT_EQ(BeginStatus().code(), Code::StateCorrupt);
}

TEST_F(StateStoreTest, RestoringAnOlderRecordIsDetected) {
  auto s = MustOpen();
  ASSERT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
  std::string old_name = RecordFile();
  std::string old_bytes = Slurp(old_name);
  ASSERT_TRUE(MustBegin(*s)->CountPlay(1100).ok());
  ASSERT_TRUE(MustBegin(*s)->CountPlay(1200).ok());
  ASSERT_FALSE(Exists(old_name));  // older versions are removed
  // Putting the old copy back under its old name changes nothing: the manifest names the live one.
  Spit(old_name, old_bytes);
  EXPECT_EQ(Plays(), 3u);
  unlink(old_name.c_str());
  // Putting the old content under the live name is a rollback: refused.
  std::string live = RecordFile();
  Spit(live, old_bytes);
  Status st = BeginStatus();
  EXPECT_EQ(st.code(), Code::StateCorrupt);
  EXPECT_NE(st.detail().find("rolled back or edited"), std::string::npos) << st.detail();
}

TEST_F(StateStoreTest, EditingARecordIsDetected) {
  auto s = MustOpen();
  auto ss = MustBegin(*s);
  ASSERT_TRUE(ss->CountPlay(1000).ok());
  ASSERT_TRUE(ss->CountPlay(1001).ok());
  ss.reset();
  std::string live = RecordFile();
  std::string text = Slurp(live);
  auto at = text.find("\"plays_used\":2");
  ASSERT_NE(at, std::string::npos) << text;
  text[at + 13] = '0';  // same length, plays_used 0
  Spit(live, text);
  EXPECT_EQ(BeginStatus().code(), Code::StateCorrupt);
}

TEST_F(StateStoreTest, RestoringAnOlderManifestIsDetectedOrHasNoEffect) {
  // The dangerous rollback: a manifest from before a record existed would count it from zero.
  std::string before_name, before_bytes;
  {
    auto s = MustOpen();
    before_name = ManifestFile();
    before_bytes = Slurp(before_name);
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1100).ok());
  }
  ASSERT_FALSE(Exists(before_name));
  // Back under its old name: the live (higher) manifest stays in charge; the copy is removed.
  Spit(before_name, before_bytes);
  EXPECT_EQ(Plays(), 2u);
  EXPECT_FALSE(Exists(before_name));
  // Copied over the live manifest: its sequence number gives it away.
  std::string live = ManifestFile();
  std::string live_bytes = Slurp(live);
  Spit(live, before_bytes);
  Status copied = StateStore::Open(dir_).status();
  EXPECT_EQ(copied.code(), Code::StateCorrupt);
  EXPECT_NE(copied.detail().find("older manifest was copied over"), std::string::npos)
      << copied.detail();
  Spit(live, live_bytes);
  EXPECT_EQ(Plays(), 2u);
}

TEST_F(StateStoreTest, ManifestNamingGoneRecordVersionsIsDetected) {
  // Even with the newer manifest deleted (two changes, not one), a manifest naming a record
  // version that has since been replaced is refused.
  std::string one_play_name, one_play;
  {
    auto s = MustOpen();
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
    one_play_name = ManifestFile();
    one_play = Slurp(one_play_name);
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1100).ok());
  }
  ASSERT_EQ(unlink(ManifestFile().c_str()), 0);
  Spit(one_play_name, one_play);
  Status gone = BeginStatus();
  EXPECT_EQ(gone.code(), Code::StateCorrupt);
  EXPECT_NE(gone.detail().find("manifest was rolled back"), std::string::npos) << gone.detail();
}

TEST_F(StateStoreTest, EditingTheManifestIsDetected) {
  {
    auto s = MustOpen();
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
  }
  const std::string manifest = ManifestFile();
  const std::string good = Slurp(manifest);
  std::string text = good;
  auto at = text.find("\"last_seen\": 1000");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 17, "\"last_seen\": 0001");  // same meaning to a lax reader, same length
  Spit(manifest, text);
  Status edited = StateStore::Open(dir_).status();
  EXPECT_EQ(edited.code(), Code::StateCorrupt);  // a leading zero is not JSON
  text = good;
  text.replace(at, 17, "\"last_seen\": 9999");
  Spit(manifest, text);
  edited = StateStore::Open(dir_).status();
  EXPECT_EQ(edited.code(), Code::StateCorrupt);
  EXPECT_NE(edited.detail().find("MAC"), std::string::npos) << edited.detail();
  // Dropping the record's entry (to count from zero) also breaks the MAC.
  text = good;
  at = text.find("\"" + kRecordKey + "\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at + 1, 2, "ff");
  Spit(manifest, text);
  EXPECT_EQ(StateStore::Open(dir_).status().code(), Code::StateCorrupt);
  Spit(manifest, "garbage");
  EXPECT_EQ(StateStore::Open(dir_).status().code(), Code::StateCorrupt);
  Spit(manifest, good);
  EXPECT_EQ(Plays(), 1u);
}

TEST_F(StateStoreTest, DeletingTheManifestOrKeyIsDetected) {
  {
    auto s = MustOpen();
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
  }
  const std::string manifest_path = ManifestFile();
  std::string manifest = Slurp(manifest_path);
  ASSERT_EQ(unlink(manifest_path.c_str()), 0);
  Status no_manifest = StateStore::Open(dir_).status();
  EXPECT_EQ(no_manifest.code(), Code::StateCorrupt);
  EXPECT_NE(no_manifest.detail().find("manifest is missing"), std::string::npos)
      << no_manifest.detail();
  Spit(manifest_path, manifest);
  EXPECT_EQ(Plays(), 1u);

  std::string key = Slurp(dir_ + "/store.key");
  ASSERT_EQ(unlink((dir_ + "/store.key").c_str()), 0);
  EXPECT_EQ(StateStore::Open(dir_).status().code(), Code::StateCorrupt);
  // A key from another store does not verify this manifest.
  std::string other = StateTmpDir() + "/other";
  ASSERT_TRUE(StateStore::Open(other).ok());
  Spit(dir_ + "/store.key", Slurp(other + "/store.key"));
  EXPECT_EQ(StateStore::Open(dir_).status().code(), Code::StateCorrupt);
  Spit(dir_ + "/store.key", key);
  EXPECT_EQ(Plays(), 1u);
}

TEST_F(StateStoreTest, DeletingTheWholeStoreStartsAgain) {
  // The documented limit (DESIGN §9.16): without a chain nothing local survives this.
  {
    auto s = MustOpen();
    ASSERT_TRUE(MustBegin(*s)->CountPlay(1000).ok());
  }
  RemoveTree(dir_);
  auto s = MustOpen();
  EXPECT_EQ(s->LastSeen(), 0);
  EXPECT_EQ(MustBegin(*s)->record().plays_used, 0u);
}

TEST_F(StateStoreTest, OpenFailsCleanlyOnAFile) {
  std::string file = StateTmpDir() + "/not-a-dir";
  Spit(file, "x");
  auto s = StateStore::Open(file);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::IoOpen) << s.status().ToString();
}

}  // namespace

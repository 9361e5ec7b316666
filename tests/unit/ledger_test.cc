// Unit tests of the file ledger (runtime-min/ledger.h, docs/spec/ledger.md): the JSON format
// (exact bytes, deterministic order), Holds() at and around expiry, grant/revoke/transfer and
// their refusals, strict parsing of malformed files (nothing is rewritten), ledger specs, and
// concurrent writers in separate processes losing no update.
#include "runtime-min/ledger.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace capsule;           // NOLINT
using namespace capsule::runtime;  // NOLINT

namespace {

std::string LedgerTmpDir() {
  const char* base = std::getenv("CAPSULE_TEST_TMP");
  std::string root = base ? base : "/tmp";
  mkdir(root.c_str(), 0700);
  std::string t = root + "/ledgerXXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  return mkdtemp(b.data());
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Waits until process `pid` is blocked on an flock (a "->" waiter line in /proc/locks): an
// observed state, not a guess about timing. False after a generous bound (a failure, never a
// pass by timing).
bool BlockedOnFlock(pid_t pid) {
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

CapsuleIdBytes Capsule(uint8_t fill) {
  CapsuleIdBytes c;
  c.fill(fill);
  return c;
}
Address Holder(uint8_t fill) {
  Address a;
  a.fill(fill);
  return a;
}

class FileLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = LedgerTmpDir();
    path_ = dir_ + "/L.json";
  }
  LedgerChange Change(uint8_t capsule, uint8_t holder, int64_t now) const {
    LedgerChange c;
    c.path = path_;
    c.capsule = Capsule(capsule);
    c.holder = Holder(holder);
    c.now = now;
    return c;
  }
  Holding MustHold(uint8_t capsule, uint8_t holder, int64_t now) {
    auto l = OpenLedger("file:" + path_);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    auto h = l.value()->Holds(Capsule(capsule), Holder(holder), now);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h.value() : Holding{};
  }
  std::string dir_, path_;
};

TEST_F(FileLedgerTest, MissingFileHoldsNothing) {
  Holding h = MustHold(1, 2, 1000);
  EXPECT_FALSE(h.holds);
  EXPECT_FALSE(h.expired);
  // Asking does not create anything.
  EXPECT_TRUE(ListDir(dir_).empty());
}

TEST_F(FileLedgerTest, GrantWritesTheDocumentedFormat) {
  LedgerChange c = Change(0xab, 0x11, 1700000000);
  c.expires = 1800000000;
  ASSERT_TRUE(LedgerGrant(c).ok());
  ASSERT_TRUE(LedgerGrant(Change(0x01, 0x22, 1700000001)).ok());
  EXPECT_EQ(ReadAll(path_),
            "{\n"
            "  \"format\": \"capsule-file-ledger\",\n"
            "  \"grants\": [\n"
            "    {\n"
            "      \"capsule\": \"01010101010101010101010101010101\",\n"
            "      \"expires\": null,\n"
            "      \"granted_at\": 1700000001,\n"
            "      \"holder\": \"0x2222222222222222222222222222222222222222\"\n"
            "    },\n"
            "    {\n"
            "      \"capsule\": \"abababababababababababababababab\",\n"
            "      \"expires\": 1800000000,\n"
            "      \"granted_at\": 1700000000,\n"
            "      \"holder\": \"0x1111111111111111111111111111111111111111\"\n"
            "    }\n"
            "  ],\n"
            "  \"version\": 1\n"
            "}\n");
  // Only the ledger and its lock file: no temporaries left behind.
  EXPECT_EQ(ListDir(dir_), (std::vector<std::string>{"L.json", "L.json.lock"}));
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(FileLedgerTest, OrderIsDeterministic) {
  std::string other = dir_ + "/M.json";
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<std::pair<uint8_t, uint8_t>> order = {{3, 1}, {1, 9}, {1, 2}, {2, 2}};
    if (pass == 1) std::reverse(order.begin(), order.end());
    for (auto [cap, holder] : order) {
      LedgerChange c = Change(cap, holder, 100);
      if (pass == 1) c.path = other;
      ASSERT_TRUE(LedgerGrant(c).ok());
    }
  }
  EXPECT_EQ(ReadAll(path_), ReadAll(other));
  std::string text = ReadAll(path_);
  // (1,2) < (1,9) < (2,2) < (3,1)
  EXPECT_LT(text.find("0x0202"), text.find("0x0909"));
  EXPECT_LT(text.find("\"02020202"), text.find("\"03030303"));
}

TEST_F(FileLedgerTest, HoldsUntilExpiryExclusive) {
  LedgerChange c = Change(5, 6, 1000);
  c.expires = 2000;
  ASSERT_TRUE(LedgerGrant(c).ok());
  Holding before = MustHold(5, 6, 1999);
  EXPECT_TRUE(before.holds);
  EXPECT_FALSE(before.expired);
  EXPECT_EQ(before.expires, 2000);
  EXPECT_EQ(before.granted_at, 1000);
  Holding at = MustHold(5, 6, 2000);
  EXPECT_FALSE(at.holds);
  EXPECT_TRUE(at.expired);
  EXPECT_EQ(at.expires, 2000);
  // Other holders and other capsules hold nothing.
  EXPECT_FALSE(MustHold(5, 7, 1500).holds);
  EXPECT_FALSE(MustHold(4, 6, 1500).holds);
  EXPECT_FALSE(MustHold(4, 6, 1500).expired);
}

TEST_F(FileLedgerTest, GrantIsIdempotentAndUpdatesExpiry) {
  LedgerChange c = Change(5, 6, 1000);
  c.expires = 2000;
  ASSERT_TRUE(LedgerGrant(c).ok());
  std::string once = ReadAll(path_);
  ASSERT_TRUE(LedgerGrant(c).ok());
  EXPECT_EQ(ReadAll(path_), once);

  c.now = 1500;
  c.expires = 5000;
  ASSERT_TRUE(LedgerGrant(c).ok());
  Holding h = MustHold(5, 6, 4000);
  EXPECT_TRUE(h.holds);
  EXPECT_EQ(h.expires, 5000);
  EXPECT_EQ(h.granted_at, 1000);  // the first grant's time is kept

  c.expires.reset();  // a grant without expiry makes it perpetual
  ASSERT_TRUE(LedgerGrant(c).ok());
  h = MustHold(5, 6, 1'000'000'000);
  EXPECT_TRUE(h.holds);
  EXPECT_FALSE(h.expires.has_value());
}

TEST_F(FileLedgerTest, GrantInThePastIsRecordedAsExpired) {
  LedgerChange c = Change(5, 6, 1000);
  c.expires = 500;
  ASSERT_TRUE(LedgerGrant(c).ok());
  Holding h = MustHold(5, 6, 1000);
  EXPECT_FALSE(h.holds);
  EXPECT_TRUE(h.expired);
}

TEST_F(FileLedgerTest, Revoke) {
  Status missing = LedgerRevoke(Change(5, 6, 1000));
  EXPECT_EQ(missing.code(), Code::IoOpen);
  EXPECT_NE(missing.detail().find("does not exist"), std::string::npos) << missing.detail();
  EXPECT_NE(missing.detail().find(path_), std::string::npos);
  EXPECT_TRUE(ListDir(dir_).empty());  // a failed revoke creates no ledger and no lock file

  ASSERT_TRUE(LedgerGrant(Change(5, 6, 1000)).ok());
  ASSERT_TRUE(LedgerGrant(Change(5, 7, 1000)).ok());
  ASSERT_TRUE(LedgerRevoke(Change(5, 6, 1100)).ok());
  EXPECT_FALSE(MustHold(5, 6, 1200).holds);
  EXPECT_FALSE(MustHold(5, 6, 1200).expired);
  EXPECT_TRUE(MustHold(5, 7, 1200).holds);

  Status again = LedgerRevoke(Change(5, 6, 1100));
  EXPECT_EQ(again.code(), Code::NotHolder);
  EXPECT_NE(again.detail().find("0x0606060606060606060606060606060606060606"), std::string::npos);
}

TEST_F(FileLedgerTest, TransferMovesTheGrantAndKeepsExpiry) {
  LedgerChange g = Change(5, 6, 1000);
  g.expires = 9000;
  ASSERT_TRUE(LedgerGrant(g).ok());
  LedgerChange t = Change(5, 6, 2000);
  t.to = Holder(8);
  ASSERT_TRUE(LedgerTransfer(t).ok());
  EXPECT_FALSE(MustHold(5, 6, 2500).holds);
  Holding h = MustHold(5, 8, 2500);
  EXPECT_TRUE(h.holds);
  EXPECT_EQ(h.expires, 9000);
  EXPECT_EQ(h.granted_at, 2000);
  // The one who gave it away cannot give it again.
  Status again = LedgerTransfer(t);
  EXPECT_EQ(again.code(), Code::NotHolder);
}

TEST_F(FileLedgerTest, TransferRefusals) {
  LedgerChange t = Change(5, 6, 2000);
  t.to = Holder(8);
  EXPECT_EQ(LedgerTransfer(t).code(), Code::IoOpen);  // no ledger yet

  LedgerChange g = Change(5, 6, 1000);
  g.expires = 1500;
  ASSERT_TRUE(LedgerGrant(g).ok());
  std::string before = ReadAll(path_);
  Status expired = LedgerTransfer(t);
  EXPECT_EQ(expired.code(), Code::NotHolder);
  EXPECT_NE(expired.detail().find("expired"), std::string::npos) << expired.detail();

  LedgerChange nobody = Change(5, 7, 1200);
  nobody.to = Holder(8);
  EXPECT_EQ(LedgerTransfer(nobody).code(), Code::NotHolder);

  LedgerChange self = Change(5, 6, 1200);
  self.to = Holder(6);
  EXPECT_EQ(LedgerTransfer(self).code(), Code::Usage);

  LedgerChange no_to = Change(5, 6, 1200);
  EXPECT_EQ(LedgerTransfer(no_to).code(), Code::Usage);

  // The recipient already holds a live grant: refused, nothing merged or lost.
  ASSERT_TRUE(LedgerGrant(Change(5, 8, 1000)).ok());
  before = ReadAll(path_);
  LedgerChange busy = Change(5, 6, 1200);
  busy.to = Holder(8);
  EXPECT_EQ(LedgerTransfer(busy).code(), Code::Usage);
  EXPECT_EQ(ReadAll(path_), before);
}

TEST_F(FileLedgerTest, MalformedFilesAreRefusedAndLeftAlone) {
  const std::string good_grant =
      "{\"capsule\":\"05050505050505050505050505050505\",\"holder\":"
      "\"0x0606060606060606060606060606060606060606\",\"granted_at\":1,\"expires\":null}";
  auto doc = [](const std::string& grants) {
    return "{\"format\":\"capsule-file-ledger\",\"version\":1,\"grants\":[" + grants + "]}";
  };
  // Sanity: the good form parses.
  WriteAll(path_, doc(good_grant));
  EXPECT_TRUE(MustHold(5, 6, 10).holds);

  struct Case {
    std::string text, reason;
  };
  std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"{\"format\":", "not valid JSON"},
      // nlohmann stops at a NUL: what follows would be ignored, and lost by the next grant.
      {doc(good_grant) + std::string("\0{{{garbage", 11), "a NUL byte"},
      {"[]", "not a JSON object"},
      {"{\"format\":\"other\",\"version\":1,\"grants\":[]}", "\"format\""},
      {"{\"format\":\"capsule-file-ledger\",\"version\":2,\"grants\":[]}", "unsupported version 2"},
      {"{\"format\":\"capsule-file-ledger\",\"version\":\"1\",\"grants\":[]}", "\"version\""},
      {"{\"format\":\"capsule-file-ledger\",\"version\":1}", "\"grants\""},
      {"{\"format\":\"capsule-file-ledger\",\"version\":1,\"grants\":{}}", "\"grants\""},
      {"{\"format\":\"capsule-file-ledger\",\"version\":1,\"grants\":[],\"x\":1}", "unknown key"},
      {"{\"format\":\"capsule-file-ledger\",\"format\":\"capsule-file-ledger\",\"version\":1,"
       "\"grants\":[]}",
       "duplicate key \"format\""},
      {doc("1"), "grants[0] is not an object"},
      {doc(good_grant + "," + good_grant), "grants[1]: a second grant"},
      {doc("{\"capsule\":\"0505\",\"holder\":\"0x0606060606060606060606060606060606060606\","
           "\"granted_at\":1,\"expires\":null}"),
       "\"capsule\""},
      {doc("{\"capsule\":\"0505050505050505050505050505050G\",\"holder\":"
           "\"0x0606060606060606060606060606060606060606\",\"granted_at\":1,\"expires\":null}"),
       "\"capsule\""},
      {doc("{\"capsule\":\"05050505050505050505050505050505\",\"holder\":"
           "\"0x0606060606060606060606060606060606060AbC\",\"granted_at\":1,\"expires\":null}"),
       "\"holder\""},
      {doc("{\"capsule\":\"05050505050505050505050505050505\",\"holder\":"
           "\"0606060606060606060606060606060606060606\",\"granted_at\":1,\"expires\":null}"),
       "\"holder\""},
      {doc("{\"capsule\":\"05050505050505050505050505050505\",\"holder\":"
           "\"0x0606060606060606060606060606060606060606\",\"granted_at\":-1,\"expires\":null}"),
       "\"granted_at\""},
      {doc("{\"capsule\":\"05050505050505050505050505050505\",\"holder\":"
           "\"0x0606060606060606060606060606060606060606\",\"granted_at\":1.5,\"expires\":null}"),
       "\"granted_at\""},
      {doc("{\"capsule\":\"05050505050505050505050505050505\",\"holder\":"
           "\"0x0606060606060606060606060606060606060606\",\"granted_at\":1,\"expires\":\"soon\"}"),
       "\"expires\""},
      {doc("{\"capsule\":\"05050505050505050505050505050505\",\"holder\":"
           "\"0x0606060606060606060606060606060606060606\",\"granted_at\":1}"),
       "\"expires\" is missing"},
      {doc("{\"capsule\":\"05050505050505050505050505050505\",\"holder\":"
           "\"0x0606060606060606060606060606060606060606\",\"granted_at\":1,\"expires\":null,"
           "\"note\":1}"),
       "unknown key \"note\""},
  };
  auto ledger = OpenLedger("file:" + path_);
  ASSERT_TRUE(ledger.ok());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    WriteAll(path_, c.text);
    auto h = ledger.value()->Holds(Capsule(5), Holder(6), 10);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), Code::LedgerMalformed);
    EXPECT_NE(h.status().detail().find(path_), std::string::npos) << h.status().detail();
    EXPECT_NE(h.status().detail().find(c.reason), std::string::npos) << h.status().detail();
    // Changes are refused and the file is not "repaired".
    EXPECT_EQ(LedgerGrant(Change(5, 6, 10)).code(), Code::LedgerMalformed);
    EXPECT_EQ(LedgerRevoke(Change(5, 6, 10)).code(), Code::LedgerMalformed);
    EXPECT_EQ(ReadAll(path_), c.text);
  }
}

TEST_F(FileLedgerTest, ReadsAnyWhitespaceAndKeyOrder) {
  WriteAll(path_,
           "  {\"version\" : 1, \"grants\" : [ {\"expires\":300,\"holder\":"
           "\"0x0606060606060606060606060606060606060606\",\"granted_at\":7,"
           "\"capsule\":\"05050505050505050505050505050505\"} ],\n\"format\":"
           "\"capsule-file-ledger\"}\n");
  Holding h = MustHold(5, 6, 299);
  EXPECT_TRUE(h.holds);
  EXPECT_EQ(h.granted_at, 7);
  EXPECT_EQ(h.expires, 300);
}

TEST(OpenLedgerSpec, SchemesAndErrors) {
  auto f = OpenLedger("file:/nonexistent/dir/ledger.json");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value()->Describe(), "file:/nonexistent/dir/ledger.json");
  // A missing ledger in a missing directory: nobody holds anything (not an error).
  auto h = f.value()->Holds(Capsule(1), Holder(2), 0);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_FALSE(h->holds);

  auto evm = OpenLedger("evm:https://rpc.example");
  ASSERT_FALSE(evm.ok());
  EXPECT_EQ(evm.status().code(), Code::Usage);
  // The chain ledger is bound to a capsule by the runtime (EvmLedger), never opened bare.
  EXPECT_NE(evm.status().detail().find("changed only by transactions"), std::string::npos);

  for (const char* bad : {"", "file:", "ledger.json", "http://x", "FILE:x"}) {
    auto r = OpenLedger(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::Usage) << bad;
  }
}

TEST_F(FileLedgerTest, GrantIntoMissingDirectoryFails) {
  LedgerChange c = Change(1, 2, 3);
  c.path = dir_ + "/no/such/dir/L.json";
  Status s = LedgerGrant(c);
  EXPECT_EQ(s.code(), Code::IoOpen) << s.ToString();
}

TEST_F(FileLedgerTest, ConcurrentWritersLoseNoUpdate) {
  // Several processes each grant 10 distinct holders at once; the exclusive lock around
  // read-modify-write keeps every grant. The children start together on a pipe.
  constexpr int kProcs = 4, kEach = 10;
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(go[1]);
      char b;
      if (read(go[0], &b, 1) != 0) _exit(3);  // EOF: everyone starts
      for (int i = 0; i < kEach; ++i) {
        if (!LedgerGrant(Change(1, static_cast<uint8_t>(p * kEach + i + 1), 100)).ok()) _exit(1);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  close(go[0]);
  close(go[1]);
  for (pid_t pid : kids) {
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  }
  for (int h = 1; h <= kProcs * kEach; ++h)
    EXPECT_TRUE(MustHold(1, static_cast<uint8_t>(h), 200).holds) << h;
}

TEST_F(FileLedgerTest, ReaderWaitsForWriterLock) {
  // While a writer holds the exclusive lock on L.json.lock, a reader in another process blocks
  // on it (seen in /proc/locks) and answers only after the lock is released.
  ASSERT_TRUE(LedgerGrant(Change(1, 2, 100)).ok());
  int lock = open((path_ + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(flock(lock, LOCK_EX), 0);
  int done[2];
  ASSERT_EQ(pipe(done), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(done[0]);
    auto l = OpenLedger("file:" + path_);
    auto h = l.value()->Holds(Capsule(1), Holder(2), 200);
    char r = h.ok() && h->holds ? 'y' : 'n';
    if (write(done[1], &r, 1) != 1) _exit(2);
    _exit(0);
  }
  close(done[1]);
  EXPECT_TRUE(BlockedOnFlock(pid));
  int flags = fcntl(done[0], F_GETFL);
  ASSERT_EQ(fcntl(done[0], F_SETFL, flags | O_NONBLOCK), 0);
  char r = 0;
  EXPECT_EQ(read(done[0], &r, 1), -1);  // blocked: no answer yet
  EXPECT_EQ(errno, EAGAIN);
  ASSERT_EQ(fcntl(done[0], F_SETFL, flags), 0);
  ASSERT_EQ(flock(lock, LOCK_UN), 0);
  close(lock);
  ASSERT_EQ(read(done[0], &r, 1), 1);
  EXPECT_EQ(r, 'y');
  close(done[0]);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

}  // namespace

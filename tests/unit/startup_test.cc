// What keeps `capsule-run open`'s start-up short (issue 6, time to first byte): the binaries do
// not link libcurl (chain/rpc.cc loads it on the first RPC), and a missing or wrong libcurl is
// then a clear error; the state store raises its clock without a session (runtime.cc writes
// it while the sandbox starts) and records its lock holder's pid without truncating.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "chain/rpc.h"
#include "format/bytes.h"
#include "format/crypto.h"
#include "runtime-min/state_store.h"

using namespace capsule;  // NOLINT

namespace {

// The NEEDED entries of an ELF file (readelf -d), or nullopt when readelf is not there.
std::optional<std::string> Needed(const std::string& binary) {
  std::string cmd = "readelf -d '" + binary + "' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  if (pclose(p) != 0 || out.find("(NEEDED)") == std::string::npos) return std::nullopt;
  return out;
}

std::string TmpDir() {
  const char* base = std::getenv("CAPSULE_TEST_TMP");
  std::string root = base ? base : "/tmp";
  mkdir(root.c_str(), 0700);
  std::string t = root + "/startupXXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  return mkdtemp(b.data());
}

}  // namespace

TEST(Startup, BinariesDoNotLinkLibcurl) {
  for (const char* rel : {"/runtime-min/capsule-run", "/capsulec/capsulec"}) {
    const std::string bin = std::string(CAPSULE_BINARY_DIR) + rel;
    auto needed = Needed(bin);
    if (!needed) GTEST_SKIP() << "readelf cannot read " << bin;
    EXPECT_EQ(needed->find("libcurl"), std::string::npos)
        << bin << " links libcurl again: every start then maps its ~27 libraries\n"
        << *needed;
    EXPECT_EQ(needed->find("libcrypto"), std::string::npos)
        << bin << " links libcrypto again: loading it costs ~1 ms before main, and its first "
        << "use ~1–1.5 ms more (format/crypto.cc loads it with dlopen)\n"
        << *needed;
  }
}

TEST(Startup, BulkCryptoLoadsOnDemand) {
  capsule::format::BulkCryptoLoader loader;
  loader.Start();
  loader.Start();                        // idempotent
  capsule::format::RequireBulkCrypto();  // waits for the loader's thread if it is still loading
  EXPECT_TRUE(capsule::format::BulkCryptoLoaded());
}

TEST(Startup, MissingLibcurlIsAClearError) {
  Status s = chain::internal::ProbeLibcurl("libcapsule-test-no-such-curl.so.4");
  EXPECT_EQ(s.code(), Code::ChainRpcUnreachable);
  EXPECT_NE(s.detail().find("cannot load libcapsule-test-no-such-curl.so.4"), std::string::npos)
      << s.detail();
  EXPECT_NE(s.detail().find("need libcurl"), std::string::npos) << s.detail();
}

TEST(Startup, LibraryWithoutCurlIsAClearError) {
  // zlib is there wherever libcurl is (a dependency of it), and has none of its functions.
  Status s = chain::internal::ProbeLibcurl("libz.so.1");
  EXPECT_EQ(s.code(), Code::ChainRpcUnreachable);
  EXPECT_NE(s.detail().find("libz.so.1 lacks curl_global_init"), std::string::npos) << s.detail();
}

TEST(Startup, LibcurlLoadsOnDemand) {
  Status s = chain::internal::ProbeLibcurl(chain::kLibcurlSoname);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // The client itself (URL checks go through curl's URL parser).
  EXPECT_TRUE(chain::RpcClient::Create({"http://127.0.0.1:8545"}).ok());
}

TEST(Startup, StoreClockRisesWithoutASession) {
  const std::string dir = TmpDir() + "/state";
  auto a = runtime::StateStore::Open(dir);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const std::array<uint8_t, 16> capsule = {0xc0, 1};
  const std::array<uint8_t, 20> holder = {0xaa, 1};
  // Another instance holds the record lock meanwhile: Touch needs only the store lock.
  auto b = runtime::StateStore::Open(dir);
  ASSERT_TRUE(b.ok());
  auto session = b.value()->Begin({capsule, holder, {0x11}}, /*wait=*/false);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE(a.value()->Touch(5000).ok());
  EXPECT_EQ(a.value()->LastSeen(), 5000);
  ASSERT_TRUE(a.value()->Touch(4000).ok());  // never lowered
  EXPECT_EQ(a.value()->LastSeen(), 5000);
  auto c = runtime::StateStore::Open(dir);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value()->LastSeen(), 5000);
  // The record's play count is untouched, and the session still counts on top of the new clock.
  ASSERT_TRUE(session.value()->CountPlay(3000).ok());
  EXPECT_EQ(session.value()->record().first_play, 5000);
}

TEST(Startup, LockHolderPidOverwritesAnOlderLongerOne) {
  const std::string dir = TmpDir() + "/state";
  auto a = runtime::StateStore::Open(dir);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const std::array<uint8_t, 16> capsule = {0xc0, 2};
  const std::array<uint8_t, 20> holder = {0xbb, 2};
  const std::array<uint8_t, 16> license = {0x11, 2};
  const std::string lock = dir + "/locks/" + format::HexEncode(capsule) + "-" +
                           format::HexEncode(holder) + "-" + format::HexEncode(license) + ".lock";
  std::ofstream(lock) << "123456789012345678901234567890\n";  // left by an older writer
  auto held = a.value()->Begin({capsule, holder, license}, /*wait=*/false);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  auto b = runtime::StateStore::Open(dir);
  ASSERT_TRUE(b.ok());
  auto second = b.value()->Begin({capsule, holder, license}, /*wait=*/false);
  ASSERT_EQ(second.status().code(), Code::StateLocked);
  EXPECT_NE(second.status().detail().find("(process " + std::to_string(getpid()) + ")"),
            std::string::npos)
      << second.status().detail();
}

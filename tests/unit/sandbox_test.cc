// Tests for the capsule sandbox (runtime-min/sandbox, docs/sandbox.md): static module checks,
// the capsule_v1 host rules, metering, and the child process. The malicious corpus is
// tests/sandbox/*.wat, compiled here with wat2wasm (flags from a leading `;; wat2wasm:` line)
// into $CAPSULE_TEST_TMP (or /tmp). Runs that make sense in both places run twice: in this
// process (RunInProcess) and in the `capsule-sandbox` child (RunSandboxed).
#include "runtime-min/sandbox/sandbox.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "runtime-min/sandbox/host_abi.h"
#include "runtime-min/sandbox/sandbox_wire.h"
#include "templates/registry.h"

namespace capsule::runtime {
namespace {

using Clock = std::chrono::steady_clock;

const std::string& TempDir() {
  static const std::string dir = [] {
    const char* env = getenv("CAPSULE_TEST_TMP");
    std::string base = env && *env ? env : "/tmp";
    mkdir(base.c_str(), 0700);
    std::string templ = base + "/sandbox_test.XXXXXX";
    if (!mkdtemp(templ.data())) return base;
    return templ;
  }();
  return dir;
}

// Removes the temporary directory (compiled corpus) when the test program ends.
class TempDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ignored;
    if (TempDir().find("/sandbox_test.") != std::string::npos) {
      std::filesystem::remove_all(TempDir(), ignored);
    }
  }
};
[[maybe_unused]] ::testing::Environment* const kCleanup =
    ::testing::AddGlobalTestEnvironment(new TempDirCleanup);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string WatToWasm(const std::string& wat_path, const std::string& flags) {
  std::string base = wat_path.substr(wat_path.find_last_of('/') + 1);
  std::string out = TempDir() + "/" + base + ".wasm";
  std::string cmd = "wat2wasm " + flags + " '" + wat_path + "' -o '" + out + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return ReadFile(out);
}

// tests/sandbox/<name>.wat → wasm bytes (cached).
const std::string& Wasm(const std::string& name) {
  static std::map<std::string, std::string> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  std::string path = std::string(CAPSULE_SOURCE_DIR) + "/tests/sandbox/" + name + ".wat";
  std::string text = ReadFile(path);
  EXPECT_FALSE(text.empty()) << path;
  std::string flags;
  const std::string marker = ";; wat2wasm: ";
  if (text.rfind(marker, 0) == 0)
    flags = text.substr(marker.size(), text.find('\n') - marker.size());
  return cache[name] = WatToWasm(path, flags);
}

// A module written by the test itself (for shapes that .wat cannot express briefly).
std::string WasmFromText(const std::string& name, const std::string& wat) {
  std::string path = TempDir() + "/" + name + ".wat";
  std::ofstream(path) << wat;
  return WatToWasm(path, "");
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// In-memory session: what a runtime would serve, and what it receives.
class FakeHost : public SessionHost {
 public:
  std::string manifest = R"({"title":"Test capsule","version":1})";
  std::string terms = R"({"mode":"full"})";
  std::vector<std::string> chunks;
  std::string preview;
  bool granted = true;
  int64_t now_ms = 1700000000123;
  int fail_chunk = -1;  // ReadChunk of this index fails with ChunkAuthFailed
  bool answers_ahead = true;

  std::string output;
  std::vector<std::pair<uint32_t, std::string>> logs;
  int read_chunk_calls = 0;
  std::string events;  // "R<index> " per ReadChunk, "W " per WriteOutput, in order

  std::string_view Manifest() override { return manifest; }
  std::string_view Terms() override { return terms; }
  uint32_t ChunkCount() override { return granted ? static_cast<uint32_t>(chunks.size()) : 0; }
  uint32_t ChunkSize(uint32_t index) override {
    return static_cast<uint32_t>(chunks.at(index).size());
  }
  Status ReadChunk(uint32_t index, std::string_view* plain) override {
    ++read_chunk_calls;
    events += "R" + std::to_string(index) + " ";
    if (static_cast<int>(index) == fail_chunk) {
      return Status(Code::ChunkAuthFailed, "chunk " + std::to_string(index));
    }
    *plain = chunks.at(index);
    return Status::Ok();
  }
  std::string_view Preview() override { return preview; }
  bool AnswersAhead() override { return answers_ahead; }
  Status WriteOutput(std::string_view bytes) override {
    output.append(bytes);
    events += "W ";
    return Status::Ok();
  }
  int64_t NowMs() override { return now_ms; }
  void Log(uint32_t level, std::string_view sanitized) override {
    logs.emplace_back(level, std::string(sanitized));
  }

  std::string Content() const {
    std::string all;
    for (const auto& c : chunks) all += c;
    return all;
  }
};

// Three chunks of distinct bytes, the last one short; pieces of 4 KiB cross chunk interiors.
void FillContent(FakeHost& host) {
  for (int c = 0; c < 3; ++c) {
    std::string chunk(c == 2 ? 5000 : 10000, '\0');
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((i * 7 + c * 31) & 0xFF);
    host.chunks.push_back(chunk);
  }
  host.preview = "PREVIEW:" + Repeat("0123456789", 900);  // 9008 bytes: three reads
}

SandboxLimits TestLimits() {
  SandboxLimits limits;
  limits.max_output_bytes = 1 << 20;
  limits.wall_ms = 10'000;
  return limits;
}

enum class Mode { kInProcess, kSandboxed };

Result<SandboxResult> RunGuest(Mode mode, const std::string& wasm, FakeHost& host,
                               const SandboxLimits& limits = TestLimits()) {
  if (mode == Mode::kInProcess) return RunInProcess(wasm, host, limits);
  return RunSandboxed(wasm, host, limits, CAPSULE_SANDBOX_BINARY);
}

std::string Describe(const Result<SandboxResult>& r) {
  if (!r.ok()) return r.status().ToString();
  return "outcome " + std::to_string(static_cast<int>(r->outcome)) + ", logic code " +
         std::to_string(r->logic_code);
}

class SandboxTest : public ::testing::TestWithParam<Mode> {};

INSTANTIATE_TEST_SUITE_P(Both, SandboxTest, ::testing::Values(Mode::kInProcess, Mode::kSandboxed),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return info.param == Mode::kInProcess ? "InProcess" : "Sandboxed";
                         });

// ---- well-behaved guests ----

TEST_P(SandboxTest, CopiesAllChunksToOutput) {
  FakeHost host;
  FillContent(host);
  auto r = RunGuest(GetParam(), Wasm("copy_chunks"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->outcome, SandboxOutcome::kCompleted);
  EXPECT_EQ(r->logic_code, 0);
  EXPECT_EQ(host.output, host.Content());
  EXPECT_EQ(r->output_bytes, host.Content().size());
  EXPECT_GT(r->instructions, 0u);
  // Pieces of one chunk come from one ReadChunk (the last chunk is cached).
  EXPECT_EQ(host.read_chunk_calls, 3);
}

TEST_P(SandboxTest, ServesThePreview) {
  FakeHost host;
  FillContent(host);
  host.granted = false;
  auto r = RunGuest(GetParam(), Wasm("serve_preview"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->outcome, SandboxOutcome::kCompleted);
  EXPECT_EQ(host.output, host.preview);
}

TEST_P(SandboxTest, ReadsManifestTermsAndClock) {
  FakeHost host;
  auto r = RunGuest(GetParam(), Wasm("echo_abi"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->logic_code, 0);
  EXPECT_EQ(host.output, host.manifest + host.terms);
}

// The terms in pieces, and past their end: small terms come with Go, 64 KiB ones too, larger
// ones are asked for; the answers are the in-process ones either way.
TEST_P(SandboxTest, TermsReadInPiecesWhateverTheirSize) {
  for (size_t size : {size_t{15}, size_t{64} << 10, size_t{100'000}}) {
    for (bool ahead : {true, false}) {
      FakeHost host;
      host.answers_ahead = ahead;
      host.terms = "{\"mode\":\"" + std::string(size - 11, 'x') + "\"}";
      ASSERT_EQ(host.terms.size(), size);
      SandboxLimits limits = TestLimits();
      limits.max_output_bytes = size;
      auto r = RunGuest(GetParam(), Wasm("terms_pieces"), host, limits);
      ASSERT_TRUE(r.ok()) << Describe(r);
      EXPECT_EQ(r->logic_code, 0) << "failing step, terms of " << size << " bytes";
      EXPECT_TRUE(host.output == host.terms) << size << " bytes of terms";
    }
  }
}

// Chunk 0 comes with Go; one that fails is no error unless the guest reads it, and then it is
// the same error as in process. Without answers ahead (a trace), nothing is read before asked.
TEST_P(SandboxTest, AFirstChunkThatFailsFailsOnlyWhenRead) {
  for (bool ahead : {true, false}) {
    FakeHost host;
    FillContent(host);
    host.fail_chunk = 0;
    host.answers_ahead = ahead;
    auto r = RunGuest(GetParam(), Wasm("echo_abi"), host);
    ASSERT_TRUE(r.ok()) << Describe(r);
    EXPECT_EQ(r->logic_code, 0);
    EXPECT_EQ(host.output, host.manifest + host.terms);
    if (!ahead) {
      EXPECT_EQ(host.read_chunk_calls, 0);
    }

    FakeHost reader;
    FillContent(reader);
    reader.fail_chunk = 0;
    reader.answers_ahead = ahead;
    auto failed = RunGuest(GetParam(), Wasm("copy_chunks"), reader);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), Code::ChunkAuthFailed) << Describe(failed);
    EXPECT_EQ(reader.output, "");
  }
}

TEST_P(SandboxTest, EmptyPayloadLooksDeniedAndPreviewStaysReadable) {
  FakeHost host;
  FillContent(host);
  host.granted = false;
  auto r = RunGuest(GetParam(), Wasm("payload_denied"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->logic_code, 0) << "failing step";
  EXPECT_EQ(host.read_chunk_calls, 0);
}

TEST_P(SandboxTest, MemoryGrowStopsAtTheDeclaredMaximum) {
  FakeHost host;
  auto r = RunGuest(GetParam(), Wasm("memory_grow"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->logic_code, 0) << "failing step";
}

TEST_P(SandboxTest, LogicRefusalCarriesItsCode) {
  FakeHost host;
  auto r = RunGuest(GetParam(), Wasm("refuse3"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->outcome, SandboxOutcome::kRefusedByLogic);
  EXPECT_EQ(r->logic_code, 3);
}

// ---- modules rejected before they run ----

struct Rejection {
  const char* wat;
  Code code;
};

const Rejection kRejections[] = {
    {"memory_no_max", Code::ModuleMemoryUnbounded},
    {"memory_huge", Code::ModuleMemoryUnbounded},
    {"memory_above_cap", Code::ModuleMemoryUnbounded},
    {"table_no_max", Code::ModuleTableTooLarge},
    {"table_huge", Code::ModuleTableTooLarge},
    {"table_grow", Code::ModuleFeatureRefused},
    {"forbidden_import", Code::ModuleForbiddenImport},
    {"wrong_signature", Code::ModuleForbiddenImport},
    {"unknown_abi_import", Code::ModuleForbiddenImport},
    {"imported_memory", Code::ModuleForbiddenImport},
    {"missing_run", Code::ModuleBadExports},
    {"missing_memory_export", Code::ModuleBadExports},
    {"bad_run_type", Code::ModuleBadExports},
    {"feature_simd", Code::ModuleFeatureRefused},
    {"feature_threads", Code::ModuleFeatureRefused},
    {"feature_multi_memory", Code::ModuleFeatureRefused},
    {"feature_exceptions", Code::ModuleFeatureRefused},
    {"feature_tail_call", Code::ModuleFeatureRefused},
};

TEST(SandboxCheck, RejectsTheMaliciousModules) {
  for (const Rejection& rejection : kRejections) {
    Status status = CheckModule(Wasm(rejection.wat), TestLimits());
    EXPECT_EQ(status.code(), rejection.code) << rejection.wat << ": " << status.ToString();
  }
}

TEST_P(SandboxTest, RejectedModulesNeverRun) {
  for (const Rejection& rejection : kRejections) {
    FakeHost host;
    auto r = RunGuest(GetParam(), Wasm(rejection.wat), host);
    ASSERT_FALSE(r.ok()) << rejection.wat;
    EXPECT_EQ(r.status().code(), rejection.code) << rejection.wat << ": " << Describe(r);
    EXPECT_TRUE(host.output.empty());
    EXPECT_TRUE(host.logs.empty());
  }
}

TEST(SandboxCheck, AcceptsTheWellBehavedModules) {
  for (const char* name : {"copy_chunks", "serve_preview", "echo_abi", "bad_pointers",
                           "log_escapes", "infinite_loop", "recursion_bomb"}) {
    Status status = CheckModule(Wasm(name), TestLimits());
    EXPECT_TRUE(status.ok()) << name << ": " << status.ToString();
  }
}

// The runtime skips the parent's CheckModule for bundled templates under caps at least the
// defaults (runtime.cc, KnownToPassChecks): this is the fact it relies on.
TEST(SandboxCheck, BundledTemplatesPassTheChecks) {
  ASSERT_FALSE(capsule::templates::All().empty());
  for (const auto& t : capsule::templates::All()) {
    std::string module("\0asm\1\0\0\0", 8);
    module.append(reinterpret_cast<const char*>(t.code.data()), t.code.size());
    Status status = CheckModule(module, SandboxLimits{});
    EXPECT_TRUE(status.ok()) << t.name << ": " << status.ToString();
  }
}

TEST(SandboxCheck, MemoryCapFollowsTheLimits) {
  SandboxLimits limits = TestLimits();
  limits.max_memory_bytes = 65536;  // one page
  EXPECT_EQ(CheckModule(Wasm("memory_grow"), limits).code(), Code::ModuleMemoryUnbounded);
  limits.max_memory_bytes = 2 * 65536;
  EXPECT_TRUE(CheckModule(Wasm("memory_grow"), limits).ok());
  limits.max_table_elements = 5;
  EXPECT_EQ(CheckModule(Wasm("table_grow"), limits).code(), Code::ModuleFeatureRefused);
}

TEST(SandboxCheck, RejectsGarbageAndTruncatedModules) {
  EXPECT_EQ(CheckModule("", TestLimits()).code(), Code::ModuleInvalid);
  EXPECT_EQ(CheckModule("not wasm at all", TestLimits()).code(), Code::ModuleInvalid);
  std::string good = Wasm("copy_chunks");
  // The 8-byte header alone is a valid empty module: it has no memory to export.
  EXPECT_EQ(CheckModule(good.substr(0, 8), TestLimits()).code(), Code::ModuleBadExports);
  for (size_t cut : {size_t{4}, size_t{9}, good.size() / 2, good.size() - 1}) {
    EXPECT_EQ(CheckModule(good.substr(0, cut), TestLimits()).code(), Code::ModuleInvalid) << cut;
  }
}

TEST(SandboxCheck, RefusesFunctionsWithTooManyLocals) {
  std::string wasm = WasmFromText("locals_bomb", R"((module
    (memory (export "memory") 1 1)
    (func (export "capsule_run") (result i32) (local )" +
                                                     Repeat("i32 ", 5000) + R"() (i32.const 0))))");
  EXPECT_EQ(CheckModule(wasm, TestLimits()).code(), Code::ModuleFeatureRefused);
}

TEST(SandboxCheck, ErrorDetailsAreSafeToPrint) {
  std::string wasm = WasmFromText("evil_name", R"((module
    (import "\1b]0;pwned\07" "x" (func))
    (memory (export "memory") 1 1)
    (func (export "capsule_run") (result i32) (i32.const 0))))");
  Status status = CheckModule(wasm, TestLimits());
  EXPECT_EQ(status.code(), Code::ModuleForbiddenImport);
  EXPECT_EQ(status.detail().find('\x1b'), std::string::npos) << status.detail();
  EXPECT_NE(status.detail().find("\\x1b"), std::string::npos) << status.detail();
}

// ---- stopped while running ----

TEST_P(SandboxTest, InfiniteLoopHitsTheInstructionBudget) {
  FakeHost host;
  SandboxLimits limits = TestLimits();
  limits.max_instructions = 5'000'000;
  auto r = RunGuest(GetParam(), Wasm("infinite_loop"), host, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxInstructionLimit) << Describe(r);
}

TEST_P(SandboxTest, InfiniteLoopWithHugeBudgetHitsTheWallClock) {
  FakeHost host;
  SandboxLimits limits = TestLimits();
  limits.max_instructions = UINT64_MAX;
  limits.wall_ms = 300;
  auto start = Clock::now();
  auto r = RunGuest(GetParam(), Wasm("infinite_loop"), host, limits);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxTimeLimit) << Describe(r);
  EXPECT_LT(elapsed.count(), 3000);
}

// The count of a run the child ended itself comes back with the outcome: exactly the budget
// for the instruction limit (slices are cut to what is left), something for a trap or the wall
// clock (the child checks it); a run the parent ended (the output cap) has none.
TEST(Sandboxed, StoppedRunsReportWhatTheyRanWhenTheChildSays) {
  std::optional<uint64_t> ran;
  auto run = [&ran](const char* wasm, const SandboxLimits& limits) {
    FakeHost host;
    return RunSandboxed(Wasm(wasm), host, limits, CAPSULE_SANDBOX_BINARY, &ran);
  };
  SandboxLimits limits = TestLimits();
  limits.max_instructions = 5'000'000;
  auto r = run("infinite_loop", limits);
  ASSERT_EQ(r.status().code(), Code::SandboxInstructionLimit) << Describe(r);
  ASSERT_TRUE(ran.has_value());
  EXPECT_EQ(*ran, 5'000'000u);

  auto t = run("trap_unreachable", TestLimits());
  ASSERT_EQ(t.status().code(), Code::SandboxTrap) << Describe(t);
  ASSERT_TRUE(ran.has_value());
  EXPECT_GT(*ran, 0u);
  EXPECT_LT(*ran, 5'000'000u);

  limits.max_instructions = UINT64_MAX;
  limits.wall_ms = 300;
  auto w = run("infinite_loop", limits);
  ASSERT_EQ(w.status().code(), Code::SandboxTimeLimit) << Describe(w);
  ASSERT_TRUE(ran.has_value());
  EXPECT_GT(*ran, 5'000'000u);

  limits = TestLimits();
  limits.max_output_bytes = 100'000;
  auto o = run("output_flood", limits);
  ASSERT_EQ(o.status().code(), Code::SandboxOutputLimit) << Describe(o);
  EXPECT_FALSE(ran.has_value());
}

TEST_P(SandboxTest, StartFunctionIsMeteredToo) {
  FakeHost host;
  SandboxLimits limits = TestLimits();
  limits.max_instructions = 1'000'000;
  auto r = RunGuest(GetParam(), Wasm("start_loop"), host, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxInstructionLimit) << Describe(r);
}

TEST_P(SandboxTest, RecursionBombTraps) {
  FakeHost host;
  auto r = RunGuest(GetParam(), Wasm("recursion_bomb"), host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxTrap) << Describe(r);
  EXPECT_NE(r.status().detail().find("call stack exhausted"), std::string::npos)
      << r.status().detail();
}

TEST_P(SandboxTest, ValueStackBombHitsTheMemoryLimit) {
  // Each frame allocates 4000 locals: the value stack passes 1M values long before wabt's call
  // stack (1638 frames) is full.
  std::string wasm = WasmFromText("value_stack_bomb", R"((module
    (memory (export "memory") 1 1)
    (func $deep (local )" + Repeat("i64 ", 4000) + R"() (call $deep))
    (func (export "capsule_run") (result i32) (call $deep) (i32.const 0))))");
  FakeHost host;
  auto r = RunGuest(GetParam(), wasm, host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxMemoryLimit) << Describe(r);
}

TEST_P(SandboxTest, UnreachableTraps) {
  FakeHost host;
  auto r = RunGuest(GetParam(), Wasm("trap_unreachable"), host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxTrap) << Describe(r);
  EXPECT_NE(r.status().detail().find("unreachable"), std::string::npos) << r.status().detail();
}

TEST_P(SandboxTest, OutOfBoundsLoadTraps) {
  FakeHost host;
  auto r = RunGuest(GetParam(), Wasm("trap_oob_load"), host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxTrap) << Describe(r);
}

TEST_P(SandboxTest, BadPointersGetBoundsErrorsNotTraps) {
  FakeHost host;
  FillContent(host);
  auto r = RunGuest(GetParam(), Wasm("bad_pointers"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->logic_code, 0) << "failing step";
  EXPECT_TRUE(host.output.empty());
  EXPECT_TRUE(host.logs.empty());
}

TEST_P(SandboxTest, ReadsPastTheEndGetRangeErrors) {
  FakeHost host;
  FillContent(host);
  auto r = RunGuest(GetParam(), Wasm("chunk_range"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->logic_code, 0) << "failing step";
}

TEST_P(SandboxTest, OutputBeyondTheCapEndsTheSession) {
  FakeHost host;
  SandboxLimits limits = TestLimits();
  limits.max_output_bytes = 100'000;
  auto r = RunGuest(GetParam(), Wasm("output_flood"), host, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxOutputLimit) << Describe(r);
  EXPECT_EQ(host.output.size(), 65536u);  // the write that would cross the cap is not applied
}

TEST_P(SandboxTest, NoOutputCapMeansNoOutput) {
  FakeHost host;
  FillContent(host);
  SandboxLimits limits = TestLimits();
  limits.max_output_bytes = 0;
  auto r = RunGuest(GetParam(), Wasm("copy_chunks"), host, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::SandboxOutputLimit);
  EXPECT_TRUE(host.output.empty());
}

TEST_P(SandboxTest, HostErrorEndsTheSessionWithItsStatus) {
  FakeHost host;
  FillContent(host);
  host.fail_chunk = 1;
  auto r = RunGuest(GetParam(), Wasm("copy_chunks"), host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::ChunkAuthFailed) << Describe(r);
  EXPECT_EQ(host.output, host.chunks[0]);  // nothing of the failed chunk
}

// ---- the channel to the child (docs/sandbox.md §3): read-ahead, collected output, pieces ----
// The sandboxed run must give the guest and the user exactly what the in-process run gives.

// Reads every chunk whole with one chunk_read into memory at 0 and writes it with one
// output_write, first to last or last to first.
std::string WholeChunksWasm(bool reverse) {
  std::string index = reverse
                          ? "(i32.sub (i32.sub (local.get $count) (i32.const 1)) (local.get $k))"
                          : "(local.get $k)";
  return WasmFromText(reverse ? "whole_chunks_reverse" : "whole_chunks", R"((module
  (import "capsule_v1" "chunk_count" (func $chunk_count (result i32)))
  (import "capsule_v1" "chunk_size" (func $chunk_size (param i32) (result i32)))
  (import "capsule_v1" "chunk_read" (func $chunk_read (param i32 i32 i32 i32) (result i32)))
  (import "capsule_v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 64 64)
  (func (export "capsule_run") (result i32)
    (local $count i32) (local $k i32) (local $i i32) (local $size i32)
    (local.set $count (call $chunk_count))
    (if (i32.lt_s (local.get $count) (i32.const 0)) (then (return (i32.const 4))))
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $i )" + index + R"()
        (local.set $size (call $chunk_size (local.get $i)))
        (if (i32.lt_s (local.get $size) (i32.const 0)) (then (return (i32.const 5))))
        (if (i32.ne (call $chunk_read (local.get $i) (i32.const 0) (i32.const 0)
                                      (i32.const 4194304)) (local.get $size))
          (then (return (i32.const 6))))
        (if (i32.ne (call $output_write (i32.const 0) (local.get $size)) (local.get $size))
          (then (return (i32.const 7))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $chunks)))
    (i32.const 0)))
)");
}

// `n` chunks of `size` bytes (the last one `last` bytes), each with its own bytes.
void FillChunks(FakeHost& host, int n, size_t size, size_t last) {
  for (int c = 0; c < n; ++c) {
    std::string chunk(c == n - 1 ? last : size, '\0');
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((i * 13 + c * 71) >> 1);
    host.chunks.push_back(chunk);
  }
}

TEST_P(SandboxTest, WholeChunkReadsInAnyOrderGiveTheContent) {
  for (bool reverse : {false, true}) {
    FakeHost host;
    FillChunks(host, 40, 40'000, 1'234);  // up to 25 chunks per read, then a short one
    SandboxLimits limits = TestLimits();
    limits.max_output_bytes = host.Content().size();
    auto r = RunGuest(GetParam(), WholeChunksWasm(reverse), host, limits);
    ASSERT_TRUE(r.ok()) << Describe(r);
    EXPECT_EQ(r->logic_code, 0);
    std::string want;
    for (int c = 0; c < 40; ++c) want += host.chunks[reverse ? 39 - c : c];
    EXPECT_TRUE(host.output == want) << "reverse " << reverse;
    EXPECT_EQ(r->output_bytes, want.size());
  }
}

// A host that lists calls as the guest makes them (capsule-run test --trace) gets no chunk read
// ahead: each chunk is read when the guest asks for it, after the previous one went out.
TEST_P(SandboxTest, WithoutAnswersAheadEveryReadWaitsForTheGuest) {
  for (bool ahead : {false, true}) {
    FakeHost host;
    FillChunks(host, 12, 40'000, 40'000);
    host.answers_ahead = ahead;
    SandboxLimits limits = TestLimits();
    limits.max_output_bytes = host.Content().size();
    auto r = RunGuest(GetParam(), WholeChunksWasm(false), host, limits);
    ASSERT_TRUE(r.ok()) << Describe(r);
    EXPECT_TRUE(host.output == host.Content());
    std::string lockstep;
    for (int c = 0; c < 12; ++c) lockstep += "R" + std::to_string(c) + " W ";
    if (!ahead || GetParam() == Mode::kInProcess) {
      EXPECT_EQ(host.events, lockstep) << "ahead " << ahead;
    } else {
      EXPECT_NE(host.events, lockstep) << "the sandboxed run read nothing ahead";
    }
  }
}

TEST_P(SandboxTest, AChunkThatFailsAheadFailsWhenTheGuestReachesIt) {
  FakeHost host;
  FillChunks(host, 40, 40'000, 40'000);
  host.fail_chunk = 20;  // inside a read-ahead (of chunk 15: 16 … 30)
  auto r = RunGuest(GetParam(), WholeChunksWasm(false), host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::ChunkAuthFailed) << Describe(r);
  std::string before;
  for (int c = 0; c < 20; ++c) before += host.chunks[c];
  EXPECT_TRUE(host.output == before) << host.output.size() << " bytes of output";
}

TEST_P(SandboxTest, ReadsAndWritesLargerThanTheWindowAreas) {
  FakeHost host;
  FillChunks(host, 3, 1'500'000, 700'000);  // a read area and an output area are 1 MiB
  SandboxLimits limits = TestLimits();
  limits.max_output_bytes = host.Content().size();
  auto r = RunGuest(GetParam(), WholeChunksWasm(false), host, limits);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_TRUE(host.output == host.Content());
  // A large write that would pass the cap writes nothing of itself; what came before stays.
  for (size_t cap : {size_t{3'000'100}, size_t{1'000'000}}) {
    FakeHost capped;
    FillChunks(capped, 3, 1'500'000, 700'000);
    limits.max_output_bytes = cap;
    auto c = RunGuest(GetParam(), WholeChunksWasm(false), capped, limits);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Code::SandboxOutputLimit) << Describe(c);
    EXPECT_EQ(capped.output.size(), cap > 3'000'000 ? 3'000'000u : 0u);
  }
}

TEST_P(SandboxTest, LogsAreSanitizedCappedAndClamped) {
  FakeHost host;
  auto r = RunGuest(GetParam(), Wasm("log_escapes"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  ASSERT_EQ(host.logs.size(), 3u);
  EXPECT_EQ(host.logs[0].first, 0u);
  EXPECT_EQ(host.logs[0].second, "red plain\ttabbell after  c1  bidi");
  EXPECT_EQ(host.logs[1].first, 2u);  // level 7 clamped to error
  EXPECT_EQ(host.logs[1].second, "??ok");
  EXPECT_EQ(host.logs[2].first, 1u);
  EXPECT_EQ(host.logs[2].second, std::string(kMaxLogLineBytes, 'A'));
}

TEST_P(SandboxTest, LogFloodIsCut) {
  FakeHost host;
  auto r = RunGuest(GetParam(), Wasm("log_flood"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  ASSERT_EQ(host.logs.size(), kMaxLogLines + 1);
  EXPECT_EQ(host.logs[kMaxLogLines - 1].second, "spam");
  EXPECT_NE(host.logs.back().second.find("log limit"), std::string::npos);
}

TEST_P(SandboxTest, GarbageModuleIsInvalid) {
  FakeHost host;
  auto r = RunGuest(GetParam(), std::string("\0asm\x01\0\0\0\x01\x05", 10), host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::ModuleInvalid) << Describe(r);
}

// ---- the bundled templates (templates/*.c, built into <build>/templates) ----

std::string TemplateWasm(const std::string& file = "standard") {
  return ReadFile(std::string(CAPSULE_BINARY_DIR) + "/templates/" + file + ".wasm");
}

TEST_P(SandboxTest, TemplateCopiesContentInFullMode) {
  std::string wasm = TemplateWasm();
  ASSERT_FALSE(wasm.empty()) << "build the capsule_template target first";
  ASSERT_TRUE(CheckModule(wasm, TestLimits()).ok()) << CheckModule(wasm, TestLimits()).ToString();
  FakeHost host;
  FillContent(host);
  host.chunks.push_back(std::string(70'000, 'z'));  // larger than the template's 64 KiB buffer
  host.terms = R"({"holder":"0x01","mode":"full","model":{"type":"buy"}})";
  auto r = RunGuest(GetParam(), wasm, host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->outcome, SandboxOutcome::kCompleted);
  EXPECT_EQ(host.output, host.Content());
}

TEST_P(SandboxTest, TemplateServesThePreviewInPreviewMode) {
  std::string wasm = TemplateWasm();
  ASSERT_FALSE(wasm.empty());
  FakeHost host;
  FillContent(host);
  host.granted = false;
  host.terms = R"({"mode":"preview"})";
  auto r = RunGuest(GetParam(), wasm, host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->outcome, SandboxOutcome::kCompleted);
  EXPECT_EQ(host.output, host.preview);
}

TEST_P(SandboxTest, TemplateRefusesPreviewModeWithoutPreview) {
  FakeHost host;
  host.granted = false;
  host.terms = R"({"mode":"preview"})";
  auto r = RunGuest(GetParam(), TemplateWasm(), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->outcome, SandboxOutcome::kRefusedByLogic);
  EXPECT_EQ(r->logic_code, 1);
  EXPECT_TRUE(host.output.empty());
}

TEST_P(SandboxTest, TemplateInFullModeWithoutGrantRefuses) {
  FakeHost host;
  FillContent(host);
  host.granted = false;  // terms say full, but the host did not grant the payload
  host.terms = R"({"mode":"full","model":{"type":"buy"}})";
  auto r = RunGuest(GetParam(), TemplateWasm(), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r->outcome, SandboxOutcome::kRefusedByLogic);
  EXPECT_EQ(r->logic_code, 4);
  EXPECT_TRUE(host.output.empty());
}

// Each template's decision on the terms the host wrote (host-abi.md §4): 0 = served the
// content, 1000 = served the preview, else the refusal code. FakeHost's clock is 1700000000.123.
struct TemplateCase {
  const char* file;
  const char* terms;
  int want;
};
const TemplateCase kTemplateCases[] = {
    {"buy", R"({"mode":"full","model":{"type":"buy"}})", 0},
    {"buy", R"({"mode":"full","model":{"type":"resale"}})", 0},
    {"buy", R"({"mode":"full","model":{"type":"rental"},"expires":1800000000})", 10},
    {"buy", R"({"mode":"preview"})", 1000},
    {"buy", R"({"mode":"weird"})", 1000},  // anything but "full" is the restrictive case
    {"pay_per_view",
     R"({"mode":"full","model":{"plays":3,"type":"pay_per_view"},"plays_remaining":0})", 0},
    {"pay_per_view", R"({"mode":"full","model":{"type":"pay_per_view"}})", 12},
    {"pay_per_view", R"({"mode":"full","model":{"type":"pay_per_view"},"plays_remaining":-1})", 12},
    {"pay_per_view", R"({"mode":"full","model":{"type":"buy"}})", 10},
    {"rental", R"({"expires":1700000001,"mode":"full","model":{"duration_s":60,"type":"rental"}})",
     0},
    {"rental", R"({"expires":1700000000,"mode":"full","model":{"type":"rental"}})", 11},
    {"rental", R"({"mode":"full","model":{"type":"rental"}})", 11},
    {"rental", R"({"expires":"1800000000","mode":"full","model":{"type":"rental"}})", 11},
    {"subscription", R"({"expires":1800000000,"mode":"full","model":{"type":"subscription"}})", 0},
    {"subscription", R"({"expires":1600000000,"mode":"full","model":{"type":"subscription"}})", 11},
    {"subscription", R"({"mode":"preview"})", 1000},
    {"free", R"({"capsule_id":"00","mode":"full","model":{"type":"free"}})", 0},
    {"free", R"({"mode":"full","model":{"type":"free_with_ads"},"ad_played":true})", 10},
    {"free_with_ads", R"({"ad_played":true,"mode":"full","model":{"type":"free_with_ads"}})", 0},
    {"free_with_ads", R"({"mode":"full","model":{"type":"free_with_ads"}})", 13},
    {"free_with_ads", R"({"ad_played":false,"mode":"full","model":{"type":"free_with_ads"}})", 13},
    {"standard", R"({"mode":"full","model":{"type":"buy"}})", 0},
    {"standard", R"({"expires":1800000000,"mode":"full","model":{"type":"rental"}})", 0},
    {"standard", R"({"mode":"full","model":{"type":"rental"}})", 11},
    {"standard", R"({"mode":"full","model":{"type":"pay_per_view"},"plays_remaining":2})", 0},
    {"standard", R"({"mode":"full","model":{"type":"lottery"}})", 10},
    // A nested "type" or "mode" must not be taken for the top-level one.
    {"standard", R"({"a":{"mode":"full"},"mode":"preview","model":{"type":"buy"}})", 1000},
    {"buy", R"({"mode":"full","model":{"price":{"type":"buy"},"type":"rental"}})", 10},
    {"standard", R"({"mode":"full"})", 14},
    {"standard", R"({"mode":"full","model":{"type":"buy"})", 14},  // truncated
    {"standard", R"(not json)", 14},
    {"standard", R"({"mode":"full","model":{"type":"buy"},"x":"\"}"})", 0},  // escapes
};

TEST_P(SandboxTest, EveryTemplateDecidesFromTheTerms) {
  for (const auto& c : kTemplateCases) {
    SCOPED_TRACE(std::string(c.file) + " " + c.terms);
    std::string wasm = TemplateWasm(c.file);
    ASSERT_FALSE(wasm.empty()) << c.file;
    FakeHost host;
    FillContent(host);
    host.terms = c.terms;
    host.granted = c.want != 1000;
    auto r = RunGuest(GetParam(), wasm, host);
    ASSERT_TRUE(r.ok()) << Describe(r);
    if (c.want == 0 || c.want == 1000) {
      EXPECT_EQ(r->outcome, SandboxOutcome::kCompleted);
      EXPECT_EQ(host.output, c.want == 0 ? host.Content() : host.preview);
    } else {
      EXPECT_EQ(r->outcome, SandboxOutcome::kRefusedByLogic);
      EXPECT_EQ(r->logic_code, c.want);
      EXPECT_TRUE(host.output.empty()) << "a refusing template released bytes";
    }
  }
}

// The text watermark: a mark line first and after the first line end past each 4096 bytes
// since the last mark; removing the mark lines gives the text back exactly.
TEST_P(SandboxTest, WatermarkTemplateWeavesTheHolderIntoText) {
  FakeHost host;
  std::string text;
  for (int i = 0; text.size() < 150'000; ++i)
    text += "line " + std::to_string(i) + std::string(static_cast<size_t>(i % 97), 'x') + "\n";
  text += "last line without end";
  for (size_t off = 0; off < text.size(); off += 65536)
    host.chunks.push_back(text.substr(off, 65536));
  const std::string holder = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
  const std::string id = "0123456789abcdef0123456789abcdef";
  host.terms = R"({"capsule_id":")" + id + R"(","holder":")" + holder +
               R"(","mode":"full","model":{"type":"buy"}})";
  auto r = RunGuest(GetParam(), TemplateWasm("watermark_text"), host);
  ASSERT_TRUE(r.ok()) << Describe(r);
  ASSERT_EQ(r->outcome, SandboxOutcome::kCompleted);
  const std::string mark = "[licensed to " + holder + " | capsule " + id + "]\n";
  ASSERT_EQ(host.output.compare(0, mark.size(), mark), 0) << host.output.substr(0, 100);
  std::string stripped;
  size_t marks = 0, pos = 0, since = 0, longest_gap = 0;
  while (pos < host.output.size()) {
    size_t end = host.output.find('\n', pos);
    end = end == std::string::npos ? host.output.size() : end + 1;
    std::string line = host.output.substr(pos, end - pos);
    if (line == mark) {
      ++marks;
      longest_gap = std::max(longest_gap, since);
      since = 0;
    } else {
      stripped += line;
      since += line.size();
    }
    pos = end;
  }
  EXPECT_EQ(stripped, text);
  EXPECT_GE(marks, text.size() / (4096 + 200));  // one per ~4 KiB, never a long unmarked run
  EXPECT_LE(marks, text.size() / 4096 + 1);
  EXPECT_LE(longest_gap, 4096u + 200u);

  // Without a licensee (free text) there is nothing to weave in: the text is served unmarked.
  FakeHost free;
  free.chunks = host.chunks;
  free.terms = R"({"capsule_id":")" + id + R"(","mode":"full","model":{"type":"free"}})";
  auto f = RunGuest(GetParam(), TemplateWasm("watermark_text"), free);
  ASSERT_TRUE(f.ok()) << Describe(f);
  EXPECT_EQ(free.output, text);
}

// ---- the log sanitiser on its own ----

TEST(SandboxLog, StripsControlSequences) {
  EXPECT_EQ(SanitizeLogText("plain text"), "plain text");
  EXPECT_EQ(SanitizeLogText("\x1b[1;31mbold\x1b[0m"), "bold");
  EXPECT_EQ(SanitizeLogText("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"), "alinkb");
  EXPECT_EQ(SanitizeLogText("a\x1bPdcs\x1b\\b"), "ab");
  EXPECT_EQ(SanitizeLogText("a\x1b(Bb"), "ab");
  EXPECT_EQ(SanitizeLogText("a\x1b"), "a");
  EXPECT_EQ(SanitizeLogText("a\x1b]unterminated"), "a");
  EXPECT_EQ(SanitizeLogText(std::string("a\0b\x7f\x08"
                                        "c\td",
                                        8)),
            "abc\td");
  EXPECT_EQ(SanitizeLogText("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(SanitizeLogText("\xc2\x85next\xc2\x9b"
                            "2Jx"),
            "nextx");
  EXPECT_EQ(SanitizeLogText("\xe2\x80\xae"
                            "evil\xe2\x81\xa6"),
            "evil");
  EXPECT_EQ(SanitizeLogText("\x9b"
                            "2J"),
            "?2J");                                             // a raw C1 byte is not UTF-8
  EXPECT_EQ(SanitizeLogText("\xc0\xaf\xed\xa0\x80"), "?????");  // overlong, surrogate
  EXPECT_EQ(SanitizeLogText("\xf0\x9f\x98"), "???");            // truncated sequence
}

TEST(SandboxLog, PrintableEscapes) {
  EXPECT_EQ(Printable("ok"), "ok");
  EXPECT_EQ(Printable("a\x1b\\"), "a\\x1b\\x5c");
  EXPECT_EQ(Printable(std::string(300, 'x'), 10), "xxxxxxxxxx...");
}

// ---- the child process ----

int CountOpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

TEST(SandboxProcess, MissingBinaryIsAnIoError) {
  FakeHost host;
  auto r = RunSandboxed(Wasm("refuse3"), host, TestLimits(), "/nonexistent/capsule-sandbox");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::IoOpen) << r.status().ToString();
}

TEST(SandboxProcess, ASpawnedChildServesOneSessionAndAnUnusedOneLeavesNothing) {
  int fds_before = CountOpenFds();
  {
    auto spawned = SpawnSandbox(CAPSULE_SANDBOX_BINARY);
    ASSERT_TRUE(spawned.ok()) << spawned.status().ToString();
    FakeHost host;
    FillContent(host);
    auto r = RunSandboxed(Wasm("copy_chunks"), host, TestLimits(), std::move(spawned.value()));
    ASSERT_TRUE(r.ok()) << Describe(r);
    EXPECT_EQ(host.output, host.Content());
  }
  {  // prepared ahead (module sent, checked and instantiated by the child), run later
    auto spawned = SpawnSandbox(CAPSULE_SANDBOX_BINARY);
    ASSERT_TRUE(spawned.ok()) << spawned.status().ToString();
    ASSERT_TRUE(PrepareSandbox(*spawned.value(), Wasm("copy_chunks"), TestLimits()).ok());
    FakeHost host;
    FillContent(host);
    auto r = RunSandboxed(Wasm("copy_chunks"), host, TestLimits(), std::move(spawned.value()));
    ASSERT_TRUE(r.ok()) << Describe(r);
    EXPECT_EQ(host.output, host.Content());
  }
  {  // a module the child refuses while the caller is elsewhere: reported by the session
    auto spawned = SpawnSandbox(CAPSULE_SANDBOX_BINARY);
    ASSERT_TRUE(spawned.ok());
    const std::string garbage = "not a WebAssembly module";
    ASSERT_TRUE(PrepareSandbox(*spawned.value(), garbage, TestLimits()).ok());
    FakeHost host;
    auto r = RunSandboxed(garbage, host, TestLimits(), std::move(spawned.value()));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::ModuleInvalid) << Describe(r);
  }
  for (int i = 0; i < 5; ++i) {
    auto unused = SpawnSandbox(CAPSULE_SANDBOX_BINARY);  // an open refused before its session
    ASSERT_TRUE(unused.ok()) << unused.status().ToString();
    if (i % 2) {
      ASSERT_TRUE(PrepareSandbox(*unused.value(), Wasm("copy_chunks"), TestLimits()).ok());
    }
  }
  auto missing = SpawnSandbox("/nonexistent/capsule-sandbox");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::IoOpen);
  EXPECT_EQ(CountOpenFds(), fds_before);
  errno = 0;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);  // every child reaped
  EXPECT_EQ(errno, ECHILD);
}

TEST(SandboxProcess, StartedByHandItSaysSoAndExits) {
  std::string cmd = std::string("'") + CAPSULE_SANDBOX_BINARY + "' 2>/dev/null </dev/null";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

// A stand-in for capsule-sandbox (a shell script) that misbehaves: the parent must not trust,
// wait for or leak it.
std::string FakeChild(const std::string& name, const std::string& body) {
  std::string path = TempDir() + "/" + name + ".sh";
  std::ofstream(path) << "#!/bin/bash\n" << body << "\n";
  chmod(path.c_str(), 0700);
  return path;
}

TEST(SandboxProcess, ParentSurvivesMisbehavingChildren) {
  int fds_before = CountOpenFds();
  struct Case {
    const char* name;
    const char* body;
    Code code;
    const char* detail;
  };
  const Case cases[] = {
      // A Request is 32 bytes: op, a, b, c (u32), d (u64), pending, reserved (u32).
      {"garbage", R"(printf '\xff\xff\xff\xff%028d' 0 >&3; exec sleep 30)", Code::SandboxCrashed,
       "protocol"},
      {"oversized_write",  // output_write claiming 4 GiB pending in the 1 MiB output area
       R"(printf '\x06\x00\x00\x00%020d\xff\xff\xff\xff\x00\x00\x00\x00' 0 >&3; exec sleep 30)",
       Code::SandboxCrashed, "protocol"},
      {"oversized_read",  // chunk_read of 4 GiB into the 1 MiB read area
       R"(printf '\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff%08d\x00\x00\x00\x00\x00\x00\x00\x00' 0 >&3; exec sleep 30)",
       Code::SandboxCrashed, "protocol"},
      {"bogus_outcome",
       R"(printf '\x09\x00\x00\x00\x00\x00\x00\x01%016d\x00\x00\x00\x00\x00\x00\x00\x00' 0 >&3; exec sleep 30)",
       Code::SandboxCrashed, "protocol"},
      {"exits", "exit 7", Code::SandboxCrashed, "status 7"},
      {"silent", "exec sleep 30", Code::SandboxTimeLimit, "killed"},
  };
  SandboxLimits limits = TestLimits();
  limits.wall_ms = 100;  // the parent's own deadline: 100 ms + 2 s grace
  for (const Case& c : cases) {
    FakeHost host;
    auto start = Clock::now();
    auto r = RunSandboxed(Wasm("refuse3"), host, limits, FakeChild(c.name, c.body));
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), c.code) << c.name << ": " << r.status().ToString();
    EXPECT_NE(r.status().detail().find(c.detail), std::string::npos) << r.status().detail();
    EXPECT_LT(elapsed.count(), 5000) << c.name;
  }
  EXPECT_EQ(CountOpenFds(), fds_before);
  errno = 0;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// While a sandboxed guest spins, its process is confined: seccomp filter mode, rlimits set.
TEST(SandboxProcess, ChildIsConfined) {
  FakeHost host;
  SandboxLimits limits = TestLimits();
  limits.max_instructions = UINT64_MAX;
  limits.wall_ms = 1500;
  Result<SandboxResult> result = Status(Code::Internal, "not run");
  std::thread runner(
      [&] { result = RunSandboxed(Wasm("infinite_loop"), host, limits, CAPSULE_SANDBOX_BINARY); });
  std::string status, limits_text;
  for (int attempt = 0; attempt < 100 && status.find("Seccomp:\t2") == std::string::npos;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::string children = ReadFile("/proc/self/task/" + std::to_string(gettid()) + "/children");
    for (DIR* d = opendir("/proc/self/task"); d;) {
      dirent* e = readdir(d);
      if (!e) {
        closedir(d);
        break;
      }
      children += " " + ReadFile(std::string("/proc/self/task/") + e->d_name + "/children");
    }
    std::istringstream pids(children);
    for (std::string pid; pids >> pid;) {
      std::string s = ReadFile("/proc/" + pid + "/status");
      if (s.find("Name:\tcapsule-sandbox") != std::string::npos) {
        status = s;
        limits_text = ReadFile("/proc/" + pid + "/limits");
      }
    }
  }
  runner.join();
  EXPECT_EQ(result.status().code(), Code::SandboxTimeLimit) << result.status().ToString();
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
  if (!limits_text.empty()) {
    EXPECT_NE(limits_text.find("Max processes             0"), std::string::npos) << limits_text;
    // The sanitizer build leaves room for UBSan's probe pipe (docs/sandbox.md §5).
    EXPECT_NE(limits_text.find(wire::kAsanBuild ? "Max open files            8"
                                                : "Max open files            4"),
              std::string::npos)
        << limits_text;
    if (!wire::kAsanBuild) {
      EXPECT_EQ(limits_text.find("Max address space         unlimited"), std::string::npos);
    }
    EXPECT_NE(limits_text.find("Max file size             0"), std::string::npos) << limits_text;
  }
}

// After the whole corpus, in both modes, the runtime is healthy: no leaked fds, no zombie
// children, and a normal guest still runs.
TEST(SandboxProcess, RuntimeStaysHealthyAfterTheCorpus) {
  int fds_before = CountOpenFds();
  std::vector<std::string> all = {"infinite_loop",    "start_loop",    "recursion_bomb",
                                  "trap_unreachable", "trap_oob_load", "bad_pointers",
                                  "chunk_range",      "output_flood",  "log_escapes",
                                  "log_flood",        "refuse3",       "memory_grow"};
  for (const Rejection& rejection : kRejections) all.push_back(rejection.wat);
  SandboxLimits limits = TestLimits();
  limits.max_instructions = 2'000'000;
  limits.max_output_bytes = 100'000;
  for (Mode mode : {Mode::kInProcess, Mode::kSandboxed}) {
    for (const std::string& name : all) {
      FakeHost host;
      FillContent(host);
      auto r = RunGuest(mode, Wasm(name), host, limits);
      (void)r;
    }
  }
  EXPECT_EQ(CountOpenFds(), fds_before);
  errno = 0;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  for (Mode mode : {Mode::kInProcess, Mode::kSandboxed}) {
    FakeHost host;
    FillContent(host);
    auto r = RunGuest(mode, Wasm("copy_chunks"), host);
    ASSERT_TRUE(r.ok()) << Describe(r);
    EXPECT_EQ(host.output, host.Content());
  }
}

// Numbers for docs/sandbox.md, not a pass/fail check:
//   ctest … or: capsule_unit_tests --gtest_also_run_disabled_tests --gtest_filter='*Measure*'
TEST(SandboxPerf, DISABLED_Measure) {
  // A countdown loop: 5 instructions per iteration.
  std::string spin = WasmFromText("spin", R"((module
    (memory (export "memory") 1 1)
    (func (export "capsule_run") (result i32) (local $i i32)
      (local.set $i (i32.const 20000000))
      (loop $l (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
      (i32.const 0))))");
  std::string calls = WasmFromText("calls", R"((module
    (import "capsule_v1" "chunk_count" (func $cc (result i32)))
    (memory (export "memory") 1 1)
    (func (export "capsule_run") (result i32) (local $i i32)
      (local.set $i (i32.const 100000))
      (loop $l (drop (call $cc)) (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
      (i32.const 0))))");
  for (Mode mode : {Mode::kInProcess, Mode::kSandboxed}) {
    const char* name = mode == Mode::kInProcess ? "in-process" : "sandboxed";
    FakeHost host;
    auto start = Clock::now();
    auto r = RunGuest(mode, spin, host);
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    ASSERT_TRUE(r.ok()) << Describe(r);
    printf("%s: %llu instructions in %.3f s = %.1f M instructions/s\n", name,
           static_cast<unsigned long long>(r->instructions), s, r->instructions / s / 1e6);
    start = Clock::now();
    r = RunGuest(mode, calls, host);
    s = std::chrono::duration<double>(Clock::now() - start).count();
    ASSERT_TRUE(r.ok()) << Describe(r);
    printf("%s: 100000 host calls in %.3f s = %.2f us per call\n", name, s, s * 1e6 / 100000);
    start = Clock::now();
    for (int i = 0; i < 20; ++i) {
      FakeHost h;
      ASSERT_TRUE(RunGuest(mode, Wasm("refuse3"), h).ok());
    }
    s = std::chrono::duration<double>(Clock::now() - start).count();
    printf("%s: a trivial session costs %.2f ms\n", name, s * 1000 / 20);
  }
}

// The window's wipe: the pages either process wrote are zeroed; the ones nobody touched are
// not created by it (they stay out of memory).
TEST(SandboxWindow, WipeTouchedPagesZeroesWrittenPagesAndCreatesNoOthers) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE)), n = 64 * page;
  int fd = memfd_create("wipe-test", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(n)), 0);
  auto* m = static_cast<uint8_t*>(mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(m, MAP_FAILED);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // another process writes pages 5 and 40 of the same memfd
    auto* c = static_cast<uint8_t*>(mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    if (c == MAP_FAILED) _exit(1);
    memset(c + 5 * page, 0xAB, page);
    c[40 * page + 17] = 0xCD;
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  memset(m + 9 * page, 0xEF, 100);  // and this one page 9
  ASSERT_EQ(m[5 * page + 3], 0xAB);
  WipeTouchedPages(m, n);
  std::vector<unsigned char> resident(64);
  ASSERT_EQ(mincore(m, n, resident.data()), 0);
  for (size_t i = 0; i < 64; ++i)
    EXPECT_EQ(resident[i] & 1, (i == 5 || i == 9 || i == 40) ? 1 : 0) << "page " << i;
  for (size_t i : {size_t{5}, size_t{9}, size_t{40}})
    for (size_t k = 0; k < page; ++k) ASSERT_EQ(m[i * page + k], 0) << i << "+" << k;
  munmap(m, n);
  close(fd);
}

}  // namespace
}  // namespace capsule::runtime

// Capsule logic build helpers: compile (clang-14 + wasm-ld-14, spawned with an argv, never a
// shell), check with wabt, optimise with Binaryen, check again.
#include "packager/logic.h"

#include <binaryen-c.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "capsule/capsule.h"
#include "format/canonical_json.h"
#include "format/crypto.h"
#include "format/file.h"
#include "format/wasm.h"
#include "runtime-min/sandbox/sandbox.h"

extern char** environ;

namespace capsule::packager {
namespace {

// The first executable `name` on PATH (or $CAPSULE_CLANG / $CAPSULE_WASM_LD when set).
std::string FindTool(const char* name, const char* env) {
  if (const char* e = std::getenv(env); e && *e) return e;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    if (access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return "";
}

// Runs argv[0] with stdout and stderr going to `log_path`; returns the exit status (or -1).
int Spawn(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A private temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir() {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/capsule-logic.XXXXXX";
    if (mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Status WriteWhole(const std::string& path, std::string_view data) {
  CAPSULE_ASSIGN_OR_RETURN(format::AtomicOutput out, format::AtomicOutput::Create(path, true));
  CAPSULE_RETURN_IF_ERROR(out.Write(data.data(), data.size()));
  return out.Commit();
}

std::string ReadLog(const std::string& path) {
  auto r = format::ReadSmallFile(path, 1 << 20);
  return r.ok() ? *r : std::string();
}

}  // namespace

Result<format::Bytes> CompileLogicC(const std::string& c_path, std::string* diagnostics) {
  diagnostics->clear();
  std::string clang = FindTool("clang-14", "CAPSULE_CLANG");
  std::string ld = FindTool("wasm-ld-14", "CAPSULE_WASM_LD");
  if (clang.empty() || ld.empty())
    return Status(Code::Usage,
                  "clang-14 and wasm-ld-14 must be on PATH to build capsule logic "
                  "(Debian: apt install clang-14 lld-14)");
  if (!format::FileExists(c_path)) return Status(Code::IoOpen, c_path + ": no such file");
  TempDir tmp;
  if (tmp.path().empty()) return Status(Code::IoWrite, "cannot create a temporary directory");
  // The ABI header from this build of capsulec; a capsule_v1.h beside the source wins for
  // `#include "capsule_v1.h"`, and CheckModule catches any signature that does not match.
  CAPSULE_RETURN_IF_ERROR(WriteWhole(tmp.path() + "/capsule_v1.h", kCapsuleV1Header));
  const std::string obj = tmp.path() + "/logic.o", raw = tmp.path() + "/logic.raw.wasm";
  const std::string log = tmp.path() + "/log.txt";
  std::vector<std::string> cc = {clang};
  for (const char* const* f = kGuestCflags; *f; ++f) cc.push_back(*f);
  cc.insert(cc.end(), {"-I" + tmp.path(), "-c", c_path, "-o", obj});
  if (Spawn(cc, log) != 0) {
    *diagnostics = ReadLog(log);
    return Status(Code::BadTemplate, c_path + ": compilation failed (" + clang + ")");
  }
  std::vector<std::string> link = {ld};
  for (const char* const* f = kGuestLdflags; *f; ++f) link.push_back(*f);
  link.insert(link.end(), {obj, "-o", raw});
  if (Spawn(link, log) != 0) {
    *diagnostics = ReadLog(log);
    return Status(Code::BadTemplate, c_path + ": linking failed (" + ld + ")");
  }
  *diagnostics = ReadLog(log);  // warnings, if any
  CAPSULE_ASSIGN_OR_RETURN(std::string bytes, format::ReadSmallFile(raw, kMaxLogicSize));
  return format::Bytes(bytes.begin(), bytes.end());
}

Result<format::Bytes> OptimizeLogic(format::ByteView module, const std::string& what) {
  runtime::SandboxLimits limits;
  std::string_view chars = format::AsChars(module);
  // wabt first: Binaryen must never see a module that has not passed the reader and validator.
  CAPSULE_RETURN_IF_ERROR(runtime::CheckModule(chars, limits).WithContext(what));
  std::string copy(chars);
  BinaryenModuleRef m = BinaryenModuleRead(copy.data(), copy.size());
  if (!m) return Status(Code::ModuleInvalid, what + ": Binaryen could not read the module");
  // The features the sandbox allows (host-abi.md §3). A module that uses none beyond the MVP
  // and mutable globals (what clang-14 emits by default) is optimised as MVP: Binaryen would
  // otherwise bring in sign-extension and the like, and its bytes (its code hash) would change.
  BinaryenFeatures features = BinaryenFeatureMVP() | BinaryenFeatureMutableGlobals();
  if (!runtime::ModuleIsMvp(chars))
    features |= BinaryenFeatureSignExt() | BinaryenFeatureNontrappingFPToInt() |
                BinaryenFeatureMultivalue() | BinaryenFeatureBulkMemory();
  BinaryenModuleSetFeatures(m, features);
  if (!BinaryenModuleValidate(m)) {  // wabt accepted it: a disagreement between the two
    BinaryenModuleDispose(m);
    return Status(Code::ModuleInvalid, what + ": Binaryen does not accept the module");
  }
  BinaryenSetOptimizeLevel(2);
  BinaryenSetShrinkLevel(0);
  BinaryenSetDebugInfo(false);
  BinaryenModuleOptimize(m);
  const char* strip[] = {"strip-debug", "strip-producers"};
  BinaryenModuleRunPasses(m, strip, 2);
  if (!BinaryenModuleValidate(m)) {
    BinaryenModuleDispose(m);
    return Status(Code::Internal, what + ": Binaryen produced an invalid module");
  }
  BinaryenModuleAllocateAndWriteResult w = BinaryenModuleAllocateAndWrite(m, nullptr);
  BinaryenModuleDispose(m);
  format::Bytes out(static_cast<uint8_t*>(w.binary),
                    static_cast<uint8_t*>(w.binary) + w.binaryBytes);
  std::free(w.binary);
  std::free(w.sourceMap);
  // Names and producers go: a capsule's code is its sections, nothing else.
  CAPSULE_ASSIGN_OR_RETURN(format::Bytes stripped, format::StripCustomSections(out));
  CAPSULE_RETURN_IF_ERROR(
      runtime::CheckModule(format::AsChars(stripped), limits).WithContext(what + " (optimised)"));
  return stripped;
}

Result<format::Bytes> LoadLogicCodeSections(const std::string& path) {
  CAPSULE_ASSIGN_OR_RETURN(std::string bytes, format::ReadSmallFile(path, kMaxLogicSize));
  runtime::SandboxLimits limits;
  CAPSULE_RETURN_IF_ERROR(runtime::CheckModule(bytes, limits).WithContext(path));
  CAPSULE_ASSIGN_OR_RETURN(format::Bytes stripped,
                           format::StripCustomSections(format::AsBytes(bytes)));
  return format::Bytes(stripped.begin() + 8, stripped.end());
}

}  // namespace capsule::packager

namespace capsule {
namespace {

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
    s.replace(p, from.size(), to);
  return s;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<LogicBuildResult> BuildLogic(const LogicBuildRequest& req, std::string* diagnostics) {
  diagnostics->clear();
  if (req.output.empty()) return Status(Code::Usage, "logic build needs -o OUTPUT.wasm");
  if (format::FileExists(req.output) && format::SameFile(req.input, req.output))
    return Status(Code::SameInputOutput, req.output + ": output would overwrite the input");
  // A rebuild replaces the previous module, as a compiler does; anything else (a key, a
  // manifest) only with --force.
  if (!req.overwrite && format::FileExists(req.output)) {
    auto head = format::InputFile::Open(req.output);
    char magic[4] = {};
    if (!head.ok() || head->size() < 4 || !head->ReadAt(0, magic, 4).ok() ||
        std::memcmp(magic, "\0asm", 4) != 0)
      return Status(Code::OutputExists, req.output +
                                            ": exists and is not a WebAssembly module; pass "
                                            "--force to replace it");
  }
  format::Bytes raw;
  if (EndsWith(req.input, ".c")) {
    CAPSULE_ASSIGN_OR_RETURN(raw, packager::CompileLogicC(req.input, diagnostics));
  } else if (EndsWith(req.input, ".wasm")) {
    CAPSULE_ASSIGN_OR_RETURN(std::string b,
                             format::ReadSmallFile(req.input, packager::kMaxLogicSize));
    raw.assign(b.begin(), b.end());
  } else {
    return Status(Code::Usage, req.input + ": logic build takes a .c or a .wasm file");
  }
  CAPSULE_ASSIGN_OR_RETURN(format::Bytes opt, packager::OptimizeLogic(raw, req.input));
  CAPSULE_ASSIGN_OR_RETURN(format::AtomicOutput out,
                           format::AtomicOutput::Create(req.output, true));
  CAPSULE_RETURN_IF_ERROR(out.Write(opt));
  CAPSULE_RETURN_IF_ERROR(out.Commit());
  LogicBuildResult r;
  r.input = req.input;
  r.output = req.output;
  r.unoptimized_size = raw.size();
  r.size = opt.size();
  r.code_sha256 = format::HexEncode(format::Sha256Of(format::ByteView(opt).subspan(8)));
  return r;
}

Result<LogicNewResult> NewLogicProject(const std::string& path) {
  std::string name = path;
  while (!name.empty() && name.back() == '/') name.pop_back();
  if (auto s = name.rfind('/'); s != std::string::npos) name = name.substr(s + 1);
  // Not starting with a digit (a C identifier is made of it) or '-' (read as an option by the
  // commands the project's test.sh and README run).
  bool valid =
      !name.empty() && name.size() <= 64 && !(name[0] >= '0' && name[0] <= '9') && name[0] != '-';
  for (char c : name)
    valid &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
  if (!valid)
    return Status(Code::Usage, "'" + name +
                                   "': a logic project name is letters, digits, '_' and '-' "
                                   "(not starting with a digit or '-'), at most 64 characters");
  std::error_code ec;
  if (std::filesystem::exists(path, ec))
    return Status(Code::OutputExists, path + ": already exists");
  if (!std::filesystem::create_directories(path, ec) || ec)
    return Status(Code::IoWrite, path + ": cannot create the directory: " + ec.message());
  LogicNewResult r;
  r.dir = path;
  struct File {
    std::string name;
    const char* content;
    unsigned mode;
  };
  const File files[] = {{name + ".c", packager::kStarterC, 0644},
                        {"capsule_v1.h", packager::kCapsuleV1Header, 0644},
                        {"test.sh", packager::kStarterTestSh, 0755},
                        {"README.md", packager::kStarterReadme, 0644}};
  for (const auto& f : files) {
    std::string p = path + "/" + f.name;
    CAPSULE_ASSIGN_OR_RETURN(format::AtomicOutput out,
                             format::AtomicOutput::Create(p, false, f.mode));
    std::string text = Replace(f.content, "@NAME@", name);
    CAPSULE_RETURN_IF_ERROR(out.Write(text.data(), text.size()));
    CAPSULE_RETURN_IF_ERROR(out.Commit());
    r.files.push_back(p);
  }
  return r;
}

std::string LogicBuildResult::ToJson() const {
  return format::ReportJson(nlohmann::json({{"ok", true},
                                            {"input", input},
                                            {"output", output},
                                            {"code_sha256", code_sha256},
                                            {"unoptimized_size", unoptimized_size},
                                            {"size", size}}));
}

std::string LogicNewResult::ToJson() const {
  return format::ReportJson(nlohmann::json({{"ok", true}, {"dir", dir}, {"files", files}}));
}

}  // namespace capsule

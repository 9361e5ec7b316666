// The interpreter glue (DESIGN §3.11): wabt 1.0.32's reader + validator, the static module
// checks, the capsule_v1 host functions over guest memory, and the metered run.
//
// Metering (DESIGN §3.11 option (a)): wabt's only public way to start a call (Func::Call) runs
// to completion, and Thread::PushCall is private. We reach PushCall (and the thread's value
// stack) through the explicit-instantiation access idiom — explicit instantiation may name
// private members — then drive Thread::Run(kSliceInstructions) ourselves. This is tied to the
// private layout of wabt 1.0.32's Thread, which runtime-min/CMakeLists.txt pins (FATAL_ERROR on
// any other version); the alternative, metering with Binaryen before instantiation, is portable
// but far more code.
//
// Invariants:
//  - No guest code runs outside the metered loop: the start function is taken out of the module
//    before instantiation and run metered; init expressions are constants (extended-const off).
//  - Host callbacks never throw (wabt is built without exceptions) and never trap on guest
//    input: bad pointers give CAPSULE_E_BOUNDS. They trap only to end the session, after
//    recording why in GuestContext::end, which takes precedence over the trap message.
//  - Every guest range is checked as 64-bit `ptr + len <= memory size`, which cannot wrap.
#include "runtime-min/sandbox/wasm_run.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime-min/sandbox/host_abi.h"
#include "runtime-min/sandbox/sandbox.h"
#include "wabt/binary-reader.h"
#include "wabt/error.h"
#include "wabt/feature.h"
#include "wabt/interp/binary-reader-interp.h"
#include "wabt/interp/interp.h"

namespace capsule::runtime {
namespace {

namespace wi = wabt::interp;
using Clock = std::chrono::steady_clock;

// ---- access to wabt 1.0.32 Thread internals (see the file comment) ----
template <typename Tag, typename Tag::type kMember>
struct Expose {
  friend typename Tag::type Get(Tag) { return kMember; }
};
struct ThreadPushCall {
  using type = wi::RunResult (wi::Thread::*)(const wi::DefinedFunc&, wi::Trap::Ptr*);
  friend type Get(ThreadPushCall);
};
template struct Expose<ThreadPushCall, &wi::Thread::PushCall>;
struct ThreadValues {
  using type = std::vector<wi::Value> wi::Thread::*;
  friend type Get(ThreadValues);
};
template struct Expose<ThreadValues, &wi::Thread::values_>;

// ---- features ----
// Refused: threads (shared memory), multi-memory, memory64, reference types (so no table.grow),
// exceptions, SIMD, tail calls, GC, extended-const. Kept: the MVP plus mutable globals,
// saturating float-to-int, sign extension, multi-value and bulk memory (clang -mbulk-memory).
wabt::Features SandboxFeatures() {
  wabt::Features f;
  f.disable_threads();
  f.disable_multi_memory();
  f.disable_memory64();
  f.disable_gc();
  f.disable_function_references();
  f.disable_reference_types();
  f.disable_exceptions();
  f.disable_simd();
  f.disable_relaxed_simd();
  f.disable_tail_call();
  f.disable_extended_const();
  f.disable_code_metadata();
  f.disable_annotations();
  f.enable_mutable_globals();
  f.enable_sat_float_to_int();
  f.enable_sign_extension();
  f.enable_multi_value();
  f.enable_bulk_memory();
  return f;
}

// ---- the capsule_v1 imports (templates/capsule_v1.h) ----
enum class Fn {
  kManifestSize,
  kManifestRead,
  kTermsSize,
  kTermsRead,
  kChunkCount,
  kChunkSize,
  kChunkRead,
  kPreviewSize,
  kPreviewRead,
  kOutputWrite,
  kClockNowMs,
  kLog,
};

struct ImportSpec {
  const char* name;
  Fn fn;
  int params;               // all i32
  wabt::Type::Enum result;  // I32, I64 or Void
};

constexpr ImportSpec kImports[] = {
    {"manifest_size", Fn::kManifestSize, 0, wabt::Type::I32},
    {"manifest_read", Fn::kManifestRead, 3, wabt::Type::I32},
    {"terms_size", Fn::kTermsSize, 0, wabt::Type::I32},
    {"terms_read", Fn::kTermsRead, 3, wabt::Type::I32},
    {"chunk_count", Fn::kChunkCount, 0, wabt::Type::I32},
    {"chunk_size", Fn::kChunkSize, 1, wabt::Type::I32},
    {"chunk_read", Fn::kChunkRead, 4, wabt::Type::I32},
    {"preview_size", Fn::kPreviewSize, 0, wabt::Type::I32},
    {"preview_read", Fn::kPreviewRead, 3, wabt::Type::I32},
    {"output_write", Fn::kOutputWrite, 2, wabt::Type::I32},
    {"clock_now_ms", Fn::kClockNowMs, 0, wabt::Type::I64},
    {"log", Fn::kLog, 3, wabt::Type::Void},
};
constexpr char kAbiModule[] = "capsule_v1";

const ImportSpec* FindImport(std::string_view name) {
  for (const ImportSpec& spec : kImports) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

wi::FuncType TypeOf(const ImportSpec& spec) {
  wi::ValueTypes params(spec.params, wabt::Type::I32);
  wi::ValueTypes results;
  if (spec.result != wabt::Type::Void) results.push_back(spec.result);
  return wi::FuncType(params, results);
}

std::string Describe(const wi::FuncType& type) {
  std::string s = "(";
  for (size_t i = 0; i < type.params.size(); ++i) {
    s += (i ? ", " : "") + type.params[i].GetName();
  }
  s += ") -> ";
  if (type.results.empty()) return s + "nil";
  for (size_t i = 0; i < type.results.size(); ++i) {
    s += (i ? ", " : "") + type.results[i].GetName();
  }
  return s;
}

// ---- reading and checking ----
bool ReadDesc(std::string_view bytes, const wabt::Features& features, wi::ModuleDesc* desc,
              std::string* error) {
  wabt::Errors errors;
  wabt::ReadBinaryOptions options(features, /*log_stream=*/nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/true);
  wabt::Result result =
      wi::ReadBinaryInterp("capsule-logic", bytes.data(), bytes.size(), options, &errors, desc);
  if (wabt::Succeeded(result)) return true;
  if (error) *error = errors.empty() ? "unreadable module" : errors.front().message;
  return false;
}

bool ModuleIsMvpImpl(std::string_view bytes) {
  wabt::Features f = SandboxFeatures();
  f.disable_sign_extension();
  f.disable_sat_float_to_int();
  f.disable_multi_value();
  f.disable_bulk_memory();
  wi::ModuleDesc ignored;
  return ReadDesc(bytes, f, &ignored, nullptr);
}

Status ReadAndCheck(std::string_view bytes, const SandboxLimits& limits, wi::ModuleDesc* desc) {
  if (bytes.size() > kMaxModuleBytes) {
    return Status(Code::ModuleInvalid, "the module is " + std::to_string(bytes.size()) +
                                           " bytes; the sandbox accepts at most " +
                                           std::to_string(kMaxModuleBytes));
  }
  std::string error;
  if (!ReadDesc(bytes, SandboxFeatures(), desc, &error)) {
    // Tell "uses a refused feature" from "broken": the same bytes with every feature on.
    wabt::Features all;
    all.EnableAll();
    wi::ModuleDesc ignored;
    Code code =
        ReadDesc(bytes, all, &ignored, nullptr) ? Code::ModuleFeatureRefused : Code::ModuleInvalid;
    return Status(code, "capsule code: " + Printable(error));
  }

  // Imports: only capsule_v1 functions, by exact name and type.
  for (const wi::ImportDesc& import : desc->imports) {
    const wi::ImportType& type = import.type;
    std::string what =
        "import \"" + Printable(type.module, 64) + "\".\"" + Printable(type.name, 64) + "\"";
    if (type.module != kAbiModule) {
      return Status(Code::ModuleForbiddenImport, what + ": only module capsule_v1 may be imported");
    }
    if (type.type->kind != wabt::ExternalKind::Func) {
      return Status(
          Code::ModuleForbiddenImport,
          what + ": capsule_v1 provides functions only, not a " + wi::GetName(type.type->kind));
    }
    const ImportSpec* spec = FindImport(type.name);
    if (!spec) return Status(Code::ModuleForbiddenImport, what + ": not a capsule_v1 function");
    const auto& actual = *wabt::cast<wi::FuncType>(type.type.get());
    wi::FuncType expected = TypeOf(*spec);
    if (actual.params != expected.params || actual.results != expected.results) {
      return Status(Code::ModuleForbiddenImport, what + " has type " + Describe(actual) +
                                                     "; capsule_v1 declares " + Describe(expected));
    }
  }

  // Memory: exactly one (more is refused at read time), defined, with a maximum within the cap.
  if (desc->memories.empty()) {
    return Status(Code::ModuleBadExports, "capsule code defines no memory");
  }
  const wabt::Limits& mem = desc->memories[0].type.limits;
  if (!mem.has_max) {
    return Status(Code::ModuleMemoryUnbounded, "capsule code's memory declares no maximum");
  }
  if (mem.max * WABT_PAGE_SIZE > limits.max_memory_bytes) {
    return Status(Code::ModuleMemoryUnbounded,
                  "capsule code's memory maximum is " + std::to_string(mem.max) + " pages (" +
                      std::to_string(mem.max * WABT_PAGE_SIZE) + " bytes); the cap is " +
                      std::to_string(limits.max_memory_bytes) + " bytes");
  }

  for (size_t i = 0; i < desc->tables.size(); ++i) {
    const wabt::Limits& table = desc->tables[i].type.limits;
    if (!table.has_max) {
      return Status(Code::ModuleTableTooLarge,
                    "table " + std::to_string(i) + " declares no maximum");
    }
    if (table.max > limits.max_table_elements) {
      return Status(Code::ModuleTableTooLarge,
                    "table " + std::to_string(i) + " maximum is " + std::to_string(table.max) +
                        " elements; the cap is " + std::to_string(limits.max_table_elements));
    }
  }

  for (size_t i = 0; i < desc->funcs.size(); ++i) {
    const wi::FuncDesc& func = desc->funcs[i];
    uint64_t locals = func.type.params.size();
    for (const wi::LocalDesc& local : func.locals) locals += local.count;
    if (locals > kMaxFunctionLocals) {
      return Status(Code::ModuleFeatureRefused,
                    "function " + std::to_string(desc->imports.size() + i) + " has " +
                        std::to_string(locals) + " parameters and locals; the sandbox accepts " +
                        std::to_string(kMaxFunctionLocals));
    }
  }

  bool memory_export = false, run_export = false;
  for (const wi::ExportDesc& e : desc->exports) {
    if (e.type.name == "memory") {
      if (e.type.type->kind != wabt::ExternalKind::Memory) {
        return Status(Code::ModuleBadExports, "export \"memory\" is not a memory");
      }
      memory_export = true;
    } else if (e.type.name == "capsule_run") {
      if (e.type.type->kind != wabt::ExternalKind::Func) {
        return Status(Code::ModuleBadExports, "export \"capsule_run\" is not a function");
      }
      const auto& type = *wabt::cast<wi::FuncType>(e.type.type.get());
      if (!type.params.empty() || type.results != wi::ValueTypes{wabt::Type::I32}) {
        return Status(Code::ModuleBadExports,
                      "capsule_run has type " + Describe(type) + "; it must be () -> i32");
      }
      if (e.index < desc->imports.size()) {
        return Status(Code::ModuleBadExports,
                      "capsule_run re-exports an import; it must be defined in the module");
      }
      run_export = true;
    }
  }
  if (!memory_export) return Status(Code::ModuleBadExports, "capsule code exports no \"memory\"");
  if (!run_export) return Status(Code::ModuleBadExports, "capsule code exports no capsule_run");
  return Status::Ok();
}

// ---- running ----
struct GuestContext {
  AbiHost* abi = nullptr;
  wi::Memory* memory = nullptr;  // set after instantiation
  Status end;                    // why the host ended the session, when it did
  Clock::time_point start;
  uint32_t wall_ms = 0;

  std::chrono::milliseconds GuestTime() const {
    auto elapsed = Clock::now() - start - abi->blocked();
    return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
  }
  Status CheckTime() const {
    if (GuestTime().count() > static_cast<int64_t>(wall_ms)) {
      return Status(Code::SandboxTimeLimit,
                    "the capsule code ran longer than " + std::to_string(wall_ms) + " ms");
    }
    return Status::Ok();
  }
};

bool InBounds(uint32_t ptr, uint32_t len, uint64_t size) {
  return static_cast<uint64_t>(ptr) + len <= size;
}

// One host call. Returns a non-OK Status only to end the session.
Status Dispatch(GuestContext& ctx, Fn fn, const wi::Values& p, wi::Values& r) {
  AbiHost& abi = *ctx.abi;
  const uint64_t size = ctx.memory->ByteSize();
  uint8_t* mem = ctx.memory->UnsafeData();
  auto arg = [&](size_t i) { return p[i].Get<wi::u32>(); };
  // (offset, buf, len) reads: bounds first, then at most INT32_MAX bytes per call.
  auto read = [&](uint32_t buf, uint32_t len, auto&& call) -> Status {
    int32_t out = kAbiBounds;
    Status s;
    if (InBounds(buf, len, size)) s = call(mem + buf, std::min<uint32_t>(len, INT32_MAX), &out);
    r[0] = wi::Value::Make(static_cast<wi::s32>(out));
    return s;
  };
  auto blob_read = [&](Blob blob) {
    return read(arg(1), arg(2), [&](uint8_t* dst, uint32_t len, int32_t* out) {
      return abi.BlobRead(blob, arg(0), dst, len, out);
    });
  };
  auto i32_result = [&](auto&& call) {
    int32_t out = 0;
    Status s = call(&out);
    r[0] = wi::Value::Make(static_cast<wi::s32>(out));
    return s;
  };

  switch (fn) {
    case Fn::kManifestSize:
      return i32_result([&](int32_t* out) { return abi.BlobSize(Blob::kManifest, out); });
    case Fn::kTermsSize:
      return i32_result([&](int32_t* out) { return abi.BlobSize(Blob::kTerms, out); });
    case Fn::kPreviewSize:
      return i32_result([&](int32_t* out) { return abi.BlobSize(Blob::kPreview, out); });
    case Fn::kManifestRead:
      return blob_read(Blob::kManifest);
    case Fn::kTermsRead:
      return blob_read(Blob::kTerms);
    case Fn::kPreviewRead:
      return blob_read(Blob::kPreview);
    case Fn::kChunkCount:
      return i32_result([&](int32_t* out) { return abi.ChunkCount(out); });
    case Fn::kChunkSize:
      return i32_result([&](int32_t* out) { return abi.ChunkSize(arg(0), out); });
    case Fn::kChunkRead:
      return read(arg(2), arg(3), [&](uint8_t* dst, uint32_t len, int32_t* out) {
        return abi.ChunkRead(arg(0), arg(1), dst, len, out);
      });
    case Fn::kOutputWrite: {
      uint32_t buf = arg(0), len = arg(1);
      return i32_result([&](int32_t* out) {
        // Writes are all or nothing; one call moves at most INT32_MAX bytes.
        if (!InBounds(buf, len, size) || len > INT32_MAX) return *out = kAbiBounds, Status::Ok();
        return abi.OutputWrite(mem + buf, len, out);
      });
    }
    case Fn::kClockNowMs: {
      int64_t now = 0;
      Status s = abi.ClockNowMs(&now);
      r[0] = wi::Value::Make(static_cast<wi::s64>(now));
      return s;
    }
    case Fn::kLog: {
      uint32_t level = arg(0), buf = arg(1), len = arg(2);
      if (!InBounds(buf, len, size)) return Status::Ok();  // no return value: ignored
      return abi.Log(level, mem + buf, std::min(len, kMaxLogLineBytes));
    }
  }
  return Status(Code::Internal, "unknown host function");
}

wabt::Result HostCall(GuestContext& ctx, const ImportSpec& spec, wi::Thread& thread,
                      const wi::Values& params, wi::Values& results,
                      wi::Trap::Ptr* out_trap) noexcept {
  Status status = ctx.memory ? Dispatch(ctx, spec.fn, params, results)
                             : Status(Code::SandboxTrap, "host call before instantiation");
  if (status.ok()) status = ctx.CheckTime();
  if (status.ok()) return wabt::Result::Ok;
  ctx.end = status;
  *out_trap = wi::Trap::New(thread.store(), "session ended by the host");
  return wabt::Result::Error;
}

struct Meter {
  uint64_t executed = 0;
};

// Calls a defined function with no parameters, slice by slice.
Status CallMetered(wi::Store& store, wi::Thread& thread, wi::Ref func_ref, GuestContext& ctx,
                   const SandboxLimits& limits, Meter& meter) {
  if (!store.Is<wi::DefinedFunc>(func_ref)) {
    return Status(Code::ModuleBadExports, "entry point is not a function defined by the module");
  }
  wi::DefinedFunc::Ptr func{store, func_ref};
  wi::Trap::Ptr trap;
  wi::RunResult result = (thread.*Get(ThreadPushCall{}))(*func, &trap);
  auto& values = thread.*Get(ThreadValues{});
  while (result == wi::RunResult::Ok) {
    uint64_t remaining = limits.max_instructions - meter.executed;
    if (remaining == 0) {
      return Status(Code::SandboxInstructionLimit, "the capsule code used its budget of " +
                                                       std::to_string(limits.max_instructions) +
                                                       " instructions");
    }
    int slice = static_cast<int>(std::min<uint64_t>(kSliceInstructions, remaining));
    result = thread.Run(slice, &trap);
    meter.executed += slice;
    if (result != wi::RunResult::Ok) break;
    CAPSULE_RETURN_IF_ERROR(ctx.CheckTime());
    if (ctx.memory->ByteSize() > limits.max_memory_bytes) {  // unreachable while max ≤ cap
      return Status(Code::SandboxMemoryLimit, "guest memory grew beyond the cap");
    }
    if (values.size() > kMaxValueStackValues) {
      return Status(Code::SandboxMemoryLimit, "the interpreter's value stack grew beyond " +
                                                  std::to_string(kMaxValueStackValues) + " values");
    }
  }
  switch (result) {
    case wi::RunResult::Return:
      return Status::Ok();
    case wi::RunResult::Trap:
      if (!ctx.end.ok()) return ctx.end;
      return Status(Code::SandboxTrap,
                    "the capsule code trapped: " + Printable(trap ? trap->message() : "trap"));
    default:
      return Status(Code::SandboxTrap, "the capsule code raised an exception");
  }
}

}  // namespace

bool ModuleIsMvp(std::string_view module_bytes) { return ModuleIsMvpImpl(module_bytes); }

Status CheckModule(std::string_view module_bytes, const SandboxLimits& limits) {
  wi::ModuleDesc desc;
  return ReadAndCheck(module_bytes, limits, &desc);
}

Result<RunStats> RunModule(std::string_view module_bytes, AbiHost& abi, const SandboxLimits& limits,
                           const std::function<Status()>& before_run, uint64_t* executed) {
  if (executed) *executed = 0;
  wi::ModuleDesc desc;
  CAPSULE_RETURN_IF_ERROR(ReadAndCheck(module_bytes, limits, &desc));
  std::vector<wi::StartDesc> starts = std::move(desc.starts);
  desc.starts.clear();  // run below, metered, instead of inside Instantiate
  std::string run_name = "capsule_run";
  size_t run_export = 0;
  while (desc.exports[run_export].type.name != run_name) ++run_export;  // checked above

  GuestContext ctx;
  ctx.abi = &abi;
  ctx.wall_ms = limits.wall_ms;
  wi::Store store(SandboxFeatures());
  wi::Module::Ptr module = wi::Module::New(store, std::move(desc));
  wi::RefVec imports;
  std::vector<wi::HostFunc::Ptr> host_funcs;
  for (const wi::ImportDesc& import : module->desc().imports) {
    const ImportSpec* spec = FindImport(import.type.name);  // checked above
    host_funcs.push_back(
        wi::HostFunc::New(store, TypeOf(*spec),
                          [&ctx, spec](wi::Thread& thread, const wi::Values& params,
                                       wi::Values& results, wi::Trap::Ptr* out_trap) {
                            return HostCall(ctx, *spec, thread, params, results, out_trap);
                          }));
    imports.push_back(host_funcs.back().ref());
  }

  ctx.start = Clock::now();
  wi::Trap::Ptr trap;
  wi::Instance::Ptr instance = wi::Instance::Instantiate(store, module.ref(), imports, &trap);
  if (!instance) {
    return Status(Code::SandboxTrap,
                  "instantiation failed: " + Printable(trap ? trap->message() : "unknown"));
  }
  wi::Memory::Ptr memory{store, instance->memories()[0]};
  if (memory->ByteSize() > limits.max_memory_bytes) {
    return Status(Code::SandboxMemoryLimit, "initial memory above the cap");
  }
  ctx.memory = memory.get();
  if (before_run) {
    CAPSULE_RETURN_IF_ERROR(before_run());
    ctx.start = Clock::now();  // the guest's time starts with its session
  }

  wi::Thread thread(store);
  Meter meter;
  struct Report {  // the count on every way out, errors included
    const Meter& meter;
    uint64_t* out;
    ~Report() {
      if (out) *out = meter.executed;
    }
  } report{meter, executed};
  for (const wi::StartDesc& start : starts) {
    CAPSULE_RETURN_IF_ERROR(
        CallMetered(store, thread, instance->funcs()[start.func_index], ctx, limits, meter));
  }
  CAPSULE_RETURN_IF_ERROR(
      CallMetered(store, thread, instance->exports()[run_export], ctx, limits, meter));
  auto& values = thread.*Get(ThreadValues{});
  if (values.empty()) return Status(Code::Internal, "capsule_run returned no value");
  RunStats stats;
  stats.logic_code = values.back().Get<wi::s32>();
  values.pop_back();
  stats.instructions = meter.executed;
  return stats;
}

Result<SandboxResult> RunInProcess(std::string_view module_bytes, SessionHost& host,
                                   const SandboxLimits& limits) {
  DirectAbiHost abi(host, limits);
  CAPSULE_ASSIGN_OR_RETURN(RunStats stats, RunModule(module_bytes, abi, limits));
  SandboxResult result;
  result.outcome =
      stats.logic_code == 0 ? SandboxOutcome::kCompleted : SandboxOutcome::kRefusedByLogic;
  result.logic_code = stats.logic_code;
  result.instructions = stats.instructions;
  result.output_bytes = abi.output_bytes();
  return result;
}

}  // namespace capsule::runtime

// capsule-run open. Every check happens before anything is decrypted, instantiated or written
// (DESIGN §4); the sandbox child is spawned (SpawnSandbox, at the start, so that its exec
// overlaps the checks; it runs nothing until its session) by fork + exec of a separate binary,
// so K (held here, in the parent) never exists in its memory (DESIGN §9.14).
#include "runtime-min/runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "chain/creator_binding.h"
#include "chain/rpc.h"
#include "format/canonical_json.h"
#include "format/chunk_crypto.h"
#include "format/container.h"
#include "format/file.h"
#include "format/keys.h"
#include "format/license.h"
#include "format/wasm.h"
#include "runtime-min/chunk_prefetch.h"
#include "runtime-min/evm_ledger.h"
#include "runtime-min/ledger.h"
#include "runtime-min/seek.h"
#include "runtime-min/state_store.h"
#include "templates/registry.h"

namespace capsule::runtime {
namespace {
using namespace capsule::format;  // NOLINT

// Output slack beyond the content (and preview/ad) size: room for a guest that adds framing.
// Documented in docs/spec/host-abi.md §2.5 (with the 1/32 of the content allowed in full mode).
constexpr uint64_t kOutputSlack = 64 * 1024;

class OutputSink {
 public:
  Status Init(const std::string& path, bool overwrite, bool discard = false) {
    discard_ = discard;
    if (discard_) return Status::Ok();
    to_stdout_ = path == "-";
    if (to_stdout_) return StdoutUsable();
    // An existing character device or FIFO (/dev/null, a player's pipe) is streamed to, as
    // stdout is: there is no file to replace atomically (and renaming over it would be wrong).
    struct stat st;
    path_ = path;
    if (stat(path.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
      stream_fd_ = open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (stream_fd_ < 0) return Status(Code::IoOpen, path + ": " + std::strerror(errno));
      return Status::Ok();
    }
    if (path.empty()) return Status(Code::Usage, "open: give -o OUT or -o - for stdout");
    CAPSULE_ASSIGN_OR_RETURN(file_, AtomicOutput::Create(path, overwrite));
    return Status::Ok();
  }
  void set_progress(std::function<void(uint64_t, uint64_t)> p, uint64_t total) {
    progress_ = std::move(p);
    total_ = total;
  }
  // Must succeed before the first byte is written (see ClockTouch).
  void set_before_first_byte(std::function<Status()> gate) { gate_ = std::move(gate); }
  Status Write(std::string_view b) {
    if (gate_ && !b.empty()) {
      CAPSULE_RETURN_IF_ERROR(gate_());
      gate_ = nullptr;
    }
    Status st = Put(b);
    if (progress_) progress_(bytes_, total_);
    return st;
  }
  Status Commit() {
    if (to_stdout_ || discard_ || stream_fd_ >= 0) return Status::Ok();
    CAPSULE_RETURN_IF_ERROR(file_.Commit());
    committed_ = true;
    return Status::Ok();
  }
  // What went out: all that was written to a stream (stdout, a device, a FIFO), also when the
  // open failed part way; for a file, what it holds once in place (nothing when the open failed:
  // the temporary is removed).
  uint64_t delivered() const {
    return to_stdout_ || discard_ || stream_fd_ >= 0 || committed_ ? bytes_ : 0;
  }
  ~OutputSink() {
    if (stream_fd_ >= 0) close(stream_fd_);
  }
  uint64_t bytes() const { return bytes_; }  // written so far (for a file: to its temporary)
  // Whether bytes go out as they are written (stdout, a FIFO, a device), not into a file that
  // appears whole at the end.
  bool streams() const { return to_stdout_ || stream_fd_ >= 0; }
  std::string Sha256Hex() { return HexEncode(hash_.Final()); }

 private:
  // Writes `b`, counting in bytes_ what was written (a part, when a stream fails part way).
  Status Put(std::string_view b) {
    if (discard_) {
      hash_.Update(AsBytes(b));
      bytes_ += b.size();
      return Status::Ok();
    }
    if (to_stdout_) {
      size_t written = 0;
      Status st = WriteStdout(b.data(), b.size(), &written);
      bytes_ += written;
      return st;
    }
    if (stream_fd_ < 0) {
      CAPSULE_RETURN_IF_ERROR(file_.Write(b.data(), b.size()));
      bytes_ += b.size();
      return Status::Ok();
    }
    const char* p = b.data();
    size_t n = b.size();
    while (n) {
      ssize_t w = write(stream_fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return Status(Code::IoWrite, path_ + ": " + std::strerror(errno));
      p += w;
      bytes_ += static_cast<uint64_t>(w);
      n -= static_cast<size_t>(w);
    }
    return Status::Ok();
  }

  bool to_stdout_ = false;
  bool discard_ = false;
  std::string path_;
  int stream_fd_ = -1;  // an existing character device or FIFO given as -o
  std::function<void(uint64_t, uint64_t)> progress_;
  std::function<Status()> gate_;
  uint64_t total_ = 0;
  Sha256 hash_;
  AtomicOutput file_;
  uint64_t bytes_ = 0;
  bool committed_ = false;
};

// Serves one capsule's host calls. In preview mode it has no key and grants no chunk.
class CapsuleHost final : public SessionHost {
 public:
  CapsuleHost(OpenedCapsule& c, const ContentKey* k, std::string terms, OutputSink& out,
              int64_t now_s)
      : c_(c), terms_(std::move(terms)), out_(out), start_ms_(now_s * 1000) {
    if (k) {
      opener_ = std::make_unique<ChunkOpener>(*k, c.info.id, c.info.chunk_size);
      // Decrypt-ahead (runtime-min/chunk_prefetch.h): a worker per core, each with its own
      // opener and buffer, up to 1 MiB ahead (the sandbox's read-ahead asks for that much).
      const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
      for (unsigned w = 0; w < threads; ++w) {
        worker_openers_.push_back(std::make_unique<ChunkOpener>(*k, c.info.id, c.info.chunk_size));
        worker_sealed_.emplace_back();
      }
      const unsigned depth = std::max<unsigned>(2, (1u << 20) / std::max(c.info.chunk_size, 1u));
      prefetch_ = std::make_unique<ChunkPrefetcher>(
          [this](unsigned w, uint32_t i, Bytes* plain) {
            return OpenChunk(*worker_openers_[w], worker_sealed_[w], i, plain);
          },
          threads, depth);
    }
  }
  // `capsule-run test --trace`: every host call answered for the logic, with its result.
  void set_trace(std::function<void(const std::string&)> t) { trace_ = std::move(t); }
  // A trace lists the calls as the logic makes them: none answered ahead.
  bool AnswersAhead() override { return !trace_; }
  std::string_view Manifest() override {
    Trace("manifest()", std::to_string(c_.manifest_bytes.size()) + " bytes");
    return c_.manifest_bytes;
  }
  std::string_view Terms() override {
    Trace("terms()", terms_);
    return terms_;
  }
  uint32_t ChunkCount() override {
    uint32_t n = opener_ ? static_cast<uint32_t>(c_.info.chunk_count) : 0;
    if (opener_ && window_) n = static_cast<uint32_t>((WindowSize() + chunk_ - 1) / chunk_);
    if (trace_) Trace("chunk_count()", std::to_string(n));
    return n;
  }
  uint32_t ChunkSize(uint32_t i) override {
    uint32_t n = opener_ && i < c_.info.chunk_count ? PlainLength(c_.info, i) : 0;
    if (opener_ && window_)
      n = uint64_t{i} * chunk_ < WindowSize()
              ? static_cast<uint32_t>(std::min<uint64_t>(chunk_, WindowSize() - i * chunk_))
              : 0;
    if (trace_) Trace("chunk_size(" + std::to_string(i) + ")", std::to_string(n));
    return n;
  }
  Status ReadChunk(uint32_t i, std::string_view* plain) override {
    Status st = window_ ? ReadWindowChunk(i, plain) : DoReadChunk(i, plain);
    if (trace_)
      Trace("chunk_read(" + std::to_string(i) + ")",
            st.ok() ? std::to_string(plain->size()) + " bytes" : st.ToString());
    return st;
  }
  std::string_view Preview() override {
    Trace("preview()", std::to_string(c_.preview.size()) + " bytes");
    return c_.preview;
  }
  Status WriteOutput(std::string_view b) override {
    Status st = out_.Write(b);
    if (trace_)
      Trace("output_write(" + std::to_string(b.size()) + " bytes)", st.ok() ? "ok" : st.ToString());
    return st;
  }
  int64_t NowMs() override {
    auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    // Never earlier than the session's clock rule; with a fake clock (`test --at`), exactly it.
    int64_t now = fixed_clock_ ? start_ms_ : std::max<int64_t>(wall, start_ms_);
    Trace("clock_now_ms()", std::to_string(now));
    return now;
  }
  void set_fixed_clock(bool fixed) { fixed_clock_ = fixed; }
  // `open --range/--from`: the logic sees `w` (prefix, then that span of the content) as the
  // whole payload, in chunks of the capsule's chunk size (runtime-min/seek.h).
  void set_window(SeekWindow w) { window_ = std::move(w); }
  uint64_t WindowSize() const { return window_->prefix.size() + window_->length; }
  uint64_t chunks_decrypted() const { return decrypted_; }
  // Before a play is counted: the window's first chunk is opened (and kept for the logic's first
  // read), and with `all` every chunk of the window is checked against its signed index entry,
  // so that a damaged capsule is refused without using up a play. (`all` for a file output, which
  // the holder waits for whole anyway; a stream keeps its first byte early, and damage found
  // after content went out counts the play.)
  Status CheckBeforeCounting(bool all) {
    const uint64_t begin = window_ ? window_->offset : 0;
    const uint64_t end = window_ ? window_->offset + window_->length : c_.info.plaintext_size;
    if (begin >= end) return Status::Ok();
    const uint32_t first = static_cast<uint32_t>(begin / chunk_);
    const uint32_t last = static_cast<uint32_t>((end - 1) / chunk_);
    if (all && last > first) {
      // The rest of the window, hashed in two halves on two threads (the sandbox waits, the
      // decrypt-ahead workers are idle): ~0.3 s per GiB here instead of ~0.6. The lower failing
      // chunk is the one reported, as one thread would.
      auto check = [this](uint32_t from, uint32_t to) {  // chunks [from, to)
        Bytes sealed;
        for (uint32_t i = from; i < to; ++i) CAPSULE_RETURN_IF_ERROR(ReadSealed(sealed, i));
        return Status::Ok();
      };
      const uint32_t mid = first + 1 + (last - first) / 2;
      Status upper;
      std::thread helper;
      try {
        helper = std::thread([&] { upper = check(mid, last + 1); });
      } catch (const std::system_error&) {
        upper = check(mid, last + 1);  // no thread: here, after the lower half
      }
      Status lower = check(first + 1, mid);
      if (helper.joinable()) helper.join();
      CAPSULE_RETURN_IF_ERROR(lower);
      CAPSULE_RETURN_IF_ERROR(upper);
    }
    std::string_view plain;
    return DoReadChunk(first, &plain, /*read_ahead=*/false);
  }
  // Starts opening the first chunk the logic will read (chunk 0, or the window's first) on a
  // decrypt-ahead worker while the sandbox child starts, so that it is ready when the child
  // asks. One chunk only: a deeper stream would take the cores the child's start needs; taking
  // this one starts the full stream (DoReadChunk).
  void PrefetchFirst() {
    const uint64_t end = window_ ? window_->offset + window_->length : c_.info.plaintext_size;
    uint32_t i = static_cast<uint32_t>((window_ ? window_->offset : 0) / chunk_);
    if (i == cached_) ++i;  // already open: a --from look-up read it
    if (prefetch_ && uint64_t{i} * chunk_ < end) prefetch_->Stream(i, i + 1);
  }
  // Plaintext bytes [pos, pos + n) of the content (fewer at its end), chunk by chunk.
  Status ReadPlain(uint64_t pos, size_t n, std::string* out) {
    out->clear();
    return AppendPlain(pos, n, out);
  }
  // The same, appended to *out.
  Status AppendPlain(uint64_t pos, size_t n, std::string* out) {
    std::string_view chunk;
    const uint64_t end = std::min<uint64_t>(pos + n, c_.info.plaintext_size);
    while (pos < end) {
      const uint32_t i = static_cast<uint32_t>(pos / chunk_);
      // Before the window is set these are --from's look-ups (a header, a frame): reading ahead
      // from there would decrypt chunks the window then skips (PrefetchFirst streams its own).
      // Nor ahead from a chunk this read goes on into: it is opened here at once, not waited
      // for from a worker (a wake-up of the other core costs more than opening it).
      const bool last = (end - 1) / chunk_ == i;
      CAPSULE_RETURN_IF_ERROR(DoReadChunk(i, &chunk, /*read_ahead=*/window_.has_value() && last));
      const uint64_t in = pos - uint64_t{i} * chunk_;
      const uint64_t take = std::min<uint64_t>(chunk.size() - in, end - pos);
      out->append(chunk.substr(static_cast<size_t>(in), static_cast<size_t>(take)));
      pos += take;
    }
    return Status::Ok();
  }
  void Log(uint32_t level, std::string_view line) override {
    static const char* kLevels[] = {"info", "warn", "error"};
    Trace("log(" + std::to_string(level) + ")", std::string(line));
    std::cerr << "capsule[" << (level < 3 ? kLevels[level] : "log") << "]: " << line << "\n";
  }
  ~CapsuleHost() override {
    Wipe(plain_.data(), plain_.size());
    Wipe(window_chunk_.data(), window_chunk_.size());
  }

 private:
  // The calls the sandbox makes by the thousand test trace_ before building their strings: its
  // same-size scan asks for up to 4096 chunk sizes per request, and building those strings for
  // nobody cost ~1 ms before a 1 GiB capsule's first byte.
  void Trace(const std::string& call, const std::string& result) {
    if (trace_) trace_(call + " -> " + result);
  }
  Status ReadWindowChunk(uint32_t i, std::string_view* view) {
    std::string* plain = &window_chunk_;
    const uint64_t start = uint64_t{i} * chunk_;
    if (start >= WindowSize()) return Status(Code::Internal, "chunk " + std::to_string(i));
    const uint64_t end = std::min<uint64_t>(start + chunk_, WindowSize());
    const std::string& pre = window_->prefix;
    // Its full size at once: growing would free a buffer with plaintext in it, unwiped.
    plain->reserve(static_cast<size_t>(chunk_));
    plain->clear();
    if (start < pre.size())
      plain->append(pre, static_cast<size_t>(start),
                    static_cast<size_t>(std::min<uint64_t>(end, pre.size()) - start));
    const uint64_t from = std::max<uint64_t>(start, pre.size());
    if (from < end)  // straight into the window chunk: no second buffer to fill, copy and wipe
      CAPSULE_RETURN_IF_ERROR(AppendPlain(window_->offset + (from - pre.size()),
                                          static_cast<size_t>(end - from), plain));
    *view = *plain;
    return Status::Ok();
  }
  // Reads chunk i's sealed bytes into `sealed` and checks them against its signed index entry.
  Status ReadSealed(Bytes& sealed, uint32_t i) const {
    sealed.resize(c_.index[i].length);
    CAPSULE_RETURN_IF_ERROR(c_.file.ReadAt(c_.layout.payload.content_offset + c_.index.offset(i),
                                           sealed.data(), sealed.size()));
    if (Sha256Of(sealed) != c_.index[i].hash)
      return Status(Code::ChunkHashMismatch, c_.file.path() + ": payload chunk " +
                                                 std::to_string(i) +
                                                 " differs from its signed index entry");
    return Status::Ok();
  }
  // Reads chunk i, checks it against its signed index entry, decrypts it. Touches only its
  // arguments and the (read-only) capsule: the decrypt-ahead workers call it too.
  Status OpenChunk(ChunkOpener& opener, Bytes& sealed, uint32_t i, Bytes* plain) const {
    CAPSULE_RETURN_IF_ERROR(ReadSealed(sealed, i));
    return opener.Open(i, c_.index[i], PlainLength(c_.info, i), sealed, plain)
        .WithContext(c_.file.path());
  }
  Status DoReadChunk(uint32_t i, std::string_view* plain, bool read_ahead = true) {
    if (!opener_ || i >= c_.info.chunk_count)
      return Status(Code::Internal, "chunk " + std::to_string(i) + " not granted");
    if (cached_ != i) {
      // plain_ is overwritten by the next chunk (or handed to a worker, which overwrites it);
      // the destructor wipes what is left.
      cached_ = UINT32_MAX;
      Status st;
      if (!prefetch_->Take(i, &plain_, &st)) st = OpenChunk(*opener_, sealed_, i, &plain_);
      CAPSULE_RETURN_IF_ERROR(st);
      cached_ = i;
      ++decrypted_;
      // Sequential reading is the rule: open the next chunks while this one is consumed (within
      // the window, when there is one). The streams ramp up (1, 2, 4, … chunks; the prefetcher
      // caps the depth): the workers would otherwise take both cores from the child while it
      // turns the first chunk into the first byte of output.
      const uint64_t end = window_ ? window_->offset + window_->length : c_.info.plaintext_size;
      const uint64_t end_chunk =
          std::min<uint64_t>((end + chunk_ - 1) / chunk_, c_.info.chunk_count);
      if (read_ahead && i + 1 < end_chunk && !prefetch_->Streaming(i + 1)) {
        prefetch_->Stream(i + 1,
                          static_cast<uint32_t>(std::min<uint64_t>(end_chunk, i + 1 + ramp_)));
        ramp_ = std::min<uint64_t>(2 * ramp_, end_chunk);
      }
    }
    *plain = std::string_view(reinterpret_cast<const char*>(plain_.data()), plain_.size());
    return Status::Ok();
  }

  OpenedCapsule& c_;
  std::string terms_;
  OutputSink& out_;
  int64_t start_ms_;
  std::unique_ptr<ChunkOpener> opener_;
  std::vector<std::unique_ptr<ChunkOpener>> worker_openers_;  // one per prefetch worker
  std::vector<Bytes> worker_sealed_;
  std::unique_ptr<ChunkPrefetcher> prefetch_;  // declared after what its workers use
  uint32_t cached_ = UINT32_MAX;
  uint64_t ramp_ = 1;  // chunks in the next decrypt-ahead stream
  Bytes sealed_, plain_;
  std::string window_chunk_;  // ReadWindowChunk's result
  const uint64_t chunk_ = c_.info.chunk_size;
  std::optional<SeekWindow> window_;
  uint64_t decrypted_ = 0;
  std::function<void(const std::string&)> trace_;
  bool fixed_clock_ = false;
};

// The clock rule's write for one open (DESIGN §4: every attempt raises the state store's
// last-seen time to the "now" it was judged at). A refused open makes it synchronously when
// DoOpen returns (the destructor); an open that releases content starts it on a worker thread
// (Start) and the first byte waits for it (Wait): durable before release as always, but its
// fsyncs overlap the sandbox's start instead of delaying the first byte. A counted play needs
// none (Disarm): CountPlay raises the time in its own commit.
class ClockTouch {
 public:
  ClockTouch() = default;
  ClockTouch(const ClockTouch&) = delete;
  ClockTouch& operator=(const ClockTouch&) = delete;
  ~ClockTouch() {
    if (store_) (void)store_->Touch(now_);  // refused: the refusal is what gets reported
    if (worker_.joinable()) worker_.join();
  }
  void Arm(StateStore* store, int64_t now) { store_ = store, now_ = now; }
  void Disarm() { store_ = nullptr; }
  void Start() {
    StateStore* store = std::exchange(store_, nullptr);
    if (!store) return;
    try {
      worker_ = std::thread([this, store, now = now_] { status_ = store->Touch(now); });
    } catch (const std::system_error&) {
      status_ = store->Touch(now_);  // no thread to be had: write it here
    }
  }
  Status Wait() {
    if (worker_.joinable()) worker_.join();
    return status_;
  }

 private:
  StateStore* store_ = nullptr;  // armed: not written yet
  int64_t now_ = 0;
  std::thread worker_;
  Status status_;
};

std::string ModuleBytes(const OpenedCapsule& c, Status* st) {
  const auto& L = c.layout;
  uint64_t b = L.code.front().offset, e = L.delimiters[0].offset;
  auto code = c.file.ReadRange(b, e - b);
  if (!code.ok()) {
    *st = code.status();
    return {};
  }
  // The code part was hashed as part 1 when the capsule was opened; re-read bytes must match.
  Sha256 h;
  h.Update(*code);
  auto d = c.file.ReadRange(L.delimiters[0].offset, L.delimiters[0].end() - L.delimiters[0].offset);
  if (!d.ok()) {
    *st = d.status();
    return {};
  }
  h.Update(*d);
  if (h.Final() != c.part_hashes[0]) {
    *st = Status(Code::PartHashMismatch, c.file.path() + ": the code changed while opening");
    return {};
  }
  std::string m(reinterpret_cast<const char*>(kWasmPreamble), sizeof kWasmPreamble);
  m.append(reinterpret_cast<const char*>(code->data()), code->size());
  return m;
}

bool IsFreeModel(const std::string& t) { return t == "free" || t == "free_with_ads"; }

// Content at least this large is worth loading libcrypto for once its first byte is out: Nettle
// opens chunks at ~1.0 ns/byte, libcrypto at ~0.8, and loading it costs ~3 ms of a core.
constexpr uint64_t kBulkCryptoMinBytes = uint64_t{8} << 20;

// How far ahead of this machine's clock (or of what the store saw) the state store may be moved
// by a chain's block time: chains keep block times within seconds of real time.
constexpr int64_t kMaxKeptTimeAhead = 3600;

// Whether CheckModule is known to pass without running it: the code of a bundled template, under
// memory and table caps at least the defaults. Every bundled template passes the checks under the
// defaults (tests/unit/sandbox_test.cc, BundledTemplatesPassTheChecks), and the checks only get
// easier as the caps rise. The parent — which holds the content key — then runs no wabt reader
// (~0.2 ms of the first byte); the sandbox child checks the module again in any case.
bool KnownToPassChecks(const std::string& code_sha256, const SandboxLimits& limits) {
  const SandboxLimits defaults;
  return limits.max_memory_bytes >= defaults.max_memory_bytes &&
         limits.max_table_elements >= defaults.max_table_elements &&
         templates::ByCodeSha256(code_sha256) != nullptr;
}

Result<std::vector<std::array<uint8_t, 32>>> LoadTrust(const OpenRequest& req) {
  std::vector<std::array<uint8_t, 32>> keys;
  std::vector<std::string> paths = req.trust_paths;
  std::string dir = req.trust_dir.empty() ? CapsuleHome() + "/trusted" : req.trust_dir;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".pub") == 0) paths.push_back(dir + "/" + n);
    }
    closedir(d);
  } else if (!req.trust_dir.empty()) {
    return Status(Code::IoOpen, req.trust_dir + ": cannot open trust directory");
  }
  for (const auto& p : paths) {
    CAPSULE_ASSIGN_OR_RETURN(PublicIdentity pub, LoadPublicKey(p));
    keys.push_back(pub.ed25519);
  }
  return keys;
}

// Verifies structure, parts 1–2, trust and the code of a capsule; returns it with its module
// and, when `code_sha256` is given, the code hash (`inspect`'s, `--trust-logic`'s).
// With `chain`, trust comes from the chain: the token's record must vouch for the creator key
// (EvmLedger::Bind); otherwise from the trusted keys. A creator binding, when present, must
// hold either way.
Result<OpenedCapsule> OpenTrusted(const std::string& path, const OpenRequest& req,
                                  const std::vector<std::array<uint8_t, 32>>& trusted,
                                  bool check_payload, std::string* module,
                                  std::string* code_sha256 = nullptr, EvmLedger* chain = nullptr) {
  VerifyOptions vo;
  vo.check_payload = check_payload;
  vo.wait_for_bulk_crypto = false;  // parts 1–2 with Nettle: libcrypto loads after the first byte
  if (!chain) vo.trusted = trusted;
  CAPSULE_ASSIGN_OR_RETURN(OpenedCapsule c, OpenCapsule(path, vo));
  if (chain) {
    CAPSULE_RETURN_IF_ERROR(chain->Bind(c));
    c.trusted = true;
  } else {
    CAPSULE_RETURN_IF_ERROR(chain::CheckCreatorBinding(c.manifest, path).status());
  }
  Status st;
  *module = ModuleBytes(c, &st);
  CAPSULE_RETURN_IF_ERROR(st);
  std::string code_hash = HexEncode(Sha256Of(AsBytes(std::string_view(*module).substr(8))));
  if (!req.trust_logic.empty() &&
      std::find(req.trust_logic.begin(), req.trust_logic.end(), code_hash) == req.trust_logic.end())
    return Status(Code::UntrustedLogic,
                  path + ": capsule code " + code_hash + " is not one of --trust-logic");
  if (!KnownToPassChecks(code_hash, req.limits))
    CAPSULE_RETURN_IF_ERROR(CheckModule(*module, req.limits).WithContext(path));
  if (code_sha256) *code_sha256 = std::move(code_hash);
  return c;
}

// `spawned`: the child (SpawnSandbox); a failure to start it is reported here, where the session
// starts, also when it was started ahead.
// Adds the instructions the logic ran to `report`'s count, also for a trap or a limit the child
// reported itself (its wall clock included); a run the parent stopped (the grace deadline past
// the wall clock, a crash, the output cap) or never started has no count, and the report says so. A
// sandbox outcome (trap, limit, crash: exit code 8) or a refusal by the logic names `capsule`,
// whose code it was (an ad's, when the ad's code refused); the host's own errors name their file
// already.
Status RunLogic(const std::string& module, SessionHost& host, const OpenRequest& req,
                uint64_t max_output, Result<std::unique_ptr<SpawnedSandbox>> spawned,
                const std::string& capsule, OpenReport& report) {
  SandboxLimits limits = req.limits;
  limits.max_output_bytes = max_output;
  report.instructions_known = false;  // until the child says
  CAPSULE_RETURN_IF_ERROR(spawned.status());
  std::optional<uint64_t> ran;
  Result<SandboxResult> r = RunSandboxed(module, host, limits, std::move(spawned.value()), &ran);
  if (ran) {
    report.instructions += *ran;
    report.instructions_known = true;
  }
  if (!r.ok())
    return ExitCode(r.status().code()) == 8 ? r.status().WithContext(capsule) : r.status();
  if (r->outcome == SandboxOutcome::kRefusedByLogic)
    return Status(Code::RefusedByLogic, capsule +
                                            ": the capsule logic refused (capsule_run returned " +
                                            std::to_string(r->logic_code) + ")");
  return Status::Ok();
}

Status PlayAd(const std::string& ad_id, const OpenRequest& req,
              const std::vector<std::array<uint8_t, 32>>& trusted, OutputSink& out, int64_t now,
              OpenReport& report) {
  std::string dir = req.ad_dir.empty() ? CapsuleHome() + "/ads" : req.ad_dir;
  DIR* d = opendir(dir.c_str());
  if (!d) return Status(Code::AdMissing, dir + ": no ad directory (give --ad-dir)");
  std::vector<std::string> files;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 13 && n.compare(n.size() - 13, 13, ".capsule.wasm") == 0)
      files.push_back(dir + "/" + n);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    // Cheap match on the verified manifest first; then verify the whole ad before it plays.
    VerifyOptions quick;
    quick.check_payload = false;
    auto peek = OpenCapsule(f, quick);
    if (!peek.ok() || HexEncode(peek->info.id) != ad_id) continue;
    std::string module;
    auto ad = OpenTrusted(f, req, trusted, /*check_payload=*/true, &module);
    if (!ad.ok())
      return Status(Code::AdMissing,
                    f + ": the ad capsule did not verify: " + ad.status().ToString());
    if (!ad->info.content_key)
      return Status(Code::AdMissing, f + ": the ad capsule is not free content");
    ContentKey k;
    CAPSULE_RETURN_IF_ERROR(RecoverContentKey(*ad, nullptr, nullptr, &k));
    nlohmann::json terms = {
        {"mode", "full"}, {"capsule_id", ad_id}, {"ad", true}, {"model", {{"type", "free"}}}};
    CapsuleHost host(*ad, &k, *CanonicalJson(terms), out, now);
    CAPSULE_RETURN_IF_ERROR(RunLogic(module, host, req, ad->info.plaintext_size + kOutputSlack,
                                     SpawnSandbox(req.sandbox_binary), f, report));
    report.ad_played = true;
    return Status::Ok();
  }
  return Status(Code::AdMissing, dir + ": no capsule with id " + ad_id);
}

Status DoOpen(const OpenRequest& req, OpenReport& report) {
  CryptoInit();
  const int64_t wall_now = req.clock ? req.clock()
                                     : std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count();
  // The evm ledger is bound to the capsule while it is opened: it is also a source of trust.
  std::unique_ptr<EvmLedger> chain_ledger;
  if (auto url = chain::ParseEvmLedgerSpec(req.ledger_spec)) {
    chain::AccessTokenOptions eo;
    eo.url = *url;
    eo.confirmations = req.confirmations;
    eo.timeout_ms = req.rpc_timeout_ms;
    CAPSULE_ASSIGN_OR_RETURN(chain_ledger, EvmLedger::Create(eo));
  }
  // The sandbox child starts now: its exec and loading overlap the checks below (it waits for
  // its session; an open refused on the way kills it). A failure is reported where it would
  // have been met without this (RunLogic).
  Result<std::unique_ptr<SpawnedSandbox>> spawned = SpawnSandbox(req.sandbox_binary);
  // 1–4: structure, signatures over parts 1–2, trust, manifest, code checks.
  CAPSULE_ASSIGN_OR_RETURN(auto trusted, LoadTrust(req));
  if (trusted.empty() && !chain_ledger)
    return Status(Code::UntrustedSigner,
                  req.capsule_path +
                      ": no trusted creator keys (give --trust KEY.pub or put "
                      ".pub files in " +
                      CapsuleHome() + "/trusted)");
  std::string module, code_sha256;
  CAPSULE_ASSIGN_OR_RETURN(OpenedCapsule c, OpenTrusted(req.capsule_path, req, trusted, false,
                                                        &module, &code_sha256, chain_ledger.get()));
  report.capsule_id = HexEncode(c.info.id);
  report.logic = templates::Describe(code_sha256);
  // The code is trusted and checked: the child reads and instantiates it while the licence,
  // ledger and state store are checked (it runs nothing until its session).
  if (spawned.ok()) {
    Status st = PrepareSandbox(*spawned.value(), module, req.limits);
    if (!st.ok()) spawned = std::move(st);
  }
  // The output is checked (and its temporary created) before the licence is looked at: an open
  // refused for its output (it exists, it is a directory, it is one of the inputs) must not
  // count a play or start a rental.
  OutputSink out;
  // What went out is reported also when the open fails part way (-o - into a closed pipe).
  struct ReportBytes {
    OpenReport& report;
    const OutputSink& out;
    ~ReportBytes() { report.bytes = out.delivered(); }
  } report_bytes{report, out};
  {
    std::vector<std::string> inputs = {req.capsule_path, req.license_path,
                                       req.identity_path.empty() && !req.license_path.empty()
                                           ? DefaultKeyPath()
                                           : req.identity_path};
    if (req.ledger_spec.rfind("file:", 0) == 0) inputs.push_back(req.ledger_spec.substr(5));
    inputs.insert(inputs.end(), req.trust_paths.begin(), req.trust_paths.end());
    const std::string state_dir = req.state_dir.empty() ? CapsuleHome() + "/state" : req.state_dir;
    if (!req.discard_output)
      CAPSULE_RETURN_IF_ERROR(CheckOutputIsNoInput(req.output, inputs, {state_dir}));
    CAPSULE_RETURN_IF_ERROR(out.Init(req.output, req.overwrite, req.discard_output));
  }
  const nlohmann::json& models = c.manifest["models"];
  bool free = c.info.content_key.has_value();
  std::string ad_id;
  for (const auto& m : models)
    if (JsonStr(m, "type") == "free_with_ads") ad_id = JsonStr(m, "ad_capsule_id");

  nlohmann::json terms = {{"capsule_id", report.capsule_id}};
  ContentKey k;
  bool full = false;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<StateStore::Session> session;
  BulkCryptoLoader bulk_loader;  // joined when the open ends
  ClockTouch clock_touch;        // after `store`: joined before the store goes
  // The clock rule (DESIGN §4) includes the chain's block time when a chain is used.
  const int64_t wall_or_chain =
      chain_ledger ? std::max(wall_now, chain_ledger->BlockTime()) : wall_now;
  int64_t now = wall_or_chain;
  int64_t kept_now = now;  // what the state store may keep of `now` (below)
  bool count_now = false;  // a play to count (under the session's lock) before the first byte
  // `test` hashes what the logic released only when that reveals nothing: free content, a
  // preview, or a holder who is one of the capsule's issuers (and holds K anyway). Otherwise
  // the hash of a one-byte --range, with --at and --plays-used, would give a holder whose
  // licence expired or whose plays are spent the content byte by byte.
  bool may_hash_output = free;

  if (req.license_path.empty() && free) {
    // Free content: K is published; no licence or ledger needed.
    CAPSULE_RETURN_IF_ERROR(RecoverContentKey(c, nullptr, nullptr, &k));
    full = true;
    report.model = ad_id.empty() ? "free" : "free_with_ads";
    terms["model"] = {{"type", report.model}};
  } else if (req.license_path.empty()) {
    if (c.preview.empty())
      return Status(Code::NoLicense, req.capsule_path +
                                         ": no licence given (--license) and the capsule has no "
                                         "preview");
    report.preview = true;
    report.model = "preview";
    may_hash_output = true;
  } else {
    // 5: licence — signature, issuer listed, bindings, window (clock rule of DESIGN §4).
    CAPSULE_ASSIGN_OR_RETURN(std::string id_path,
                             GivenOrDefaultKey(req.identity_path, "--identity"));
    CAPSULE_ASSIGN_OR_RETURN(SecretIdentity holder,
                             LoadSecretKey(id_path, DefaultPassphraseSource()));
    for (const auto& is : c.info.issuers)
      if (is.x25519 == holder.pub.x25519) may_hash_output = true;
    CAPSULE_ASSIGN_OR_RETURN(std::string lic_text, ReadLicenseFile(req.license_path));
    CAPSULE_ASSIGN_OR_RETURN(License lic, ParseLicense(lic_text, req.license_path));
    // The clock rule (DESIGN §4): the latest of the local clock and the last time the state
    // store saw; every attempt raises it (ClockTouch), so a set-back clock cannot revive an
    // expired rental. `capsule-run test --plays-used N`: a fake counter; the state store is not
    // touched.
    PlayRecord peeked;  // `test`: the record as the store has it
    // A dry run without a store has seen nothing: it does not create one (it writes nothing).
    if (!req.plays_used && (!req.discard_output || StateStore::Exists(req.state_dir))) {
      CAPSULE_ASSIGN_OR_RETURN(store, req.discard_output ? StateStore::OpenForReading(req.state_dir)
                                                         : StateStore::Open(req.state_dir));
      RecordId rid{c.info.id, holder.pub.address, {}};
      const std::optional<Bytes> lic_id = HexDecode(lic.id);  // 32 hex digits (ParseLicense)
      if (!lic_id || lic_id->size() != rid.license.size())
        return Status(Code::Internal, req.license_path + ": licence id is not 32 hex digits");
      std::copy(lic_id->begin(), lic_id->end(), rid.license.begin());
      if (req.discard_output) {  // reads the record without taking (creating) its lock
        CAPSULE_ASSIGN_OR_RETURN(peeked, store->Read(rid));
      } else {
        CAPSULE_ASSIGN_OR_RETURN(session, store->Begin(rid, /*wait=*/true));
      }
      now = std::max(wall_or_chain, store->LastSeen());
      // `test` (discard_output) reads the store but never writes it: a dry run with a fake
      // clock must not move the store's clock or count a play. Nothing to write either when
      // the store has seen `now` already (its time never goes back).
      // What is kept is bounded by this machine's clock: the chain's time decides this open,
      // but a lying endpoint must not push the store's time (which never goes back) years
      // ahead and expire every time-limited licence here for good.
      kept_now = std::min(now, std::max(wall_now, store->LastSeen()) + kMaxKeptTimeAhead);
      if (!req.discard_output && kept_now > store->LastSeen())
        clock_touch.Arm(store.get(), kept_now);
    }
    CAPSULE_RETURN_IF_ERROR(CheckLicense(lic, c, holder.pub, now));
    std::string type = JsonStr(lic.model, "type");
    report.model = type;
    std::optional<int64_t> expires = lic.not_after;

    // 6: the ledger says the holder holds the token (free models need none).
    if (!IsFreeModel(type)) {
      if (req.ledger_spec.empty())
        return Status(Code::Usage, "--ledger is required for paid content (e.g. file:ledger.json)");
      std::unique_ptr<Ledger> file_ledger;
      if (!chain_ledger) {
        CAPSULE_ASSIGN_OR_RETURN(file_ledger, OpenLedger(req.ledger_spec));
      }
      Ledger* ledger = chain_ledger ? static_cast<Ledger*>(chain_ledger.get()) : file_ledger.get();
      CAPSULE_ASSIGN_OR_RETURN(Holding h, ledger->Holds(c.info.id, holder.pub.address, now));
      if (!h.holds && h.expired)
        return Status(Code::LicenseExpired, ledger->Describe() + ": the access token grant of " +
                                                holder.pub.AddressChecksummed() + " has expired");
      if (!h.holds)
        return Status(Code::NotHolder, ledger->Describe() + ": " + holder.pub.AddressChecksummed() +
                                           " holds no access token for capsule " +
                                           report.capsule_id);
      if (h.expires && (!expires || *h.expires < *expires)) expires = h.expires;
    }

    // 7: business-model rules with the local state (locked for the whole open).
    PlayRecord fake = peeked;
    if (req.plays_used) fake = PlayRecord{*req.plays_used, std::nullopt};
    const PlayRecord& rec = session ? session->record() : fake;
    bool count_play = false;
    if (type == "rental" && JsonBool(lic.model, "from_first_play", false)) {
      int64_t first = rec.first_play.value_or(now);
      int64_t until = first + JsonInt(lic.model, "duration_s", 0);
      if (!expires || until < *expires) expires = until;
      count_play = !rec.first_play.has_value();
    }
    if (type == "pay_per_view") {
      uint64_t plays = static_cast<uint64_t>(std::max<int64_t>(0, JsonInt(lic.model, "plays", 0)));
      report.plays_total = plays;
      if (rec.plays_used >= plays)
        return Status(Code::PlaysExhausted, req.capsule_path + ": all " + std::to_string(plays) +
                                                " paid plays have been used");
      count_play = true;
    }
    if (expires && now >= *expires)  // the expiry instant itself is expired, as in the ledger
      return Status(Code::LicenseExpired, req.capsule_path + ": access expired at " +
                                              std::to_string(*expires) + " (now " +
                                              std::to_string(now) + ")");
    report.expires = expires;

    // 8: unwrap K and check the key commitment.
    CAPSULE_RETURN_IF_ERROR(UnwrapLicenseKey(lic, c, holder, &k));
    terms["model"] = lic.model;
    terms["holder"] = "0x" + HexEncode(holder.pub.address);
    if (expires) terms["expires"] = *expires;
    if (report.plays_total) terms["plays_remaining"] = *report.plays_total - rec.plays_used - 1;
    // A play is counted durably before any content is released (survives a crash mid-play),
    // but after the window is known to be good (below); its commit raises the store's time
    // too. Otherwise the time is written while the sandbox starts, and the first byte waits
    // for it.
    count_now = count_play && session && !req.discard_output;
    if (!count_now) {
      clock_touch.Start();
      report.plays_used = session ? session->record().plays_used : rec.plays_used + count_play;
      session.reset();  // the lock covers check-and-count, not the (possibly slow) streaming
    }
    full = true;
  }
  terms["mode"] = full ? "full" : "preview";
  report.mode = terms["mode"];

  // 9: run the logic (the ad first for free_with_ads), streaming into the temporary output.
  // The first byte waits for the clock's write. Once it is out, libcrypto loads for the rest of
  // a large content (the first chunks are decrypted with Nettle: format/crypto.cc); a small one
  // is done before loading it would pay (and the open would wait for the loader at its end).
  bool load_bulk = false;  // set below, when the content's size is known
  out.set_before_first_byte([&clock_touch, &bulk_loader, &load_bulk] {
    Status st = clock_touch.Wait();
    if (load_bulk) bulk_loader.Start();
    return st;
  });
  if (full && !ad_id.empty())
    CAPSULE_RETURN_IF_ERROR(PlayAd(ad_id, req, trusted, out, now, report));
  if (report.ad_played) terms["ad_played"] = true;  // the template of free_with_ads checks it
  CAPSULE_ASSIGN_OR_RETURN(std::string terms_json, CanonicalJson(terms));
  CapsuleHost host(c, full ? &k : nullptr, terms_json, out, now);
  host.set_trace(req.trace);
  host.set_fixed_clock(req.discard_output && req.clock);  // `test --at`: the fake clock
  // `--range` / `--from`: the logic sees only that window of the content (runtime-min/seek.h).
  uint64_t content = full ? c.info.plaintext_size : 0;
  if (!req.range.empty() || req.from_seconds) {
    if (!full)
      return Status(Code::Usage, req.capsule_path +
                                     ": --range and --from need the content (a licence, or free "
                                     "content); a preview is served whole");
    Result<SeekWindow> w =
        !req.range.empty()
            ? RangeWindow(req.range, c.info.plaintext_size)
            : TimeWindow(JsonAt(JsonAt(c.manifest, "capsule"), "media"), c.info.plaintext_size,
                         *req.from_seconds, [&host](uint64_t pos, size_t n, std::string* out) {
                           return host.ReadPlain(pos, n, out);
                         });
    CAPSULE_RETURN_IF_ERROR(w.status().WithContext(req.capsule_path));
    report.range_offset = w->offset;
    report.range_length = w->length;
    host.set_window(std::move(*w));
    content = host.WindowSize();
  }
  if (count_now) {
    CAPSULE_RETURN_IF_ERROR(host.CheckBeforeCounting(/*all=*/!out.streams()));
    CAPSULE_RETURN_IF_ERROR(session->CountPlay(kept_now));
    clock_touch.Disarm();
    report.plays_used = session->record().plays_used;
    session.reset();
  }
  // Full mode also allows 1/32 of the content for transformations that grow it (the text
  // watermark adds at most 100 bytes per 4 KiB: 2.5 %).
  uint64_t cap = content + content / 32 + c.preview.size() + kOutputSlack;
  if (req.progress) out.set_progress(req.progress, full ? content : c.preview.size());
  load_bulk = content >= kBulkCryptoMinBytes;
  if (load_bulk && out.bytes() > 0) bulk_loader.Start();  // an ad's first byte went out already
  host.PrefetchFirst();                                   // while the sandbox starts
  CAPSULE_RETURN_IF_ERROR(
      RunLogic(module, host, req, cap, std::move(spawned), req.capsule_path, report));
  report.chunks_decrypted = host.chunks_decrypted();
  CAPSULE_RETURN_IF_ERROR(clock_touch.Wait());  // also when the logic released nothing
  CAPSULE_RETURN_IF_ERROR(out.Commit());
  report.output = req.discard_output ? "" : req.output;
  if (req.discard_output && may_hash_output) report.output_sha256 = out.Sha256Hex();
  return Status::Ok();
}

}  // namespace

OpenReport Open(const OpenRequest& req) {
  OpenReport report;
  report.status = DoOpen(req, report);
  return report;
}

std::string OpenReport::ToJson() const {
  nlohmann::json j = {{"ok", status.ok()}, {"mode", mode},       {"model", model},
                      {"bytes", bytes},    {"preview", preview}, {"ad_played", ad_played}};
  if (!capsule_id.empty()) j["capsule_id"] = capsule_id;  // none before the capsule verified
  // A run stopped from outside reports no count (none comes back from the child).
  if (instructions_known) j["instructions"] = instructions;
  if (!logic.empty()) j["logic"] = logic;
  if (range_offset) j["range"] = {{"offset", *range_offset}, {"length", *range_length}};
  if (status.ok() && mode == "full") j["chunks_decrypted"] = chunks_decrypted;
  if (!output.empty()) j["output"] = output;
  if (!output_sha256.empty()) j["output_sha256"] = output_sha256;
  if (plays_used) j["plays_used"] = *plays_used;
  if (plays_total) j["plays_total"] = *plays_total;
  if (expires) j["expires"] = *expires;
  j["outcome"] = OutcomeOf(status);
  if (!status.ok())
    j["error"] = {{"code", std::string(ReasonCode(status.code()))},
                  {"exit_code", ExitCode(status.code())},
                  {"message", status.detail()}};
  return ReportJson(j);
}

const char* OutcomeOf(const Status& status) {
  if (status.ok()) return "completed";
  if (status.code() == Code::RefusedByLogic) return "refused";
  return ExitCode(status.code()) == 8 ? "stopped" : "rejected";
}

std::string DefaultSandboxBinary() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "capsule-sandbox";
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "capsule-sandbox";
}

}  // namespace capsule::runtime

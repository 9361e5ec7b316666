// capsulec pack: one capsule per input, over one loaded set of keys and manifest.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "capsulec/cli.h"

namespace capsulec {
namespace {
struct Opts {
  std::vector<std::string> inputs, issuers, cosigners;
  std::string manifest, key, out, out_dir, seed, logic, compress = "auto", template_name = "auto";
  uint32_t chunk_size = 64 * 1024;
  unsigned jobs = 1;
  unsigned threads = 0;  // 0: every core
  bool force = false;
};
}  // namespace

void RegisterPack(CLI::App& root, Command& cmd) {
  auto o = std::make_shared<Opts>();
  cmd.app = root.add_subcommand("pack",
                                "Pack media (MP3, WAV, UTF-8 text) into signed, "
                                "encrypted capsules");
  cmd.app->footer(
      "Each INPUT becomes INPUT-without-extension.capsule.wasm beside it (or in --out-dir).\n"
      "The content key is sealed to the creator (--key, default identity) and every --issuer;\n"
      "free and free_with_ads capsules publish it in the manifest instead.\n\n"
      "Threads: --threads N (default: every core) is the budget of the whole run. --jobs J packs\n"
      "J inputs at once, each sealing its chunks on max(1, N/J) threads: one big input packs\n"
      "fastest with --jobs 1, many small ones with --jobs N. Neither changes a capsule's bytes,\n"
      "and memory stays a few chunks per thread whatever the input size.\n\n"
      "Examples:\n"
      "  capsulec pack song.mp3 --royalty manifest.yaml\n"
      "  capsulec pack assets/*.wav --royalty manifest.yaml --out-dir dist --cosign ci.key \\\n"
      "      --reproducible seed.bin --json\n"
      "  capsulec pack audiobook.wav --royalty manifest.yaml --threads 1   # leave cores free");
  cmd.app->add_option("INPUT", o->inputs, "media files to pack")
      ->required()
      ->check(CLI::ExistingFile);
  cmd.app
      ->add_option("--royalty,--manifest,-m", o->manifest,
                   "manifest.yaml (see docs/spec/manifest.md)")
      ->required();
  cmd.app->add_option("--key,-k", o->key, "creator's secret key (default: your default identity)");
  cmd.app->add_option("--issuer", o->issuers,
                      "also seal the content key to this public key (.pub)");
  cmd.app->add_option("--cosign", o->cosigners, "also sign with this secret key (e.g. a CI key)");
  CLI::Option* out = cmd.app->add_option("-o,--output", o->out, "output file (one input only)");
  cmd.app->add_option("--out-dir", o->out_dir, "directory for the capsules")
      ->check(CLI::ExistingDirectory)
      ->excludes(out);
  cmd.app->add_option("--chunk-size", o->chunk_size, "plaintext bytes per chunk (4096..16777216)")
      ->default_val(65536);
  cmd.app
      ->add_option("--compress", o->compress, "zstd per chunk: auto (when it pays), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd.app->add_option(
      "--reproducible", o->seed,
      "SEED_FILE: derive every random value from this secret seed (byte-identical output)");
  cmd.app
      ->add_option("--logic", o->logic,
                   "LOGIC.wasm: custom capsule logic (from `capsulec logic build`) instead of the "
                   "bundled template")
      ->check(CLI::ExistingFile);
  cmd.app
      ->add_option("--template", o->template_name,
                   "NAME: the bundled template: auto (the models' own: buy, pay-per-view, rental, "
                   "subscription, free, free-with-ads; standard when they mix), standard, or "
                   "watermark-text (text: the licensee's address woven in)")
      ->default_val("auto");
  cmd.app->add_option("--jobs,-j", o->jobs, "inputs packed in parallel (sharing --threads)")
      ->check(CLI::Range(1u, 256u));
  cmd.app
      ->add_option("--threads", o->threads,
                   "N: threads for the whole run, shared by --jobs (default: every core)")
      ->check(CLI::Range(1u, 1024u));
  cmd.app->add_flag("--force", o->force, "replace existing outputs");
  cmd.app->add_flag("--json", cmd.json, "one JSON object per capsule (JSON Lines)");
  cmd.run = [o, &cmd]() {
    if (cmd.app->count("--output") && o->out.empty())
      return Fail(capsule::Status(capsule::Code::Usage, "-o: an empty file name"), cmd.json);
    if (!o->out.empty() && o->inputs.size() != 1)
      return Fail(capsule::Status(capsule::Code::Usage, "-o works with one input; use --out-dir"),
                  cmd.json);
    auto key = ResolveKey(o->key);
    if (!key.ok()) return Fail(key.status(), cmd.json);
    capsule::PackRequest req;
    req.manifest_path = o->manifest;
    req.key_path = *key;
    req.issuer_paths = o->issuers;
    req.cosign_key_paths = o->cosigners;
    req.chunk_size = o->chunk_size;
    req.compress = o->compress;
    req.seed_path = o->seed;
    req.overwrite = o->force;
    req.logic_path = o->logic;
    req.template_name = o->template_name;
    // One thread budget: --jobs capsules at a time, each sealing on an equal share of it.
    const size_t nthreads = std::min<size_t>(o->jobs, o->inputs.size());
    const unsigned budget =
        o->threads ? o->threads : std::max(1u, std::thread::hardware_concurrency());
    req.threads = std::max(1u, static_cast<unsigned>(budget / nthreads));
    auto packer = capsule::Packer::Create(req);
    if (!packer.ok()) return Fail(packer.status(), cmd.json);
    std::vector<std::string> outputs;
    std::set<std::string> seen;
    for (const auto& in : o->inputs) {
      std::string out = o->out.empty() ? capsule::DefaultCapsuleName(in, o->out_dir) : o->out;
      if (!seen.insert(out).second)
        return Fail(capsule::Status(capsule::Code::Usage,
                                    out + ": two inputs would produce the same capsule name"),
                    cmd.json);
      outputs.push_back(out);
    }
    // --jobs: N worker threads share the loaded keys, manifest and template; each capsule
    // streams on its own. Results are printed as they finish; the exit code is that of the
    // first failing input in command-line order (not the first to finish: the same inputs give
    // the same exit code whatever --jobs).
    std::mutex mu;
    std::atomic<size_t> next{0};
    int rc = 0;
    size_t rc_input = SIZE_MAX;  // the input whose failure gave rc
    const bool show_progress = o->jobs == 1;
    auto worker = [&]() {
      for (size_t i; (i = next++) < o->inputs.size();) {
        auto progress = show_progress ? MakeProgress(cmd.json, "packing " + o->inputs[i]) : nullptr;
        auto r = (*packer)->Pack(o->inputs[i], outputs[i], i, progress);
        std::lock_guard<std::mutex> lock(mu);
        if (show_progress) EndProgress(cmd.json);
        if (!r.ok()) {
          int code = Fail(r.status(), cmd.json, o->inputs[i], outputs[i]);
          if (i < rc_input) rc = code, rc_input = i;
          continue;
        }
        if (cmd.json) {
          std::cout << r->ToJson() << std::endl;
        } else {
          std::cout << r->output << ": " << r->media_type << ", " << r->input_size << " → "
                    << r->capsule_size << " bytes, " << r->chunk_count << " chunks ("
                    << r->compressed_chunks << " compressed), capsule " << r->capsule_id
                    << (r->preview_size
                            ? ", clear preview " + std::to_string(r->preview_size) + " bytes"
                            : "")
                    << (r->free ? ", free" : "") << (r->creator_binding ? ", creator binding" : "")
                    << std::endl;
        }
      }
    };
    std::vector<std::thread> threads;
    for (size_t t = 1; t < nthreads; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    return rc;
  };
}

}  // namespace capsulec

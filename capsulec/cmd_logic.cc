// capsulec logic: the capsule logic SDK. `logic new NAME` creates a starter project;
// `logic build FILE.c|FILE.wasm -o OUT.wasm` compiles against ABI capsule_v1, checks with wabt,
// optimises with Binaryen and checks again (packager/logic.h).
#include <iostream>

#include "capsulec/cli.h"

namespace capsulec {
namespace {
struct LogicOpts {
  std::string input, output, name;
  bool overwrite = false;
};
}  // namespace

void RegisterLogic(CLI::App& root, Command& cmd) {
  auto o = std::make_shared<LogicOpts>();
  cmd.app = root.add_subcommand("logic", "Create, build and check custom capsule logic");
  cmd.app->require_subcommand(1);
  cmd.app->footer(
      "Examples:\n"
      "  capsulec logic new shout          # shout/shout.c, capsule_v1.h, test.sh, README.md\n"
      "  capsulec logic build shout/shout.c -o shout.wasm\n"
      "  capsulec pack poem.txt --royalty manifest.yaml --logic shout.wasm\n"
      "Guide: docs/guide/capsule-logic.md; ABI: docs/spec/host-abi.md.");
  CLI::App* nw = cmd.app->add_subcommand("new", "Create a starter logic project NAME/");
  nw->add_option("NAME", o->name,
                 "project directory; its last part is the name (letters, digits, '_', '-')")
      ->required();
  nw->add_flag("--json", cmd.json, "print the result as JSON");
  CLI::App* build = cmd.app->add_subcommand(
      "build", "Compile (C) or take (.wasm) logic, check it with wabt, optimise with Binaryen");
  build->add_option("FILE", o->input, "FILE.c or FILE.wasm")->required()->check(CLI::ExistingFile);
  build
      ->add_option("-o,--output", o->output,
                   "output module (written atomically; replaces an older module)")
      ->required();
  build->add_flag("--force", o->overwrite, "also replace an existing file that is not a module");
  build->add_flag("--json", cmd.json, "print the result as JSON");
  build->footer(
      "C is compiled with clang-14 and wasm-ld-14 from PATH, or the programs named by\n"
      "$CAPSULE_CLANG and $CAPSULE_WASM_LD (no libc, 128 KiB memory with a maximum, exports\n"
      "memory and capsule_run). Refused: imports outside capsule_v1 (WASI, libc), memory\n"
      "without a maximum, missing or mistyped exports (exit 7), compiler errors (exit 4,\n"
      "bad-template, the compiler's message on stderr).\n\n"
      "Examples:\n"
      "  capsulec logic build shout.c -o shout.wasm\n"
      "  capsulec pack poem.txt --royalty manifest.yaml --logic shout.wasm");
  cmd.run = [o, nw, build, &cmd]() {
    if (nw->parsed()) {
      auto r = capsule::NewLogicProject(o->name);
      if (!r.ok()) return Fail(r.status(), cmd.json);
      if (cmd.json) {
        std::cout << r->ToJson() << "\n";
      } else {
        std::cout << "created " << r->dir << "/:";
        for (const auto& f : r->files) std::cout << " " << f.substr(r->dir.size() + 1);
        std::cout << "\nnext: cd " << r->dir << " && ./test.sh\n";
      }
      return 0;
    }
    (void)build;
    std::string diagnostics;
    capsule::LogicBuildRequest req{o->input, o->output, o->overwrite};
    auto r = capsule::BuildLogic(req, &diagnostics);
    if (!diagnostics.empty()) std::cerr << diagnostics << (diagnostics.back() == '\n' ? "" : "\n");
    if (!r.ok()) return Fail(r.status(), cmd.json);
    if (cmd.json) {
      std::cout << r->ToJson() << "\n";
    } else {
      std::cout << r->output << ": " << r->size << " bytes (" << r->unoptimized_size
                << " before Binaryen), code sha256 " << r->code_sha256 << "\n";
    }
    return 0;
  };
}

}  // namespace capsulec

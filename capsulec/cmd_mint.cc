// capsulec mint: ERC-1155 metadata (and the clear preview beside it) for a capsule's access
// token, and the mint transaction: sent (--rpc, --minter) or printed unsigned for a wallet
// (docs/spec/chain.md §7). The capsule is verified in full first.
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "capsulec/cli.h"
#include "chain/creator_binding.h"
#include "chain/mint.h"
#include "format/bytes.h"
#include "format/canonical_json.h"
#include "format/container.h"
#include "format/keys.h"

namespace capsulec {
namespace {

namespace ch = capsule::chain;
namespace fmt = capsule::format;
using capsule::Code;
using capsule::Status;

struct TxOpts {
  std::string rpc, minter, to;
  uint64_t amount = 1;
  int rpc_timeout_ms = 10000;
};

// The token as the contract will record it, and the address to mint to.
capsule::Result<std::pair<ch::TokenRef, ch::Address>> TokenAndRecipient(
    const std::string& path, const TxOpts& t, const fmt::SecretIdentity* minter) {
  fmt::VerifyOptions vo;
  vo.check_payload = false;  // Mint() verified every byte already
  CAPSULE_ASSIGN_OR_RETURN(fmt::OpenedCapsule c, fmt::OpenCapsule(path, vo));
  CAPSULE_ASSIGN_OR_RETURN(ch::TokenRef token,
                           ch::TokenRefOf(c.manifest, c.manifest_bytes, c.info.id, path));
  if (minter) {  // a token runtimes would never accept is not worth a transaction
    CAPSULE_ASSIGN_OR_RETURN(ch::BindingState b, ch::CheckCreatorBinding(c.manifest, path));
    if (b == ch::BindingState::kAbsent)
      return Status(Code::NoCreatorBinding,
                    path +
                        ": no creator.binding, and runtimes open chain tokens only for capsules "
                        "that carry one: pack it with the key file of creator.address (nothing "
                        "was sent)");
  }
  ch::Address to = minter ? minter->pub.address : token.creator;
  if (!t.to.empty()) {
    auto a = fmt::ParseEvmAddress(t.to);
    if (!a)
      return Status(Code::Usage, "--to `" + t.to +
                                     "`: not an EVM address (0x + 40 hex digits; mixed case must "
                                     "carry a valid EIP-55 checksum)");
    std::copy(a->begin(), a->end(), to.begin());
  }
  return std::make_pair(token, to);
}

}  // namespace

void RegisterMint(CLI::App& root, Command& cmd) {
  auto req = std::make_shared<capsule::MintRequest>();
  auto tx = std::make_shared<TxOpts>();
  cmd.app = root.add_subcommand("mint", "Write the ERC-1155 token metadata for a capsule");
  cmd.app->footer(
      "The capsule is verified first (every byte as signed); its manifest needs a `chain:`\n"
      "block. The token id is chain.token_id, or for `derive` the 16-byte capsule id read as\n"
      "a big-endian number. The metadata carries the capsule's IPFS CIDs (as `ipfs add`\n"
      "computes them), royalties, the EIP-2981 rate and, with two or more recipients, the split\n"
      "in 0xSplits form. A clear preview is written beside the metadata as\n"
      "<64-hex id>.preview.<ext>; animation_url points at it under --uri-base. Publish the\n"
      "metadata as <64-hex id>.json under the contract's URI base (the ERC-1155 {id} form).\n"
      "See docs/spec/token-metadata.md.\n\n"
      "With --rpc URL and --minter KEY (the creator's key file: the first mint registers the\n"
      "token, and runtimes accept only tokens registered by creator.address), it sends the\n"
      "mint transaction (EIP-1559, signed here), waits for the receipt and prints the token id\n"
      "and transaction hash; without --rpc it prints the unsigned request {to, data, value,\n"
      "chainId} for a wallet. The metadata is kept only when the transaction succeeded.\n\n"
      "Examples:\n"
      "  capsulec mint song.capsule.wasm --uri-base ipfs://QmMediaFolderCid -o meta/{id}.json\n"
      "  capsulec mint song.capsule.wasm --uri-base https://example.org/tokens \\\n"
      "      --image cover.png -o meta/token.json --json\n"
      "  capsulec mint song.capsule.wasm -o token.json --rpc https://api.elastos.io/esc \\\n"
      "      --minter alice.key --to 0xBuyerAddress… --amount 1");
  cmd.app->add_option("CAPSULE", req->path, "capsule file")->required()->check(CLI::ExistingFile);
  cmd.app
      ->add_option("-o,--output", req->output,
                   "where to write the metadata JSON ({id} stands for the 64-hex token id)")
      ->required();
  cmd.app->add_option("--uri-base", req->uri_base,
                      "URI the files will be published under (e.g. ipfs://CID)");
  cmd.app->add_option("--image", req->image,
                      "image URI, or an image file (copied beside the metadata; needs --uri-base)");
  cmd.app->add_option("--preview-uri", req->preview_uri,
                      "animation_url (default: <uri-base>/<id>.preview.<ext>)");
  cmd.app->add_option("--external-url", req->external_url,
                      "external_url (e.g. the creator's page)");
  cmd.app->add_option(
      "--rpc", tx->rpc,
      "send the mint transaction to this JSON-RPC endpoint (https unless loopback)");
  cmd.app->add_option("--minter", tx->minter,
                      "with --rpc: the key file that signs and pays (default: your identity)");
  cmd.app->add_option("--to", tx->to,
                      "mint to this address (default: the minter's; unsigned: creator.address)");
  cmd.app->add_option("--amount", tx->amount, "how many tokens to mint")
      ->default_val(tx->amount)
      ->check(CLI::NonNegativeNumber);
  cmd.app->add_option("--rpc-timeout-ms", tx->rpc_timeout_ms, "time limit of each JSON-RPC request")
      ->default_val(tx->rpc_timeout_ms)
      ->check(CLI::Range(100, 600000));
  cmd.app->add_flag("--force", req->overwrite, "replace existing outputs");
  cmd.app->add_flag("--json", cmd.json, "print the result as JSON");
  cmd.run = [req, tx, &cmd]() {
    std::optional<fmt::SecretIdentity> minter;
    if (!tx->rpc.empty()) {
      auto key = ResolveKey(tx->minter);
      if (!key.ok()) return Fail(key.status(), cmd.json);
      Status in = fmt::CheckOutputIsNoInput(req->output, {*key});
      if (!in.ok()) return Fail(in, cmd.json);
      auto k = fmt::LoadSecretKey(*key, fmt::DefaultPassphraseSource());
      if (!k.ok()) return Fail(k.status(), cmd.json);
      minter = std::move(*k);
      if (!req->overwrite && req->output.find("{id}") == std::string::npos &&
          access(req->output.c_str(), F_OK) == 0)
        return Fail(
            Status(Code::OutputExists, req->output + ": exists; pass --force to replace it"),
            cmd.json);
    }
    req->progress = MakeProgress(cmd.json, "verifying and hashing");
    auto r = capsule::Mint(*req);
    EndProgress(cmd.json);
    if (!r.ok()) return Fail(r.status(), cmd.json);
    auto plan = TokenAndRecipient(req->path, *tx, minter ? &*minter : nullptr);
    auto discard = [&]() {  // the transaction failed: keep no output
      for (const std::string& f : {r->metadata, r->preview_file, r->image_file})
        if (!f.empty()) unlink(f.c_str());
    };
    if (!plan.ok()) {
      if (minter) discard();
      return Fail(plan.status(), cmd.json);
    }
    const auto& [token, to] = *plan;
    nlohmann::json j = nlohmann::json::parse(r->ToJson());
    j["to"] = fmt::EvmAddressChecksum(to);
    if (!minter) {
      j["unsigned_request"] = ch::UnsignedMintRequest(token, to, tx->amount);
    } else {
      ch::MintOptions mo;
      mo.rpc_url = tx->rpc;
      mo.timeout_ms = tx->rpc_timeout_ms;
      auto sent = ch::SendMint(token, to, tx->amount, minter->secret.data() + 64, mo);
      if (!sent.ok()) {
        discard();
        return Fail(sent.status(), cmd.json);
      }
      j["tx_hash"] = "0x" + fmt::HexEncode(sent->tx_hash);
      j["block"] = sent->block;
      j["gas_used"] = sent->gas_used;
    }
    if (cmd.json) {
      std::cout << fmt::ReportJson(j) << "\n";
    } else {
      std::cout << r->ToText();
      if (minter)
        std::cout << "minted " << tx->amount << " of token " << r->token_id << " to "
                  << fmt::EvmAddressChecksum(to) << " in transaction "
                  << j["tx_hash"].get<std::string>() << " (block " << j["block"] << ")\n";
      else
        std::cout << "unsigned mint request (send it from creator.address with a wallet):\n"
                  << fmt::ReportJson(j["unsigned_request"], 2) << "\n";
    }
    return 0;
  };
}

}  // namespace capsulec

// JSON-RPC client over libcurl. Each call gets its own easy handle: the SDK makes a handful of
// calls per command, so connection reuse is not worth shared mutable state. The URL is parsed
// by curl's own URL API and the parsed handle is what curl connects to, so the host we checked
// is the host we reach. No redirects (a redirect could leave loopback or https), no proxy for
// loopback (plain http must not leave the machine), and the answer is capped in the write
// callback before it is ever parsed.
//
// libcurl is loaded on first use (dlopen), not linked. Linked, it and the ~27 libraries it
// pulls in (TLS, Kerberos, LDAP, SSH, RTMP, IDN, PSL…) are mapped, relocated and initialised
// at every start of capsule-run and capsulec — about 4 ms before main, the largest part of an
// open's time to first byte (docs/performance.md) — while only the evm: ledger and the chain
// commands ever make a request.
#include "chain/rpc.h"

#include <arpa/inet.h>
#include <curl/curl.h>  // types and constants only: every function goes through CurlApi
#include <dlfcn.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <type_traits>

#include "chain/contract_errors.h"
#include "format/text.h"

namespace capsule::chain {
namespace {

constexpr size_t kMaxAnswer = 4u << 20;  // 4 MiB: far above any answer the SDK asks for

using Json = nlohmann::json;

// The libcurl functions the client calls, each with the exact type of its declaration in
// <curl/curl.h> (curl_easy_setopt and curl_easy_getinfo are variadic: a call through a pointer
// of any other type would be undefined).
struct CurlApi {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_url) url;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_strerror) url_strerror;
  decltype(&::curl_free) free_string;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// Never unloaded: libcurl and its TLS library register process-wide state.
Result<CurlApi> LoadCurlApi(const std::string& soname) {
  const std::string advice =
      ": the evm: ledger and the chain commands need libcurl (Debian: apt install libcurl4)";
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    return Status(Code::ChainRpcUnreachable,
                  "cannot load " + soname + " (" + (why ? why : "unknown error") + ")" + advice);
  }
  CurlApi api{};
  std::string missing;
  auto bind = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn) missing += std::string(missing.empty() ? "" : ", ") + name;
  };
  bind(api.global_init, "curl_global_init");
  bind(api.url, "curl_url");
  bind(api.url_cleanup, "curl_url_cleanup");
  bind(api.url_get, "curl_url_get");
  bind(api.url_set, "curl_url_set");
  bind(api.url_strerror, "curl_url_strerror");
  bind(api.free_string, "curl_free");
  bind(api.easy_init, "curl_easy_init");
  bind(api.easy_cleanup, "curl_easy_cleanup");
  bind(api.easy_setopt, "curl_easy_setopt");
  bind(api.easy_perform, "curl_easy_perform");
  bind(api.easy_getinfo, "curl_easy_getinfo");
  bind(api.easy_strerror, "curl_easy_strerror");
  bind(api.slist_append, "curl_slist_append");
  bind(api.slist_free_all, "curl_slist_free_all");
  if (!missing.empty()) {
    dlclose(lib);
    return Status(
        Code::ChainRpcUnreachable,
        soname + " lacks " + missing + " (built against libcurl " LIBCURL_VERSION ")" + advice);
  }
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return Status(Code::ChainRpcUnreachable, soname + ": curl_global_init failed" + advice);
  return api;
}

// Loaded once per process, the first time a URL is checked (CheckUrl: every path to a request
// starts there).
const Result<CurlApi>& Curl() {
  static const Result<CurlApi> api = LoadCurlApi(kLibcurlSoname);
  return api;
}

// Only once Curl() succeeded.
const CurlApi& Api() { return Curl().value(); }

struct UrlDeleter {
  void operator()(CURLU* u) const { Api().url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;
struct EasyDeleter {
  void operator()(CURL* c) const { Api().easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { Api().slist_free_all(l); }
};

// A part of a parsed URL as a string ("" when absent).
std::string Part(CURLU* u, CURLUPart part) {
  char* p = nullptr;
  if (Api().url_get(u, part, &p, 0) != CURLUE_OK || p == nullptr) return "";
  std::string s = p;
  Api().free_string(p);
  return s;
}

bool IsLoopbackHost(const std::string& host) {
  std::string lower;
  for (char c : host) lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  if (lower == "localhost") return true;  // curl resolves it to loopback without DNS
  // curl has already normalized IPv4 forms such as "127.1" to dotted quads.
  in_addr v4;
  if (inet_pton(AF_INET, lower.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  if (lower.size() > 2 && lower.front() == '[' && lower.back() == ']') {
    in6_addr v6;
    std::string inner = lower.substr(1, lower.size() - 2);
    return inet_pton(AF_INET6, inner.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

// The URL for messages, without user name or password (an API key often rides in the URL;
// we cannot tell, so at least the userinfo is dropped).
std::string DisplayUrl(const std::string& url) {
  if (!Curl().ok()) return "(RPC URL)";
  UrlHandle u(Api().url());
  if (!u ||
      Api().url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return "(invalid URL)";
  }
  Api().url_set(u.get(), CURLUPART_USER, nullptr, 0);
  Api().url_set(u.get(), CURLUPART_PASSWORD, nullptr, 0);
  return Part(u.get(), CURLUPART_URL);
}

struct CheckedUrl {
  UrlHandle handle;
  bool loopback = false;
  std::string display;  // the URL without user name or password, for messages
};

Result<CheckedUrl> CheckUrl(const std::string& url) {
  CAPSULE_RETURN_IF_ERROR(Curl().status());
  CheckedUrl out;
  out.handle.reset(Api().url());
  if (!out.handle) return Status(Code::Internal, "curl_url() failed");
  // Any scheme parses, so that a wrong one is reported as insecure rather than as a typo.
  CURLUcode rc =
      Api().url_set(out.handle.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    return Status(Code::Usage,
                  "RPC URL \"" + url + "\" is not a valid URL: " + Api().url_strerror(rc));
  }
  std::string scheme = Part(out.handle.get(), CURLUPART_SCHEME);
  std::string host = Part(out.handle.get(), CURLUPART_HOST);
  out.loopback = IsLoopbackHost(host);
  out.display = DisplayUrl(url);
  const bool web = scheme == "http" || scheme == "https";
  if (web && host.empty()) {
    return Status(Code::Usage, "RPC URL \"" + out.display + "\" has no host");
  }
  if (scheme == "https" || (scheme == "http" && out.loopback)) return out;
  return Status(Code::ChainInsecureRpc,
                out.display +
                    ": the RPC endpoint must use https (plain http only on loopback: "
                    "localhost, 127.0.0.0/8, [::1])");
}

struct Sink {
  std::string body;
  bool overflow = false;
};

size_t WriteBody(char* p, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  if (sink->body.size() + len > kMaxAnswer) {
    sink->overflow = true;
    return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->body.append(p, len);
  return len;
}

// At most `max` bytes of `s`, cut on a UTF-8 boundary: details end up in --json output, which
// must stay valid UTF-8 however long or odd the node's text was.
std::string Clip(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  return s + "...";
}

// A JSON value for an error message: short, never throwing on odd bytes.
std::string Show(const Json& v) {
  return Clip(v.dump(-1, ' ', false, Json::error_handler_t::replace), 120);
}

Status BadResponse(const std::string& url, const std::string& method, const std::string& what) {
  return Status(Code::ChainBadResponse, DisplayUrl(url) + ": " + method + ": " + what);
}

// Strict JSON-RPC quantity: "0x" and hex digits, no leading zeros, at most 256 bits.
Result<U256> ParseQuantity(const Json& v, const std::string& url, const std::string& method) {
  if (v.is_string()) {
    if (auto q = U256::FromHex(v.get_ref<const std::string&>(), /*strict=*/true)) return *q;
  }
  return BadResponse(url, method, "expected a hex quantity, got " + Show(v));
}

Result<uint64_t> ParseQuantityU64(const Json& v, const std::string& url,
                                  const std::string& method) {
  CAPSULE_ASSIGN_OR_RETURN(U256 q, ParseQuantity(v, url, method));
  if (!q.FitsU64()) return BadResponse(url, method, "quantity " + Show(v) + " exceeds 64 bits");
  return q.ToU64();
}

// Unformatted data: "0x" and an even number of hex digits.
Result<format::Bytes> ParseData(const Json& v, const std::string& url, const std::string& method) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() >= 2 && s[0] == '0' && s[1] == 'x') {
      if (auto b = format::HexDecode(std::string_view(s).substr(2))) return *b;
    }
  }
  return BadResponse(url, method, "expected 0x-prefixed hex data, got " + Show(v));
}

std::string DataHex(format::ByteView b) { return "0x" + format::HexEncode(b); }

// A block parameter: a tag or a quantity. Anything else is the caller's mistake.
Status CheckBlock(const std::string& block) {
  if (block == "latest" || block == "pending" || block == "earliest" || block == "safe" ||
      block == "finalized" || U256::FromHex(block, /*strict=*/true)) {
    return Status::Ok();
  }
  return Status(Code::Usage, "block \"" + block + "\" is neither a block tag nor a quantity");
}

std::atomic<uint64_t> next_id{1};

}  // namespace

Result<RpcClient> RpcClient::Create(RpcOptions options) {
  if (options.timeout_ms <= 0 || options.connect_timeout_ms <= 0) {
    return Status(Code::Usage, "RPC timeouts must be positive");
  }
  CAPSULE_RETURN_IF_ERROR(CheckUrl(options.url).status());
  return RpcClient(std::move(options));
}

Result<Json> RpcClient::Call(const std::string& method, Json params) const {
  CAPSULE_ASSIGN_OR_RETURN(CheckedUrl url, CheckUrl(options_.url));  // loads libcurl
  const CurlApi& curl_api = Api();
  const std::string& where = url.display;

  const uint64_t id = next_id.fetch_add(1);
  Json request = {
      {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  const std::string body = request.dump(-1, ' ', false, Json::error_handler_t::replace);

  std::unique_ptr<CURL, EasyDeleter> curl(curl_api.easy_init());
  if (!curl) return Status(Code::Internal, "curl_easy_init() failed");
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const char* h : {"Content-Type: application/json", "Accept: application/json", "Expect:"}) {
    // curl_slist_append returns the list's head, or nullptr leaving the list as it was.
    curl_slist* head = curl_api.slist_append(headers.get(), h);
    if (!head) return Status(Code::Internal, "curl_slist_append() failed");
    if (!headers) headers.reset(head);
  }
  Sink sink;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  bool set_ok = curl_api.easy_setopt(c, CURLOPT_CURLU, url.handle.get()) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_TIMEOUT_MS,
                                     static_cast<long>(options_.timeout_ms)) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                                     static_cast<long>(options_.connect_timeout_ms)) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str()) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                                     static_cast<curl_off_t>(body.size())) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_USERAGENT, "capsule-sdk") == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteBody) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_WRITEDATA, &sink) == CURLE_OK &&
                curl_api.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
  // An environment proxy would carry plain http off the machine; loopback never needs one.
  if (set_ok && url.loopback) set_ok = curl_api.easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
  if (!set_ok) return Status(Code::Internal, where + ": cannot configure the HTTP request");

  CURLcode rc = curl_api.easy_perform(c);
  if (sink.overflow) {
    return BadResponse(options_.url, method,
                       "answer larger than " + std::to_string(kMaxAnswer >> 20) + " MiB");
  }
  if (rc != CURLE_OK) {
    std::string msg = errbuf[0] ? errbuf : curl_api.easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      msg = "no answer within " + std::to_string(options_.timeout_ms) + " ms (" + msg + ")";
    }
    return Status(Code::ChainRpcUnreachable, where + ": " + msg);
  }
  long http = 0;
  curl_api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
  if (http < 200 || http > 299) {
    return Status(Code::ChainRpcUnreachable, where + ": HTTP status " + std::to_string(http));
  }

  Json answer = Json::parse(sink.body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) return BadResponse(options_.url, method, "the answer is not JSON");
  if (!answer.is_object()) {
    return BadResponse(options_.url, method, "the answer is not a JSON object");
  }
  if (auto v = answer.find("jsonrpc"); v != answer.end() && *v != "2.0") {
    return BadResponse(options_.url, method, "unexpected jsonrpc version " + Show(*v));
  }
  auto idv = answer.find("id");
  if (idv == answer.end() || !idv->is_number() || *idv != Json(id)) {
    return BadResponse(options_.url, method,
                       "answer id " + (idv == answer.end() ? std::string("(none)") : Show(*idv)) +
                           " does not match request id " + std::to_string(id));
  }
  auto result = answer.find("result");
  auto error = answer.find("error");
  if (result != answer.end() && error != answer.end()) {
    return BadResponse(options_.url, method, "the answer has both result and error");
  }
  if (error != answer.end()) {
    const Json& e = *error;
    auto code = e.is_object() ? e.find("code") : e.end();
    auto message = e.is_object() ? e.find("message") : e.end();
    if (!e.is_object() || code == e.end() || !code->is_number_integer() || message == e.end() ||
        !message->is_string()) {
      return BadResponse(options_.url, method, "malformed error member " + Show(e));
    }
    // The node's text goes to a terminal: escaped (no control sequences, one line).
    std::string detail = where + ": " + method + ": node error " +
                         std::to_string(code->get<int64_t>()) + ": " +
                         format::Printable(message->get<std::string>(), 160);
    // Reverted calls carry the revert data (an ABI-encoded reason or custom error).
    if (auto data = e.find("data"); data != e.end() && !data->is_null()) {
      detail += data->is_string()
                    ? " (revert data " + format::Printable(data->get<std::string>(), 300) + ")"
                    : " (data " + Show(*data) + ")";
      // The contract's custom errors by name (contracts/README: every refusal has one).
      if (data->is_string())
        if (auto name = ContractErrorOf(data->get<std::string>())) detail += ": " + *name;
    }
    return Status(Code::ChainRpcError, detail);
  }
  if (result == answer.end()) return BadResponse(options_.url, method, "the answer has no result");
  return std::move(*result);
}

Result<uint64_t> RpcClient::ChainId() const {
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call("eth_chainId", Json::array()));
  return ParseQuantityU64(r, options_.url, "eth_chainId");
}

Result<uint64_t> RpcClient::BlockNumber() const {
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call("eth_blockNumber", Json::array()));
  return ParseQuantityU64(r, options_.url, "eth_blockNumber");
}

Result<uint64_t> RpcClient::BlockTimestamp(uint64_t number) const {
  const std::string method = "eth_getBlockByNumber";
  CAPSULE_ASSIGN_OR_RETURN(Json r,
                           Call(method, Json::array({U256::FromU64(number).ToQuantity(), false})));
  if (!r.is_object() || !r.contains("timestamp")) {
    return BadResponse(options_.url, method,
                       "block " + std::to_string(number) + " is not a block object: " + Show(r));
  }
  return ParseQuantityU64(r["timestamp"], options_.url, method);
}

Result<format::Bytes> RpcClient::GetCode(const Address& a, const std::string& block) const {
  CAPSULE_RETURN_IF_ERROR(CheckBlock(block));
  CAPSULE_ASSIGN_OR_RETURN(Json r,
                           Call("eth_getCode", Json::array({format::EvmAddressLower(a), block})));
  return ParseData(r, options_.url, "eth_getCode");
}

Result<format::Bytes> RpcClient::EthCall(const Address& to, format::ByteView data,
                                         const std::string& block) const {
  CAPSULE_RETURN_IF_ERROR(CheckBlock(block));
  Json call = {{"to", format::EvmAddressLower(to)}, {"data", DataHex(data)}};
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call("eth_call", Json::array({call, block})));
  return ParseData(r, options_.url, "eth_call");
}

Result<uint64_t> RpcClient::TransactionCount(const Address& a, const std::string& block) const {
  CAPSULE_RETURN_IF_ERROR(CheckBlock(block));
  CAPSULE_ASSIGN_OR_RETURN(
      Json r, Call("eth_getTransactionCount", Json::array({format::EvmAddressLower(a), block})));
  return ParseQuantityU64(r, options_.url, "eth_getTransactionCount");
}

Result<U256> RpcClient::GasPrice() const {
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call("eth_gasPrice", Json::array()));
  return ParseQuantity(r, options_.url, "eth_gasPrice");
}

Result<U256> RpcClient::MaxPriorityFeePerGas() const {
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call("eth_maxPriorityFeePerGas", Json::array()));
  return ParseQuantity(r, options_.url, "eth_maxPriorityFeePerGas");
}

Result<U256> RpcClient::BaseFee() const {
  const std::string method = "eth_getBlockByNumber";
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call(method, Json::array({"latest", false})));
  // A chain without EIP-1559 has no baseFeePerGas: we cannot price a type-2 transaction there.
  if (!r.is_object() || !r.contains("baseFeePerGas")) {
    return BadResponse(options_.url, method, "latest block has no baseFeePerGas: " + Show(r));
  }
  return ParseQuantity(r["baseFeePerGas"], options_.url, method);
}

Result<uint64_t> RpcClient::EstimateGas(const Address& from, const Address& to,
                                        format::ByteView data) const {
  Json call = {{"from", format::EvmAddressLower(from)},
               {"to", format::EvmAddressLower(to)},
               {"data", DataHex(data)}};
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call("eth_estimateGas", Json::array({call})));
  return ParseQuantityU64(r, options_.url, "eth_estimateGas");
}

Result<Hash32> RpcClient::SendRawTransaction(format::ByteView raw) const {
  const std::string method = "eth_sendRawTransaction";
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call(method, Json::array({DataHex(raw)})));
  CAPSULE_ASSIGN_OR_RETURN(format::Bytes h, ParseData(r, options_.url, method));
  if (h.size() != 32) return BadResponse(options_.url, method, "not a 32-byte hash: " + Show(r));
  Hash32 out;
  std::copy(h.begin(), h.end(), out.begin());
  return out;
}

Result<std::optional<Json>> RpcClient::TransactionReceipt(const Hash32& tx_hash) const {
  const std::string method = "eth_getTransactionReceipt";
  CAPSULE_ASSIGN_OR_RETURN(Json r, Call(method, Json::array({DataHex(tx_hash)})));
  if (r.is_null()) return std::optional<Json>();
  if (!r.is_object()) return BadResponse(options_.url, method, "not a receipt: " + Show(r));
  return std::optional<Json>(std::move(r));
}

Status internal::ProbeLibcurl(const std::string& soname) { return LoadCurlApi(soname).status(); }

std::optional<std::string> ParseEvmLedgerSpec(std::string_view spec) {
  constexpr std::string_view kPrefix = "evm:";
  if (spec.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  return std::string(spec.substr(kPrefix.size()));
}

}  // namespace capsule::chain

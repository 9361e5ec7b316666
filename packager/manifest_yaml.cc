// manifest.yaml → the authored part of the embedded manifest (docs/spec/manifest.md).
//
// Two passes, so that every error can name PATH:LINE:COLUMN:
//  1. yaml-cpp's event API (not its Node API, which silently keeps one of two duplicate keys)
//     feeds TreeBuilder, which builds a small tree of maps, lists and scalars with positions and
//     refuses duplicate keys, anchors, aliases, tags and a second document on the spot.
//  2. Checker walks that tree against the manifest grammar, converts values exactly
//     (manifest_values.h) and builds the JSON object. Unknown keys are errors everywhere.
//
// Invariants: the JSON holds only strings, booleans, objects, arrays and integers ≤ 2^53 - 1;
// every string in it is valid UTF-8 (the whole input is checked up front) so canonical
// serialization cannot fail; no exception leaves this file (yaml-cpp throws; we catch).
// Positions are 1-based; columns count Unicode code points, as editors do (yaml-cpp counts
// bytes, so we convert).
#include "packager/manifest_yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <span>
#include <sstream>
#include <string_view>
#include <vector>

#include "format/time.h"
#include "packager/manifest_values.h"

namespace capsule::packager {
namespace {

using format::DurationUnit;
using manifest::kMaxJsonInteger;
using manifest::kPpmWhole;

// A manifest is a few kilobytes; the cap keeps a hostile or mistaken input cheap to refuse.
constexpr size_t kMaxManifestBytes = size_t{1} << 20;
// The grammar nests four levels deep; anything much deeper is not a manifest.
constexpr size_t kMaxDepth = 16;
constexpr size_t kMaxNameChars = 200;
constexpr size_t kMaxTitleChars = 200;
constexpr size_t kMaxDescriptionChars = 10'000;

// A fixed list of allowed names (keys, roles, model types).
using KeySet = std::span<const std::string_view>;

struct Pos {
  int line = 1;
  int column = 1;
};

struct Node {
  enum class Kind { kNull, kScalar, kMap, kSeq };
  struct Entry {
    std::string key;
    Pos key_pos;
    size_t value;  // index into the node arena
  };
  Kind kind = Kind::kNull;
  Pos pos;
  std::string text;    // scalars
  bool plain = false;  // unquoted scalar: YAML would type it (number, bool…); we keep its text
  std::vector<Entry> entries;  // maps, in document order
  std::vector<size_t> items;   // lists
};

std::string Where(const std::string& path, Pos pos) {
  return path + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": ";
}

std::string Tick(std::string_view s) { return "`" + std::string(s) + "`"; }

std::string Join(KeySet names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Levenshtein distance, for "did you mean" hints on short key names.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string DidYouMean(std::string_view got, KeySet names) {
  std::string_view best;
  size_t best_d = 3;
  for (std::string_view n : names) {
    size_t d = EditDistance(got, n);
    if (d < best_d && d < n.size()) {
      best_d = d;
      best = n;
    }
  }
  return best.empty() ? "" : " (did you mean " + Tick(best) + "?)";
}

// Maps yaml-cpp marks (0-based line, byte column) to 1-based line and code-point column.
class SourceMap {
 public:
  explicit SourceMap(std::string_view text) : text_(text) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') line_starts_.push_back(i + 1);
  }

  // Byte offset of a mark, or npos when the mark is outside the text.
  size_t Offset(const YAML::Mark& m) const {
    if (m.is_null() || m.line < 0 || m.column < 0) return std::string_view::npos;
    auto line = static_cast<size_t>(m.line);
    if (line >= line_starts_.size()) return std::string_view::npos;
    size_t off = line_starts_[line] + static_cast<size_t>(m.column);
    return off <= text_.size() ? off : std::string_view::npos;
  }

  Pos ToPos(const YAML::Mark& m) const {
    if (m.is_null() || m.line < 0 || m.column < 0) return Pos{};
    size_t off = Offset(m);
    if (off == std::string_view::npos) return Pos{m.line + 1, m.column + 1};
    return PosOfOffset(off);
  }

  Pos PosOfOffset(size_t off) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), off);
    size_t line = static_cast<size_t>(it - line_starts_.begin()) - 1;
    size_t start = line_starts_[line];
    size_t column = manifest::CountCodePoints(text_.substr(start, off - start)) + 1;
    return Pos{static_cast<int>(line + 1), static_cast<int>(column)};
  }

 private:
  std::string_view text_;
  std::vector<size_t> line_starts_;
};

// When yaml-cpp reports a syntax error, the cause is often a quote left open lines earlier (YAML
// lets quoted strings span lines, so the string runs on to the next quote). This finds the first
// quoted scalar before `limit` that spans a line break. Heuristic: a quote opens a scalar only
// where a value can start (after indentation, `: `, `- `, `[`, `{` or `,`), so apostrophes in
// plain text are not mistaken for quotes.
std::optional<size_t> SpanningQuoteBefore(std::string_view text, size_t limit) {
  size_t i = 0;
  bool value_can_start = true;  // at line start
  while (i < text.size() && i < limit) {
    char c = text[i];
    if (c == '\n') {
      value_can_start = true;
      ++i;
      continue;
    }
    if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n')) {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if ((c == '"' || c == '\'') && value_can_start) {
      size_t open = i;
      bool spans = false;
      for (++i; i < text.size(); ++i) {
        if (text[i] == '\n') spans = true;
        if (c == '"' && text[i] == '\\') {
          ++i;
        } else if (text[i] == c) {
          if (c == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
            ++i;
            continue;
          }
          break;
        }
      }
      if (spans) return open;
      ++i;
      value_can_start = false;
      continue;
    }
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    value_can_start = c == ':' || c == '-' || c == '[' || c == '{' || c == ',' || c == '?';
    ++i;
  }
  return std::nullopt;
}

// Thrown from TreeBuilder's callbacks to stop yaml-cpp at the first error; never escapes
// ParseTree.
struct ParseAbort {};

class TreeBuilder final : public YAML::EventHandler {
 public:
  TreeBuilder(std::string_view text, const SourceMap& src, const std::string& path)
      : text_(text), src_(src), path_(path) {}

  std::vector<Node> nodes;
  std::optional<size_t> root;
  Status error;  // set before ParseAbort is thrown

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) {
      Fail(Code::YamlSyntax, src_.ToPos(mark),
           "a second YAML document starts here; expected exactly one document (remove the "
           "`---` line and what follows, or merge the two)");
    }
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    CheckAnchor(mark, anchor);
    Node n;
    n.kind = Node::Kind::kNull;
    n.pos = src_.ToPos(mark);
    Add(std::move(n));
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Fail(Code::YamlSyntax, src_.ToPos(mark),
         "aliases (`*name`) are not supported; expected the value written out in full");
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    CheckQuoteClosed(mark);
    Node n;
    n.kind = Node::Kind::kScalar;
    n.pos = src_.ToPos(mark);
    n.text = value;
    n.plain = tag == "?";
    Add(std::move(n));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, Node::Kind::kSeq);
  }
  void OnSequenceEnd() override { frames_.pop_back(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, Node::Kind::kMap);
  }
  void OnMapEnd() override { frames_.pop_back(); }

 private:
  struct Frame {
    size_t node;
    bool have_key = false;  // maps: a key was read, its value comes next
    std::string key;
    Pos key_pos;
    std::map<std::string, Pos, std::less<>> seen;
  };

  [[noreturn]] void Fail(Code code, Pos pos, const std::string& message) {
    error = Status(code, Where(path_, pos) + message);
    throw ParseAbort{};
  }

  void CheckAnchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      Fail(Code::YamlSyntax, src_.ToPos(mark),
           "anchors (`&name`) are not supported; expected plain values without `&` and `*`");
    }
  }

  void CheckTag(const YAML::Mark& mark, const std::string& tag) {
    // "?" = no tag (plain), "!" = quoted or the non-specific tag: both mean "as written".
    if (tag != "?" && tag != "!" && !tag.empty()) {
      Fail(Code::YamlSyntax, src_.ToPos(mark),
           "tags (`" + tag +
               "`) are not supported; expected an untagged value (quote it to "
               "make it a string)");
    }
  }

  // yaml-cpp 0.7 accepts a quoted scalar that is never closed and swallows the rest of the file
  // into it; refuse that here.
  void CheckQuoteClosed(const YAML::Mark& mark) {
    size_t i = src_.Offset(mark);
    if (i == std::string_view::npos || i >= text_.size()) return;
    const char quote = text_[i];
    if (quote != '"' && quote != '\'') return;
    for (++i; i < text_.size(); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;  // '' is an escaped single quote
          continue;
        }
        return;
      }
    }
    Fail(Code::YamlSyntax, src_.ToPos(mark),
         std::string("this quoted string is never closed; expected a closing ") + quote);
  }

  void Open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
            Node::Kind kind) {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    if (frames_.size() >= kMaxDepth) {
      Fail(Code::YamlSyntax, src_.ToPos(mark),
           "nested too deeply; expected the manifest's structure (at most " +
               std::to_string(kMaxDepth) + " levels)");
    }
    Node n;
    n.kind = kind;
    n.pos = src_.ToPos(mark);
    size_t index = Add(std::move(n));
    frames_.push_back(Frame{index, false, {}, {}, {}});
  }

  size_t Add(Node n) {
    if (frames_.empty()) {
      nodes.push_back(std::move(n));
      root = nodes.size() - 1;
      return *root;
    }
    Frame& f = frames_.back();
    Node& parent = nodes[f.node];
    if (parent.kind == Node::Kind::kSeq) {
      nodes.push_back(std::move(n));
      nodes[f.node].items.push_back(nodes.size() - 1);
      return nodes.size() - 1;
    }
    if (!f.have_key) {
      if (n.kind != Node::Kind::kScalar) {
        Fail(Code::YamlType, n.pos,
             "a key here is a map, a list or empty; expected a plain name followed by `:`");
      }
      auto it = f.seen.find(n.text);
      if (it != f.seen.end()) {
        Fail(Code::YamlDuplicateKey, n.pos,
             "duplicate key " + Tick(n.text) + " (first at line " +
                 std::to_string(it->second.line) + ", column " + std::to_string(it->second.column) +
                 "); expected each key once in a map");
      }
      f.seen.emplace(n.text, n.pos);
      f.have_key = true;
      f.key = std::move(n.text);
      f.key_pos = n.pos;
      return SIZE_MAX;  // keys are not nodes
    }
    // An empty value's mark points at the next token, often on another line: report it at its
    // key instead.
    if (n.kind == Node::Kind::kNull) n.pos = f.key_pos;
    nodes.push_back(std::move(n));
    size_t index = nodes.size() - 1;
    nodes[f.node].entries.push_back(Node::Entry{std::move(f.key), f.key_pos, index});
    f.have_key = false;
    return index;
  }

  std::string_view text_;
  const SourceMap& src_;
  const std::string& path_;
  std::vector<Frame> frames_;
  int documents_ = 0;
};

// ---- pass 2: the manifest grammar ----

constexpr std::string_view kTopKeys[] = {"title",  "description", "creator", "royalties",
                                         "models", "preview",     "chain"};
constexpr std::string_view kCreatorKeys[] = {"name", "address", "signing_key"};
constexpr std::string_view kRoyaltyKeys[] = {"splits", "resale_royalty"};
constexpr std::string_view kSplitKeys[] = {"role", "name", "address", "share"};
constexpr std::string_view kRoles[] = {"creator", "publisher", "distributor", "investor", "other"};
constexpr std::string_view kModelTypes[] = {"buy",          "resale", "pay_per_view", "rental",
                                            "subscription", "free",   "free_with_ads"};
constexpr std::string_view kBuyKeys[] = {"type", "price", "currency", "decimals", "supply"};
constexpr std::string_view kResaleKeys[] = {"type", "reseller_cut", "price", "currency",
                                            "decimals"};
constexpr std::string_view kPayPerViewKeys[] = {"type", "price", "currency", "decimals", "plays"};
constexpr std::string_view kRentalKeys[] = {"type",     "price",    "currency",
                                            "decimals", "duration", "from_first_play"};
constexpr std::string_view kSubscriptionKeys[] = {"type", "price", "currency", "decimals",
                                                  "period"};
constexpr std::string_view kFreeKeys[] = {"type"};
constexpr std::string_view kFreeWithAdsKeys[] = {"type", "ad_capsule"};
constexpr std::string_view kPreviewKeys[] = {"lines", "characters"};
constexpr std::string_view kChainKeys[] = {"chain_id", "contract", "token_id"};

bool Contains(KeySet list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

class Checker {
 public:
  Checker(const std::vector<Node>& nodes, const std::string& path) : nodes_(nodes), path_(path) {}

  Result<AuthoredManifest> Run(const Node& root) {
    if (root.kind == Node::Kind::kNull) {
      return Err(Code::YamlType, root.pos, "",
                 "the manifest is empty; expected a map with at least title, creator, "
                 "royalties and models");
    }
    if (root.kind != Node::Kind::kMap) {
      return Err(Code::YamlType, root.pos, "",
                 "the manifest is " + Describe(root) +
                     "; expected a map with keys such as title, creator, royalties and models");
    }
    CAPSULE_RETURN_IF_ERROR(CheckKeys(root, "", kTopKeys));
    for (const Node::Entry& e : root.entries) {
      const Node& v = nodes_[e.value];
      if (e.key == "title") {
        CAPSULE_ASSIGN_OR_RETURN(std::string title,
                                 Text(v, "title", kMaxTitleChars, /*multiline=*/false));
        out_.json["title"] = title;
      } else if (e.key == "description") {
        CAPSULE_ASSIGN_OR_RETURN(std::string d, Text(v, "description", kMaxDescriptionChars,
                                                     /*multiline=*/true));
        out_.json["description"] = d;
      } else if (e.key == "creator") {
        CAPSULE_RETURN_IF_ERROR(Creator(v, e.key_pos));
      } else if (e.key == "royalties") {
        CAPSULE_RETURN_IF_ERROR(Royalties(v, e.key_pos));
      } else if (e.key == "models") {
        CAPSULE_RETURN_IF_ERROR(Models(v, e.key_pos));
      } else if (e.key == "preview") {
        CAPSULE_RETURN_IF_ERROR(PreviewField(v));
      } else if (e.key == "chain") {
        CAPSULE_RETURN_IF_ERROR(Chain(v, e.key_pos));
      }
    }
    if (!Find(root, "title")) {
      return Err(Code::YamlMissingKey, root.pos, "",
                 "missing key `title`; expected the work's title (1–200 characters)");
    }
    if (!Find(root, "creator")) {
      return Err(Code::YamlMissingKey, root.pos, "",
                 "missing key `creator`; expected a map with the creator's name and EVM address");
    }
    if (!Find(root, "royalties")) {
      return Err(Code::YamlMissingKey, root.pos, "",
                 "missing key `royalties`; expected `splits:` with at least one recipient (for "
                 "a sole owner: role creator, the creator's address, share 100%)");
    }
    if (!Find(root, "models")) {
      return Err(Code::NoBusinessModel, root.pos, "",
                 "missing key `models`; expected a list of business models (buy, resale, "
                 "pay_per_view, rental, subscription, free or free_with_ads)");
    }
    return std::move(out_);
  }

 private:
  Status Err(Code code, Pos pos, const std::string& field, const std::string& message) const {
    return Status(code, Where(path_, pos) + (field.empty() ? "" : field + ": ") + message);
  }
  // A value error from manifest_values.h, positioned.
  Status At(const Status& s, Pos pos, const std::string& field) const {
    return Err(s.code(), pos, field, s.detail());
  }

  static std::string Describe(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kNull:
        return "empty";
      case Node::Kind::kMap:
        return "a map";
      case Node::Kind::kSeq:
        return "a list";
      case Node::Kind::kScalar:
        break;
    }
    std::string t = n.text.size() > 40 ? n.text.substr(0, 40) + "…" : n.text;
    return n.plain ? Tick(t) : "the string \"" + t + "\"";
  }

  static std::string Sub(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
  }

  static const Node::Entry* Find(const Node& map, std::string_view key) {
    for (const Node::Entry& e : map.entries)
      if (e.key == key) return &e;
    return nullptr;
  }

  Status CheckKeys(const Node& map, const std::string& field, KeySet allowed,
                   const std::string& where_override = "") const {
    for (const Node::Entry& e : map.entries) {
      if (!Contains(allowed, e.key)) {
        std::string where = !where_override.empty() ? where_override
                            : field.empty()         ? "at the top level"
                                                    : "in " + Tick(field);
        return Err(Code::YamlUnknownKey, e.key_pos, "",
                   "unknown key " + Tick(e.key) + " " + where + DidYouMean(e.key, allowed) +
                       "; expected one of: " + Join(allowed));
      }
    }
    return Status::Ok();
  }

  Status ExpectKind(const Node& n, Node::Kind kind, const std::string& field,
                    const std::string& what) const {
    if (n.kind == kind) return Status::Ok();
    return Err(Code::YamlType, n.pos, field, "is " + Describe(n) + "; expected " + what);
  }

  Status Missing(Pos pos, const std::string& field, std::string_view key,
                 const std::string& what) const {
    return Err(Code::YamlMissingKey, pos, field, "missing key " + Tick(key) + "; expected " + what);
  }

  // Any scalar, as written (plain scalars keep their text: `title: 1984` is the string "1984").
  Result<std::string> Text(const Node& n, const std::string& field, size_t max_chars,
                           bool multiline) const {
    const std::string what = multiline ? "text" : "a single line of text";
    if (n.kind != Node::Kind::kScalar) {
      return Err(Code::YamlType, n.pos, field, "is " + Describe(n) + "; expected " + what);
    }
    size_t chars = manifest::CountCodePoints(n.text);
    bool blank = std::all_of(n.text.begin(), n.text.end(),
                             [](char c) { return c == ' ' || c == '\t' || c == '\n'; });
    if (blank) {
      return Err(
          Code::YamlType, n.pos, field,
          "is blank; expected " + what + " (1–" + std::to_string(max_chars) + " characters)");
    }
    if (chars > max_chars) {
      return Err(Code::YamlType, n.pos, field,
                 "is " + std::to_string(chars) + " characters long; expected at most " +
                     std::to_string(max_chars));
    }
    for (char c : n.text) {
      auto u = static_cast<unsigned char>(c);
      bool allowed_ws = multiline && (c == '\n' || c == '\t');
      if ((u < 0x20 || u == 0x7F) && !allowed_ws) {
        return Err(Code::YamlType, n.pos, field,
                   "contains a control character; expected " + what +
                       (multiline ? " (line breaks and tabs are the only control characters "
                                    "allowed)"
                                  : " (no line breaks, tabs or other control characters)"));
      }
    }
    return n.text;
  }

  // An unquoted decimal integer in [min, max]. Quoted numbers are refused so that the YAML and
  // its JSON Schema agree on types.
  Result<uint64_t> Integer(const Node& n, const std::string& field, uint64_t min, uint64_t max,
                           Code range_code = Code::YamlType) const {
    const std::string what =
        "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (n.kind != Node::Kind::kScalar) {
      return Err(Code::YamlType, n.pos, field, "is " + Describe(n) + "; expected " + what);
    }
    if (!n.plain) {
      return Err(Code::YamlType, n.pos, field,
                 "is a quoted string; expected " + what + " without quotes");
    }
    const std::string& t = n.text;
    bool digits =
        !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
    bool negative = t.size() > 1 && t[0] == '-' && std::all_of(t.begin() + 1, t.end(), [](char c) {
                      return c >= '0' && c <= '9';
                    });
    if (negative) {
      return Err(range_code, n.pos, field, Tick(t) + " is negative; expected " + what);
    }
    if (!digits) {
      return Err(Code::YamlType, n.pos, field,
                 "is " + Describe(n) + "; expected " + what + " in decimal digits");
    }
    if (t.size() > 1 && t[0] == '0') {
      return Err(Code::YamlType, n.pos, field,
                 Tick(t) + " has a leading zero (octal in YAML 1.1); expected " + what +
                     " without leading zeros");
    }
    uint64_t v = 0;
    for (char c : t) {
      auto d = static_cast<uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) {
        v = UINT64_MAX;
        break;
      }
      v = v * 10 + d;
    }
    if (v < min || v > max) {
      return Err(range_code, n.pos, field, Tick(t) + " is out of range; expected " + what);
    }
    return v;
  }

  Result<bool> Bool(const Node& n, const std::string& field) const {
    if (n.kind == Node::Kind::kScalar && n.plain) {
      const std::string& t = n.text;
      if (t == "true" || t == "True" || t == "TRUE") return true;
      if (t == "false" || t == "False" || t == "FALSE") return false;
    }
    return Err(Code::YamlType, n.pos, field,
               "is " + Describe(n) + "; expected true or false (unquoted)");
  }

  Result<std::string> Address(const Node& n, const std::string& field) const {
    if (n.kind != Node::Kind::kScalar) {
      return Err(Code::YamlType, n.pos, field,
                 "is " + Describe(n) + "; expected an EVM address (0x + 40 hex digits)");
    }
    Result<std::string> a = manifest::ParseAddress(n.text);
    if (!a.ok()) return At(a.status(), n.pos, field);
    return std::move(a).value();
  }

  Result<uint32_t> Share(const Node& n, const std::string& field) const {
    if (n.kind != Node::Kind::kScalar) {
      return Err(Code::YamlType, n.pos, field,
                 "is " + Describe(n) + "; expected a share such as `12.5%` or `1250 bps`");
    }
    Result<uint32_t> s = manifest::ParseShare(n.text);
    if (!s.ok()) return At(s.status(), n.pos, field);
    return *s;
  }

  Result<uint64_t> Duration(const Node& n, const std::string& field, DurationUnit unit) const {
    if (n.kind != Node::Kind::kScalar) {
      return Err(Code::YamlType, n.pos, field,
                 "is " + Describe(n) + "; expected a duration such as `30s`, `48h` or `30d`");
    }
    Result<uint64_t> d = format::ParseDuration(n.text, unit);
    if (!d.ok()) return At(d.status(), n.pos, field);
    return *d;
  }

  Status Creator(const Node& n, Pos key_pos) {
    const std::string field = "creator";
    CAPSULE_RETURN_IF_ERROR(
        ExpectKind(n, Node::Kind::kMap, field, "a map with name, address and signing_key"));
    CAPSULE_RETURN_IF_ERROR(CheckKeys(n, field, kCreatorKeys));
    nlohmann::json creator = nlohmann::json::object();
    for (const Node::Entry& e : n.entries) {
      const Node& v = nodes_[e.value];
      const std::string f = Sub(field, e.key);
      if (e.key == "name") {
        CAPSULE_ASSIGN_OR_RETURN(creator["name"], Text(v, f, kMaxNameChars, false));
      } else if (e.key == "address") {
        CAPSULE_ASSIGN_OR_RETURN(creator["address"], Address(v, f));
      } else if (e.key == "signing_key") {
        std::string hex;
        if (v.kind == Node::Kind::kScalar) {
          std::string_view t = v.text;
          if (t.substr(0, 8) == "ed25519:") t.remove_prefix(8);
          hex = manifest::NormalizeHex(t, 64);
        }
        if (hex.empty()) {
          return Err(Code::YamlType, v.pos, f,
                     "is " + Describe(v) +
                         "; expected an Ed25519 public key: `ed25519:` followed by 64 hex "
                         "digits (or the 64 hex digits alone)");
        }
        creator["ed25519"] = hex;
        out_.has_signing_key = true;
      }
    }
    if (!Find(n, "name")) return Missing(key_pos, field, "name", "the creator's name");
    if (!Find(n, "address")) {
      return Missing(key_pos, field, "address", "the creator's EVM address (0x + 40 hex digits)");
    }
    out_.json["creator"] = std::move(creator);
    return Status::Ok();
  }

  Status Royalties(const Node& n, Pos key_pos) {
    const std::string field = "royalties";
    CAPSULE_RETURN_IF_ERROR(
        ExpectKind(n, Node::Kind::kMap, field, "a map with `splits` (and `resale_royalty`)"));
    CAPSULE_RETURN_IF_ERROR(CheckKeys(n, field, kRoyaltyKeys));
    nlohmann::json royalties = nlohmann::json::object();
    royalties["resale_royalty_ppm"] = 0;
    for (const Node::Entry& e : n.entries) {
      const Node& v = nodes_[e.value];
      if (e.key == "splits") {
        CAPSULE_ASSIGN_OR_RETURN(royalties["splits"], Splits(v, e.key_pos));
      } else if (e.key == "resale_royalty") {
        CAPSULE_ASSIGN_OR_RETURN(uint32_t ppm, Share(v, "royalties.resale_royalty"));
        royalties["resale_royalty_ppm"] = ppm;
      }
    }
    if (!Find(n, "splits")) {
      return Missing(key_pos, field, "splits",
                     "a list of recipients (role, address, share) whose shares sum to 100%");
    }
    out_.json["royalties"] = std::move(royalties);
    return Status::Ok();
  }

  Result<nlohmann::json> Splits(const Node& n, Pos key_pos) {
    const std::string field = "royalties.splits";
    CAPSULE_RETURN_IF_ERROR(ExpectKind(n, Node::Kind::kSeq, field,
                                       "a list of recipients, each with role, address and share"));
    if (n.items.empty()) {
      return Err(Code::BadSplitSum, key_pos, field,
                 "the list is empty; expected at least one recipient, with shares summing to "
                 "exactly 100%");
    }
    nlohmann::json splits = nlohmann::json::array();
    std::map<std::string, std::pair<Pos, std::string>> seen;  // address → where, which split
    uint64_t sum = 0;
    for (size_t i = 0; i < n.items.size(); ++i) {
      const Node& item = nodes_[n.items[i]];
      const std::string f = field + "[" + std::to_string(i) + "]";
      CAPSULE_RETURN_IF_ERROR(
          ExpectKind(item, Node::Kind::kMap, f, "a map with role, address and share"));
      CAPSULE_RETURN_IF_ERROR(CheckKeys(item, f, kSplitKeys));
      nlohmann::json split = nlohmann::json::object();
      for (const Node::Entry& e : item.entries) {
        const Node& v = nodes_[e.value];
        const std::string ff = Sub(f, e.key);
        if (e.key == "role") {
          if (v.kind != Node::Kind::kScalar || !Contains(kRoles, v.text)) {
            return Err(Code::YamlType, v.pos, ff,
                       "is " + Describe(v) +
                           (v.kind == Node::Kind::kScalar ? DidYouMean(v.text, kRoles) : "") +
                           "; expected one of: " + Join(kRoles));
          }
          split["role"] = v.text;
        } else if (e.key == "name") {
          CAPSULE_ASSIGN_OR_RETURN(split["name"], Text(v, ff, kMaxNameChars, false));
        } else if (e.key == "address") {
          CAPSULE_ASSIGN_OR_RETURN(std::string address, Address(v, ff));
          auto [it, inserted] = seen.emplace(address, std::make_pair(v.pos, f));
          if (!inserted) {
            return Err(Code::DuplicateRecipient, v.pos, ff,
                       Tick(v.text) + " is already the recipient of " + it->second.second +
                           " (line " + std::to_string(it->second.first.line) + ", column " +
                           std::to_string(it->second.first.column) +
                           "); expected each address once (add the shares together)");
          }
          split["address"] = address;
        } else if (e.key == "share") {
          CAPSULE_ASSIGN_OR_RETURN(uint32_t ppm, Share(v, ff));
          if (ppm == 0) {
            return Err(Code::BadShare, v.pos, ff,
                       Tick(v.text) + " is zero; expected a share above 0 (or remove the split)");
          }
          split["share_ppm"] = ppm;
          sum += ppm;
        }
      }
      if (!Find(item, "role")) {
        return Missing(item.pos, f, "role", "one of: " + Join(kRoles));
      }
      if (!Find(item, "address")) {
        return Missing(item.pos, f, "address", "the recipient's EVM address");
      }
      if (!Find(item, "share")) {
        return Missing(item.pos, f, "share", "the recipient's share, e.g. `12.5%` or `1250 bps`");
      }
      splits.push_back(std::move(split));
    }
    if (sum != kPpmWhole) {
      std::string diff = sum < kPpmWhole
                             ? manifest::FormatPpmAsPercent(kPpmWhole - sum) + " missing"
                             : manifest::FormatPpmAsPercent(sum - kPpmWhole) + " too much";
      return Err(Code::BadSplitSum, key_pos, field,
                 "shares sum to " + manifest::FormatPpmAsPercent(sum) + " (" + diff +
                     "); expected exactly 100%");
    }
    return splits;
  }

  struct ModelSeen {
    std::string type;
    Pos pos;
  };

  Status Models(const Node& n, Pos key_pos) {
    const std::string field = "models";
    CAPSULE_RETURN_IF_ERROR(ExpectKind(n, Node::Kind::kSeq, field,
                                       "a list of business models, each a map with `type:`"));
    if (n.items.empty()) {
      return Err(Code::NoBusinessModel, key_pos, field,
                 "the list is empty; expected at least one business model (buy, resale, "
                 "pay_per_view, rental, subscription, free or free_with_ads)");
    }
    nlohmann::json models = nlohmann::json::array();
    std::vector<ModelSeen> seen;
    std::optional<ModelSeen> first_free, first_paid;
    for (size_t i = 0; i < n.items.size(); ++i) {
      const Node& item = nodes_[n.items[i]];
      const std::string f = field + "[" + std::to_string(i) + "]";
      CAPSULE_RETURN_IF_ERROR(ExpectKind(item, Node::Kind::kMap, f, "a map with `type:`"));
      const Node::Entry* type_entry = Find(item, "type");
      if (!type_entry) {
        return Missing(item.pos, f, "type", "one of: " + Join(kModelTypes));
      }
      const Node& tv = nodes_[type_entry->value];
      if (tv.kind != Node::Kind::kScalar || !Contains(kModelTypes, tv.text)) {
        return Err(Code::YamlType, tv.pos, Sub(f, "type"),
                   "is " + Describe(tv) +
                       (tv.kind == Node::Kind::kScalar ? DidYouMean(tv.text, kModelTypes) : "") +
                       "; expected one of: " + Join(kModelTypes));
      }
      const std::string& type = tv.text;
      for (const ModelSeen& s : seen) {
        if (s.type == type) {
          return Err(Code::YamlDuplicateKey, tv.pos, Sub(f, "type"),
                     "model " + Tick(type) + " is already offered (line " +
                         std::to_string(s.pos.line) + ", column " + std::to_string(s.pos.column) +
                         "); expected each model type once");
        }
      }
      seen.push_back(ModelSeen{type, tv.pos});
      const bool is_free = type == "free" || type == "free_with_ads";
      if (is_free && first_paid) {
        return MixedError(tv.pos, f, type, *first_paid);
      }
      if (!is_free && first_free) {
        return MixedError(tv.pos, f, type, *first_free);
      }
      if (is_free && first_free) {
        return Err(Code::MixedFreeAndPaid, tv.pos, Sub(f, "type"),
                   Tick(type) + " and " + Tick(first_free->type) + " (line " +
                       std::to_string(first_free->pos.line) + ", column " +
                       std::to_string(first_free->pos.column) +
                       ") are both offered; expected either free or free_with_ads, not both");
      }
      std::optional<ModelSeen>& first = is_free ? first_free : first_paid;
      if (!first) first = ModelSeen{type, tv.pos};
      CAPSULE_ASSIGN_OR_RETURN(nlohmann::json model, Model(item, f, type));
      models.push_back(std::move(model));
    }
    // Resale is the resale of a token bought through `buy`; without `buy` there is nothing to
    // resell.
    auto offered = [&](std::string_view t) {
      return std::any_of(seen.begin(), seen.end(), [&](const ModelSeen& s) { return s.type == t; });
    };
    if (offered("resale") && !offered("buy")) {
      const ModelSeen& r = *std::find_if(seen.begin(), seen.end(),
                                         [](const ModelSeen& s) { return s.type == "resale"; });
      return Err(Code::NoBusinessModel, r.pos, field,
                 "`resale` is offered without `buy`; expected a `buy` model too (resale lets "
                 "holders resell tokens first sold through `buy`, so it cannot be the only way "
                 "to get one)");
    }
    out_.free = first_free.has_value();
    out_.json["models"] = std::move(models);
    return Status::Ok();
  }

  Status MixedError(Pos pos, const std::string& f, const std::string& type,
                    const ModelSeen& other) const {
    return Err(Code::MixedFreeAndPaid, pos, Sub(f, "type"),
               Tick(type) + " cannot be combined with " + Tick(other.type) + " (line " +
                   std::to_string(other.pos.line) + ", column " + std::to_string(other.pos.column) +
                   "); expected either free models (free, free_with_ads: the content key is "
                   "published) or paid ones, not both — make two capsules");
  }

  Result<nlohmann::json> Model(const Node& item, const std::string& f, const std::string& type) {
    KeySet keys = kFreeKeys;
    if (type == "buy") keys = kBuyKeys;
    if (type == "resale") keys = kResaleKeys;
    if (type == "pay_per_view") keys = kPayPerViewKeys;
    if (type == "rental") keys = kRentalKeys;
    if (type == "subscription") keys = kSubscriptionKeys;
    if (type == "free_with_ads") keys = kFreeWithAdsKeys;
    CAPSULE_RETURN_IF_ERROR(CheckKeys(item, f, keys, "in a `" + type + "` model"));

    nlohmann::json model = nlohmann::json::object();
    model["type"] = type;
    auto get = [&](std::string_view key) -> const Node* {
      const Node::Entry* e = Find(item, key);
      return e ? &nodes_[e->value] : nullptr;
    };
    const bool priced = type != "free" && type != "free_with_ads";
    if (priced) {
      const bool price_optional = type == "resale";
      if (!get("price")) {
        if (!price_optional) {
          return Missing(item.pos, f, "price",
                         "a decimal price written as a string, e.g. price: \"9.99\"");
        }
        if (get("currency") || get("decimals")) {
          return Missing(item.pos, f, "price",
                         "price together with currency and decimals (or none of the three)");
        }
      } else {
        CAPSULE_ASSIGN_OR_RETURN(model["price"], PriceObject(item, f));
      }
    }
    if (type == "buy") {
      if (const Node* s = get("supply")) {
        CAPSULE_ASSIGN_OR_RETURN(model["supply"],
                                 Integer(*s, Sub(f, "supply"), 1, kMaxJsonInteger));
      }
    } else if (type == "resale") {
      const Node* cut = get("reseller_cut");
      if (!cut) {
        return Missing(item.pos, f, "reseller_cut",
                       "the reseller's share of each resale price, e.g. `10%`");
      }
      CAPSULE_ASSIGN_OR_RETURN(uint32_t ppm, Share(*cut, Sub(f, "reseller_cut")));
      if (ppm == 0) {
        return Err(Code::BadShare, cut->pos, Sub(f, "reseller_cut"),
                   Tick(cut->text) + " is zero; expected a share above 0%");
      }
      model["reseller_cut_ppm"] = ppm;
    } else if (type == "pay_per_view") {
      const Node* plays = get("plays");
      if (!plays) return Missing(item.pos, f, "plays", "the number of plays a purchase grants");
      CAPSULE_ASSIGN_OR_RETURN(model["plays"],
                               Integer(*plays, Sub(f, "plays"), 1, kMaxJsonInteger));
    } else if (type == "rental") {
      const Node* d = get("duration");
      if (!d) return Missing(item.pos, f, "duration", "how long a rental lasts, e.g. `48h`");
      CAPSULE_ASSIGN_OR_RETURN(model["duration_s"],
                               Duration(*d, Sub(f, "duration"), DurationUnit::kSeconds));
      model["from_first_play"] = false;
      if (const Node* ffp = get("from_first_play")) {
        CAPSULE_ASSIGN_OR_RETURN(model["from_first_play"], Bool(*ffp, Sub(f, "from_first_play")));
      }
    } else if (type == "subscription") {
      const Node* p = get("period");
      if (!p) return Missing(item.pos, f, "period", "the billing period, e.g. `30d`");
      CAPSULE_ASSIGN_OR_RETURN(model["period_s"],
                               Duration(*p, Sub(f, "period"), DurationUnit::kSeconds));
    } else if (type == "free_with_ads") {
      const Node* ad = get("ad_capsule");
      if (!ad) return Missing(item.pos, f, "ad_capsule", "the ad's capsule id (32 hex digits)");
      std::string id = ad->kind == Node::Kind::kScalar ? manifest::NormalizeHex(ad->text, 32) : "";
      if (id.empty()) {
        return Err(Code::YamlType, ad->pos, Sub(f, "ad_capsule"),
                   "is " + Describe(*ad) + "; expected the ad's capsule id: 32 hex digits");
      }
      model["ad_capsule_id"] = id;
    }
    return model;
  }

  Result<nlohmann::json> PriceObject(const Node& item, const std::string& f) {
    const Node::Entry* pe = Find(item, "price");
    const Node& pv = nodes_[pe->value];
    const Node::Entry* ce = Find(item, "currency");
    if (!ce) {
      return Missing(item.pos, f, "currency",
                     "the currency's symbol, 1–10 uppercase letters or digits, e.g. ELA");
    }
    const Node& cv = nodes_[ce->value];
    if (cv.kind != Node::Kind::kScalar || !manifest::IsValidCurrency(cv.text)) {
      return Err(cv.kind == Node::Kind::kScalar ? Code::BadPrice : Code::YamlType, cv.pos,
                 Sub(f, "currency"),
                 "is " + Describe(cv) +
                     "; expected a currency symbol of 1–10 uppercase letters or digits, e.g. ELA "
                     "or USDC");
    }
    uint64_t decimals = 18;
    if (const Node::Entry* de = Find(item, "decimals")) {
      CAPSULE_ASSIGN_OR_RETURN(decimals, Integer(nodes_[de->value], Sub(f, "decimals"), 0,
                                                 manifest::kMaxDecimals, Code::BadPrice));
    }
    if (pv.kind != Node::Kind::kScalar) {
      return Err(Code::YamlType, pv.pos, Sub(f, "price"),
                 "is " + Describe(pv) + "; expected a decimal price as a string, e.g. \"9.99\"");
    }
    // A plain `9.99` is a float to YAML; we take its literal text, never a double.
    Result<manifest::Price> price = manifest::ParsePrice(pv.text, static_cast<uint32_t>(decimals));
    if (!price.ok()) return At(price.status(), pv.pos, Sub(f, "price"));
    nlohmann::json obj = nlohmann::json::object();
    obj["amount"] = price->amount;
    obj["currency"] = cv.text;
    obj["decimals"] = decimals;
    obj["base_units"] = price->base_units;
    return obj;
  }

  Status PreviewField(const Node& n) {
    const std::string field = "preview";
    PreviewRequest req;
    nlohmann::json obj = nlohmann::json::object();
    if (n.kind == Node::Kind::kScalar) {
      CAPSULE_ASSIGN_OR_RETURN(req.amount, Duration(n, field, DurationUnit::kMilliseconds));
      req.unit = PreviewRequest::Unit::kMilliseconds;
      obj["milliseconds"] = req.amount;
    } else if (n.kind == Node::Kind::kMap) {
      CAPSULE_RETURN_IF_ERROR(CheckKeys(n, field, kPreviewKeys));
      if (n.entries.size() != 1) {
        return Err(Code::BadPreview, n.entries.empty() ? n.pos : n.entries[1].key_pos, field,
                   n.entries.empty() ? "is an empty map; expected `{lines: N}` or "
                                       "`{characters: N}`"
                                     : "gives both lines and characters; expected exactly one "
                                       "of them");
      }
      const Node::Entry& e = n.entries[0];
      CAPSULE_ASSIGN_OR_RETURN(req.amount, Integer(nodes_[e.value], Sub(field, e.key), 1,
                                                   kMaxJsonInteger, Code::BadPreview));
      req.unit =
          e.key == "lines" ? PreviewRequest::Unit::kLines : PreviewRequest::Unit::kCharacters;
      obj[e.key] = req.amount;
    } else {
      return Err(Code::YamlType, n.pos, field,
                 "is " + Describe(n) +
                     "; expected a duration such as `30s` (audio) or `{lines: N}` / "
                     "`{characters: N}` (text)");
    }
    out_.preview = req;
    out_.json["preview"] = std::move(obj);
    return Status::Ok();
  }

  Status Chain(const Node& n, Pos key_pos) {
    const std::string field = "chain";
    CAPSULE_RETURN_IF_ERROR(
        ExpectKind(n, Node::Kind::kMap, field, "a map with chain_id, contract and token_id"));
    CAPSULE_RETURN_IF_ERROR(CheckKeys(n, field, kChainKeys));
    nlohmann::json chain = nlohmann::json::object();
    chain["chain_id"] = 20;  // Elastos Smart Chain mainnet
    chain["token_id"] = "derive";
    for (const Node::Entry& e : n.entries) {
      const Node& v = nodes_[e.value];
      const std::string f = Sub(field, e.key);
      if (e.key == "chain_id") {
        CAPSULE_ASSIGN_OR_RETURN(chain["chain_id"], Integer(v, f, 1, kMaxJsonInteger));
      } else if (e.key == "contract") {
        CAPSULE_ASSIGN_OR_RETURN(chain["contract"], Address(v, f));
      } else if (e.key == "token_id") {
        std::string id;
        if (v.kind == Node::Kind::kScalar) {
          id = v.text == "derive" ? "derive" : manifest::NormalizeUint256(v.text);
        }
        if (id.empty()) {
          return Err(Code::YamlType, v.pos, f,
                     "is " + Describe(v) +
                         "; expected \"derive\" or a decimal token id from 0 to 2^256 - 1");
        }
        chain["token_id"] = id;
      }
    }
    if (!Find(n, "contract")) {
      return Missing(key_pos, field, "contract", "the access-token contract's EVM address");
    }
    out_.json["chain"] = std::move(chain);
    return Status::Ok();
  }

  const std::vector<Node>& nodes_;
  const std::string& path_;
  AuthoredManifest out_{nlohmann::json::object(), std::nullopt, false, false};
};

Result<AuthoredManifest> Parse(std::string_view text, const std::string& path) {
  if (text.size() > kMaxManifestBytes) {
    return Result<AuthoredManifest>(
        Code::YamlSyntax, Where(path, Pos{}) + "the file is " + std::to_string(text.size()) +
                              " bytes; expected a manifest of at most 1 MiB");
  }
  // A UTF-8 byte order mark is allowed and dropped, so yaml-cpp's marks index `text`.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  SourceMap src(text);
  size_t bad = 0;
  if (!manifest::IsValidUtf8(text, &bad)) {
    return Result<AuthoredManifest>(Code::YamlSyntax,
                                    Where(path, src.PosOfOffset(bad)) +
                                        "invalid UTF-8 byte sequence; expected a UTF-8 text file");
  }
  TreeBuilder builder(text, src, path);
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder)) {
      return Result<AuthoredManifest>(
          Code::YamlType, Where(path, Pos{}) +
                              "the manifest is empty; expected a map with at least title, "
                              "creator, royalties and models");
    }
    // A second document is refused by the builder as soon as it starts.
    (void)parser.HandleNextDocument(builder);
  } catch (const ParseAbort&) {
    return builder.error;
  } catch (const YAML::Exception& e) {
    std::string hint;
    size_t at = src.Offset(e.mark);
    if (std::optional<size_t> quote =
            SpanningQuoteBefore(text, at == std::string_view::npos ? text.size() : at)) {
      Pos q = src.PosOfOffset(*quote);
      hint = " (the quoted string opened at line " + std::to_string(q.line) + ", column " +
             std::to_string(q.column) + " runs over a line break: is its closing quote missing?)";
    }
    return Result<AuthoredManifest>(
        Code::YamlSyntax, Where(path, src.ToPos(e.mark)) + "invalid YAML: " + e.msg + hint +
                              "; expected well-formed YAML (check indentation, `:` after keys, "
                              "and closing quotes and brackets)");
  }
  if (!builder.root) {
    return Result<AuthoredManifest>(Code::YamlType,
                                    Where(path, Pos{}) + "the manifest is empty; expected a map");
  }
  Checker checker(builder.nodes, path);
  return checker.Run(builder.nodes[*builder.root]);
}

}  // namespace

Result<AuthoredManifest> ParseManifestYaml(const std::string& text, const std::string& path) {
  try {
    return Parse(text, path);
  } catch (const std::exception& e) {  // allocation failure, or a bug: never across the API
    return Result<AuthoredManifest>(
        Code::Internal, path + ": internal error while reading the manifest: " + e.what());
  }
}

Result<AuthoredManifest> LoadManifestYaml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Result<AuthoredManifest>(Code::IoOpen, path + ": cannot open: " + std::strerror(errno));
  }
  std::string text(kMaxManifestBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return Result<AuthoredManifest>(Code::IoRead, path + ": read failed: " + std::strerror(errno));
  }
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseManifestYaml(text, path);
}

}  // namespace capsule::packager

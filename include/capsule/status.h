// Errors as values (DESIGN §8): every fallible call returns a Status or a Result<T>.
// The code comes from the one table in errors.def, which also fixes the exit code and the
// documented message. The library never throws across this API.
// Public header: includes only the standard library.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace capsule {

enum class Code {
#define CAPSULE_ERROR(name, reason, exit_code, message) name,
#include "capsule/errors.def"
#undef CAPSULE_ERROR
};

// Stable reason code, e.g. "part-hash-mismatch" (what --json reports).
std::string_view ReasonCode(Code code);
// Process exit code for this error group (DESIGN §9.4).
int ExitCode(Code code);
// The documented one-line message.
std::string_view DefaultMessage(Code code);
// All codes, in table order (for docs and tests).
const Code* AllCodes(size_t* count);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string detail) : code_(code), detail_(std::move(detail)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::Ok; }
  Code code() const { return code_; }
  // What went wrong where, e.g. "manifest.yaml:4:9: share must end in % or bps".
  const std::string& detail() const { return detail_; }
  // "<detail> [reason-code]"; the form every CLI prints.
  std::string ToString() const;
  // Prefix the detail with context ("song.capsule.wasm: ").
  Status WithContext(std::string_view context) const;

 private:
  Code code_ = Code::Ok;
  std::string detail_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(runtime/explicit)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(runtime/explicit)
  Result(Code code, std::string detail) : status_(Status(code, std::move(detail))) {}

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace capsule

// Early return of a failed Status / Result from a function returning Status or Result<U>.
#define CAPSULE_RETURN_IF_ERROR(expr)              \
  do {                                             \
    ::capsule::Status capsule_status_ = (expr);    \
    if (!capsule_status_.ok()) return capsule_status_; \
  } while (0)

#define CAPSULE_CONCAT_INNER(a, b) a##b
#define CAPSULE_CONCAT(a, b) CAPSULE_CONCAT_INNER(a, b)
#define CAPSULE_ASSIGN_OR_RETURN(lhs, expr) \
  CAPSULE_ASSIGN_OR_RETURN_IMPL(CAPSULE_CONCAT(capsule_result_, __LINE__), lhs, expr)
#define CAPSULE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

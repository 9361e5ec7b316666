// The error table rendered as functions (see include/capsule/errors.def).
#include "capsule/status.h"

namespace capsule {
namespace {
struct Row {
  Code code;
  std::string_view reason;
  int exit_code;
  std::string_view message;
};
constexpr Row kRows[] = {
#define CAPSULE_ERROR(name, reason, exit_code, message) {Code::name, reason, exit_code, message},
#include "capsule/errors.def"
#undef CAPSULE_ERROR
};
constexpr Code kCodes[] = {
#define CAPSULE_ERROR(name, reason, exit_code, message) Code::name,
#include "capsule/errors.def"
#undef CAPSULE_ERROR
};
const Row& RowOf(Code code) { return kRows[static_cast<size_t>(code)]; }
}  // namespace

std::string_view ReasonCode(Code code) { return RowOf(code).reason; }
int ExitCode(Code code) { return RowOf(code).exit_code; }
std::string_view DefaultMessage(Code code) { return RowOf(code).message; }
const Code* AllCodes(size_t* count) {
  *count = sizeof(kCodes) / sizeof(kCodes[0]);
  return kCodes;
}

std::string Status::ToString() const {
  std::string out = detail_.empty() ? std::string(DefaultMessage(code_)) : detail_;
  out += " [";
  out += ReasonCode(code_);
  out += "]";
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string d(context);
  d += ": ";
  d += detail_.empty() ? std::string(DefaultMessage(code_)) : detail_;
  return Status(code_, std::move(d));
}

}  // namespace capsule

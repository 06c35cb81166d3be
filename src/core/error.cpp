#include "qreport/core/error.h"

namespace qreport {

const char* ToString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return "invalid argument";
    case ErrorKind::kIo:
      return "I/O error";
    case ErrorKind::kBadModel:
      return "bad model";
    case ErrorKind::kBadData:
      return "bad data";
    case ErrorKind::kInternal:
      return "internal error";
  }
  return "unknown error";
}

namespace internal {

void AssertFailed(const char* condition, const char* file, int line, const std::string& detail) {
  std::string message = fmt::format(
      "internal error (a bug in qreport, please report it): {} at {}:{}", condition, file, line);
  if (!detail.empty()) message += ": " + detail;
  throw Error(ErrorKind::kInternal, std::move(message));
}

}  // namespace internal
}  // namespace qreport

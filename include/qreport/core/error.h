// Errors a user can act on, and the checks that raise them.
//
// qreport separates two kinds of failure:
//  - qreport::Error: bad input or a bad request (a missing file, a model that is not
//    TorchScript, an unknown detector name). The message names the file, the layer and
//    what was expected. The CLI maps it to exit code 2.
//  - internal invariants (QREPORT_ASSERT): a bug in qreport. A user can never trigger one
//    on purpose; if one fires, the message says so.
//
//   QREPORT_CHECK(shape.size() == 2, "{}: layer '{}' expects a 2-D weight, got {}-D",
//                 path, fqn, shape.size());
#ifndef QREPORT_CORE_ERROR_H_
#define QREPORT_CORE_ERROR_H_

#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace qreport {

// What went wrong, coarsely, so callers (and the CLI's exit codes) can branch on it
// without parsing messages.
enum class ErrorKind {
  kInvalidArgument,  // a bad option, name or value given by the caller
  kIo,               // a file that cannot be found, read or written
  kBadModel,         // a file that is not a usable TorchScript model
  kBadData,          // calibration data that does not fit the model
  kInternal,         // a broken invariant inside qreport
};

const char* ToString(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message)
      : std::runtime_error(std::move(message)), kind_(kind) {}

  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Builds an Error from a format string; use at the throw site:
//   throw MakeError(ErrorKind::kIo, "{}: no such file", path);
template <typename... Args>
Error MakeError(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  return Error(kind, fmt::format(format, std::forward<Args>(args)...));
}

namespace internal {
[[noreturn]] void AssertFailed(const char* condition, const char* file, int line,
                               const std::string& detail);
}  // namespace internal

}  // namespace qreport

// Throws qreport::Error(kInvalidArgument) with a formatted message when `cond` is false.
#define QREPORT_CHECK(cond, ...)                                                       \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      throw ::qreport::MakeError(::qreport::ErrorKind::kInvalidArgument, __VA_ARGS__); \
    }                                                                                  \
  } while (false)

// Throws qreport::Error(kind) with a formatted message when `cond` is false.
#define QREPORT_CHECK_KIND(cond, kind, ...)            \
  do {                                                 \
    if (!(cond)) {                                     \
      throw ::qreport::MakeError((kind), __VA_ARGS__); \
    }                                                  \
  } while (false)

// An internal invariant. Failing it is a bug in qreport, never the user's doing.
#define QREPORT_ASSERT(cond, ...)                                                                  \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      ::qreport::internal::AssertFailed(#cond, __FILE__, __LINE__, ::fmt::format("" __VA_ARGS__)); \
    }                                                                                              \
  } while (false)

#endif  // QREPORT_CORE_ERROR_H_

// LibTorch errors that are the user's to fix, not qreport's bugs: the one place that knows
// how LibTorch words them, so every command turns them into a one-line qreport::Error.
//
//   } catch (const std::exception& e) {
//     if (auto error = qreport::torchscript::UserErrorOf(e)) throw *error;
//     throw;
//   }
#ifndef QREPORT_TORCHSCRIPT_TORCH_ERRORS_H_
#define QREPORT_TORCHSCRIPT_TORCH_ERRORS_H_

#include <exception>
#include <optional>

#include "qreport/core/error.h"

namespace qreport::torchscript {

// An allocation that failed (std::bad_alloc, or LibTorch's CPU allocator refusing, with the
// bytes it asked for) as Error(kBadData); nullopt for any other error.
std::optional<Error> UserErrorOf(const std::exception& error);

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_TORCH_ERRORS_H_

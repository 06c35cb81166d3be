// Helpers the fuzz targets share: touching every element of what a reader returned, and
// handing bytes to readers that only take a path.
#ifndef QREPORT_FUZZ_FUZZ_SUPPORT_H_
#define QREPORT_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "qreport/core/data/tensor_view.h"

namespace qreport::fuzz {

// Reads every element of `view` through its strides (up to `limit` of them), so a view that
// claims more than its array holds reads out of bounds under AddressSanitizer. Returns their
// sum, which the caller keeps so the reads are not optimised away.
double ReadEveryElement(const TensorView& view, int64_t limit = int64_t{1} << 16);

// A file holding `data`, named `name` inside a directory of this process's own, rewritten on
// every call; for readers that take a path. The directory is removed at exit.
std::string WriteScratchFile(const std::string& name, const uint8_t* data, size_t size);

}  // namespace qreport::fuzz

#endif  // QREPORT_FUZZ_FUZZ_SUPPORT_H_

#include "qreport/torchscript/torch_errors.h"

#include <string>

#include "graph_utils.h"

namespace qreport::torchscript {

std::optional<Error> UserErrorOf(const std::exception& error) {
  const std::optional<uint64_t> bytes = internal::FailedAllocationBytes(error);
  if (!bytes) return std::nullopt;
  return MakeError(ErrorKind::kBadData,
                   "out of memory: {}; the model or its data is too large for this machine "
                   "(try smaller batches)",
                   *bytes > 0 ? "an allocation of " + internal::ByteSize(*bytes) + " failed"
                              : std::string("an allocation failed"));
}

}  // namespace qreport::torchscript

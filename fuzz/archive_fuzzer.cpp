// The checks that run on a model (and a TorchScript data container) before LibTorch loads it:
// a file's first bytes, then PyTorch's zip reader for the records.
#include <string>

#include <c10/util/Logging.h>

#include "fuzz_support.h"
#include "fuzz_targets.h"
#include "load/archive_format.h"
#include "qreport/core/error.h"

namespace qreport::fuzz {

using torchscript::internal::ArchiveContext;
using torchscript::internal::CheckTorchScriptArchive;
using torchscript::internal::SniffArchive;

int ArchiveTarget(const uint8_t* data, size_t size) {
  // Every damaged archive makes LibTorch throw, and each c10::Error looks up the symbols of its
  // whole stack: 70% of the time here. qreport keeps only the message (ConciseTorchError).
  static const bool no_stack_traces = [] {
    c10::SetStackTraceFetcher([] { return std::string(); });
    return true;
  }();
  (void)no_stack_traces;
  const std::string path = WriteScratchFile("model.pt", data, size);
  (void)SniffArchive(path);
  constexpr ArchiveContext kContext = {ErrorKind::kBadData, "why", "fix", "redo"};
  try {
    CheckTorchScriptArchive(path, kContext);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace qreport::fuzz

QREPORT_FUZZ_ENTRY_POINT(ArchiveTarget)

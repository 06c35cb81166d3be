// Private: the readers behind FileData. Each --data entry becomes one or more sources (a
// directory one per file); a source yields raw batches, which FileData then matches to forward.
#ifndef QREPORT_SRC_TORCHSCRIPT_DATA_DATA_SOURCES_H_
#define QREPORT_SRC_TORCHSCRIPT_DATA_DATA_SOURCES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/data_batch.h"

namespace qreport::torchscript::internal {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // The next raw batch (already checked non-empty), or nullopt when the source is exhausted.
  virtual std::optional<RawBatch> Next() = 0;
  // How many batches the source holds, when known before reading it.
  virtual std::optional<int64_t> size() const = 0;
};

// The sources for `entries`, in order (see calibration_data.h for what an entry may be).
// Lists directories and loads containers now; NumPy files are read when their turn comes.
// Throws Error(kIo) for an entry that does not exist, Error(kBadData) for one that cannot be
// calibration data (a torch.save file, an empty directory, a bad container attribute).
// REQUIRES: batch_size >= 0 (0: no splitting).
std::vector<std::unique_ptr<BatchSource>> OpenSources(const std::vector<std::string>& entries,
                                                      int64_t batch_size);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_DATA_DATA_SOURCES_H_

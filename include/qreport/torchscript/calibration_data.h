// Where calibration batches come from: NumPy files saved from Python, or synthetic data.
//
//   auto data = qreport::torchscript::NumpyData({"calib/b0.npy", "calib/b1.npz"});
//   while (auto batch = data->Next()) prepared.Forward(std::move(*batch));
//
// Each batch is forward's argument list (one tensor per model input).
#ifndef QREPORT_TORCHSCRIPT_CALIBRATION_DATA_H_
#define QREPORT_TORCHSCRIPT_CALIBRATION_DATA_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>

namespace qreport::torchscript {

class CalibrationData {
 public:
  virtual ~CalibrationData() = default;

  // The next batch, or nullopt when the data is exhausted. Throws qreport::Error(kIo or
  // kBadData) naming the file that cannot be read.
  virtual std::optional<std::vector<c10::IValue>> Next() = 0;

  // How many batches there are, when known in advance.
  virtual std::optional<int64_t> size() const = 0;
};

// One batch per file: a .npy file is one input; a .npz file holds one array per model
// input, taken in archive order (np.savez(path, a, b) or np.savez(path, x=..., y=...)).
// REQUIRES: paths non-empty (throws qreport::Error(kInvalidArgument) otherwise).
std::unique_ptr<CalibrationData> NumpyData(std::vector<std::string> paths);

struct SyntheticOptions {
  std::vector<std::vector<int64_t>> input_shapes;  // one shape per model input
  int64_t batches = 8;
  uint64_t seed = 0;
  enum class Distribution { kNormal, kUniform } distribution = Distribution::kNormal;
};

// Random float32 batches (standard normal, or uniform in [0, 1)), reproducible from the seed.
std::unique_ptr<CalibrationData> SyntheticData(const SyntheticOptions& options);

// "8,3,224,224" -> {8, 3, 224, 224}. Throws qreport::Error(kInvalidArgument) naming the text.
std::vector<int64_t> ParseShape(const std::string& text);

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_CALIBRATION_DATA_H_

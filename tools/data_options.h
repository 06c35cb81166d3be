// Where calibration batches come from, as analyze and calibrate both accept them: files
// (--data, --batch-size) or synthetic data (--input-shape, --batches, --seed, --distribution).
#ifndef QREPORT_TOOLS_DATA_OPTIONS_H_
#define QREPORT_TOOLS_DATA_OPTIONS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "heap_policy.h"

#include "qreport/torchscript/calibration_data.h"
#include "qreport/torchscript/model.h"

namespace qreport::cli {

struct DataSelection {
  std::vector<std::string> data;
  int64_t batch_size = 0;  // 0: each data file is one batch
  std::vector<std::string> input_shapes;
  int64_t batches = 8;
  uint64_t seed = 0;
  std::string distribution = "normal";
  std::string input_dtype;           // --input-dtype; "": as --data says
  std::string input_scale = "1";     // --input-scale, e.g. "1/255"
  bool return_freed_memory = false;  // --return-freed-memory: glibc's default heap policy
  int threads = 0;                   // --threads; 0: see thread_policy.h

  bool empty() const { return data.empty() && input_shapes.empty(); }
};

// `data_required`: whether the command refuses to run without data (calibrate) or has
// another source of statistics (analyze --state).
void AddDataOptions(CLI::App* cmd, DataSelection& selection);

// The heap policy --return-freed-memory asks for (see heap_policy.h).
HeapPolicy HeapPolicyOf(const DataSelection& selection);

// Sets LibTorch's intra-op thread count (which the observers share) as thread_policy.h
// says, and returns the count now in effect.
int UseThreads(const DataSelection& selection);

// Throws qreport::Error(kInvalidArgument) when no data was given, naming `command`.
std::unique_ptr<torchscript::CalibrationData> MakeData(const DataSelection& selection,
                                                       const torchscript::Model& model,
                                                       const char* command);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_DATA_OPTIONS_H_

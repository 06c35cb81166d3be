// `qreport calibrate MODEL --state OUT` and `qreport merge STATE... --out STATE`: calibration
// that can be split across processes and combined.
#ifndef QREPORT_TOOLS_CALIBRATE_COMMAND_H_
#define QREPORT_TOOLS_CALIBRATE_COMMAND_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace qreport::cli {

struct CalibrateOptions {
  std::string model_path;
  std::vector<std::string> data;
  int64_t batch_size = 0;  // 0: each data file is one batch
  std::vector<std::string> input_shapes;
  int64_t batches = 8;
  uint64_t seed = 0;
  std::string distribution = "normal";
  std::string state_path;
  int64_t checkpoint_every = 100;
  bool resume = false;
  bool no_fusion = false;
  bool quiet = false;
};

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string out;
};

CLI::App* AddCalibrateCommand(CLI::App& app, CalibrateOptions& options);
CLI::App* AddMergeCommand(CLI::App& app, MergeOptions& options);

// Throw qreport::Error on bad input; print a one-line summary on success.
void RunCalibrate(const CalibrateOptions& options);
void RunMerge(const MergeOptions& options);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_CALIBRATE_COMMAND_H_

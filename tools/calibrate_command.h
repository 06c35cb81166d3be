// `qreport calibrate MODEL --state OUT` and `qreport merge STATE... --out STATE`: calibration
// that can be split across processes and combined.
#ifndef QREPORT_TOOLS_CALIBRATE_COMMAND_H_
#define QREPORT_TOOLS_CALIBRATE_COMMAND_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "data_options.h"
#include "detector_options.h"

namespace qreport::cli {

struct CalibrateOptions {
  std::string model_path;
  DataSelection data;
  DetectorSelection detectors;  // whose observers to fill (all four by default)
  std::string state_path;
  int64_t checkpoint_every = 100;
  bool resume = false;
  std::string shard;  // --shard I/N; "": every batch
  bool no_fusion = false;
  bool quiet = false;
  std::vector<std::string> ops_libraries;  // --ops-library, loaded before the model
};

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string out;
  bool quiet = false;
};

CLI::App* AddCalibrateCommand(CLI::App& app, CalibrateOptions& options);
CLI::App* AddMergeCommand(CLI::App& app, MergeOptions& options);

// Throw qreport::Error on bad input; print a one-line summary on success.
void RunCalibrate(const CalibrateOptions& options);
void RunMerge(const MergeOptions& options);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_CALIBRATE_COMMAND_H_

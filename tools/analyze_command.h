// `qreport analyze MODEL`: calibrate with every detector's observers, print the report, and
// write report.json, the recommended QConfig mapping (JSON and Python) and the equalization
// mapping.
#ifndef QREPORT_TOOLS_ANALYZE_COMMAND_H_
#define QREPORT_TOOLS_ANALYZE_COMMAND_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "data_options.h"
#include "detector_options.h"

namespace qreport::cli {

struct AnalyzeOptions {
  std::string model_path;
  DataSelection data;
  DetectorSelection detectors;
  std::string qconfig_path;  // the current configuration; empty: default_qconfig
  std::string state_path;    // statistics from 'qreport calibrate' instead of calibrating
  std::string out_dir;       // empty: print only
  bool no_fusion = false;
  bool quiet = false;
  std::vector<std::string> ops_libraries;  // --ops-library, loaded before the model
};

CLI::App* AddAnalyzeCommand(CLI::App& app, AnalyzeOptions& options);

// Throws qreport::Error on bad input; prints the report on success.
void RunAnalyze(const AnalyzeOptions& options);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_ANALYZE_COMMAND_H_

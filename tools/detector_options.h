// The detector options analyze and calibrate share: which detectors, and each one's
// parameters, with the reference's defaults.
#ifndef QREPORT_TOOLS_DETECTOR_OPTIONS_H_
#define QREPORT_TOOLS_DETECTOR_OPTIONS_H_

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "qreport/core/detect/detector.h"

namespace qreport::cli {

struct DetectorSelection {
  std::vector<std::string> names;  // empty: all built-in detectors
  std::string backend;             // empty: the LibTorch build's quantized engine
  DetectorOptions options;
  std::optional<int> equalization_axis;
  std::optional<int> outlier_axis;
};

void AddDetectorOptions(CLI::App* cmd, DetectorSelection& selection);

// Throws qreport::Error(kInvalidArgument) for unknown names or out-of-range parameters.
std::vector<std::unique_ptr<Detector>> MakeDetectors(const DetectorSelection& selection);

// "onednn" on Debian's LibTorch: the quantized engine PyTorch would use by default.
std::string DefaultBackend();

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_DETECTOR_OPTIONS_H_

#include "detector_options.h"

#include <ATen/Context.h>
#include <fmt/ranges.h>

#include "qreport/core/detect/analysis.h"
#include "qreport/core/error.h"

namespace qreport::cli {

std::string DefaultBackend() {
  switch (at::globalContext().qEngine()) {
    case at::kFBGEMM:
      return "fbgemm";
    case at::kQNNPACK:
      return "qnnpack";
    case at::kX86:
      return "x86";
    default:
      return "onednn";
  }
}

void AddDetectorOptions(CLI::App* cmd, DetectorSelection& selection) {
  cmd->add_option("--detectors", selection.names,
                  "Which detectors to run, comma-separated (default: all): per_channel, "
                  "dynamic_static, input_weight_equalization, outlier")
      ->delimiter(',')
      ->type_name("NAME,...");
  cmd->add_option("--backend", selection.backend,
                  "Quantized backend the per-channel advice is for (default: this LibTorch's "
                  "engine, " +
                      DefaultBackend() + ")")
      ->check(CLI::IsMember({"fbgemm", "qnnpack", "onednn", "x86"}));
  cmd->add_option("--dynamic-static-tolerance", selection.options.dynamic_static.tolerance,
                  "Activations are stationary when batch range / epoch range exceeds this")
      ->capture_default_str();
  cmd->add_option("--equalization-threshold", selection.options.equalization.ratio_threshold,
                  "A channel benefits from equalization when threshold <= s_c <= 1/threshold")
      ->capture_default_str();
  cmd->add_option("--equalization-axis", selection.equalization_axis,
                  "Input channel axis for equalization (default: 1 for Conv, last for Linear)");
  cmd->add_option("--outlier-ratio-threshold", selection.options.outlier.ratio_threshold,
                  "A channel has outliers when max / reference percentile exceeds this")
      ->capture_default_str();
  cmd->add_option("--outlier-percentile", selection.options.outlier.reference_percentile,
                  "The percentile compared with each channel's maximum")
      ->capture_default_str();
  cmd->add_option("--outlier-fraction-batches",
                  selection.options.outlier.fraction_batches_used_threshold,
                  "Share of batches a channel must be non-zero in for a reliable verdict")
      ->capture_default_str();
  cmd->add_option("--outlier-axis", selection.outlier_axis,
                  "Channel axis for outlier detection (default: 1; the last axis for Linear "
                  "inputs)");
}

std::vector<std::unique_ptr<Detector>> MakeDetectors(const DetectorSelection& selection) {
  DetectorOptions options = selection.options;
  const std::string backend = selection.backend.empty() ? DefaultBackend() : selection.backend;
  const auto parsed = BackendFromString(backend);
  QREPORT_CHECK(parsed.has_value(), "unknown backend '{}'", backend);
  options.per_channel.backend = *parsed;
  options.equalization.channel_axis = selection.equalization_axis;
  options.outlier.channel_axis = selection.outlier_axis;

  return MakeBuiltInDetectors(selection.names, options);
}

}  // namespace qreport::cli

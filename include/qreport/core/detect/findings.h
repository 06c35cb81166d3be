// What detectors conclude, as typed values: one struct per detector and module, holding the
// decision and the numbers behind it. Text, JSON, tables and HTML are views of these; they
// never compute anything themselves.
//
// Field names follow the reference's report keys (see report_json.h for the exact keys), so
// a person who used torch.ao.quantization.fx._model_report finds the same quantities.
#ifndef QREPORT_CORE_DETECT_FINDINGS_H_
#define QREPORT_CORE_DETECT_FINDINGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "qreport/core/qconfig/qconfig.h"

namespace qreport {

// A module the detector could not judge, and why (a constant input, a layer never called,
// an input without the channel axis, ...). The report goes on with the other modules.
struct Problem {
  std::string message;  // names what was found and what was expected
};

enum class Backend { kFbgemm, kQnnpack, kOnednn, kX86 };
const char* ToString(Backend backend);  // "fbgemm", ...
std::optional<Backend> BackendFromString(std::string_view name);

struct PerChannelFinding {
  std::string fqn;
  Backend backend = Backend::kOnednn;
  bool per_channel_supported = false;  // per_channel_quantization_supported
  bool per_channel_used = false;       // per_channel_quantization_used
  // Where per_channel_used came from: "--qconfig", "the model's fake-quant", "default_qconfig".
  std::string configuration_source;
  // False when the current configuration leaves the layer in float (its qconfig is None).
  bool quantized = true;
};

struct DynamicStaticFinding {
  std::string fqn;
  double tolerance = 0.5;  // dynamic_static_tolerance
  // Batch-to-epoch range ratios (average batch range / epoch range) before and after the
  // layer; nullopt when not computable (see problem).
  std::optional<double> input_ratio;   // input_activation_dynamic_static_comp_stat
  std::optional<double> output_ratio;  // output_activation_dynamic_static_comp_stat
  bool input_stationary = false;       // ratio > tolerance
  bool output_stationary = false;
  bool dynamic_recommended = false;  // output_ratio <= tolerance
  bool dynamic_supported = false;    // is_dynamic_supported (Linear only)
  // NaN/Inf values seen before and after the layer, left out of the ratios.
  int64_t input_nonfinite = 0, output_nonfinite = 0;
  std::optional<Problem> problem;
};

struct EqualizationFinding {
  std::string fqn;
  double threshold = 0.5;                 // input_weight_threshold
  int channel_axis = 1;                   // input_weight_channel_axis, as applied to the input
  std::vector<bool> channel_recommended;  // input_weight_equalization_recommended
  std::vector<double> comparison;         // input_weight_channel_comparison_metrics
  std::vector<float> input_channel_max, input_channel_min;
  float input_global_max = 0, input_global_min = 0;
  std::vector<float> weight_channel_max, weight_channel_min;
  float weight_global_max = 0, weight_global_min = 0;
  // Whether equalization is worth it for the module: at least 40% of channels benefit.
  bool recommended = false;
  std::optional<Problem> problem;
};

struct OutlierFinding {
  std::string fqn;
  std::string module_type;
  int channel_axis = 1;                   // outlier_detection_channel_axis
  double reference_percentile = 0.975;    // outlier_detection_reference_percentile
  double ratio_threshold = 3.5;           // outlier_detection_ratio_threshold
  std::vector<double> ratios;             // outlier_detection_percentile_ratios (>= 1, or inf)
  std::vector<int64_t> batches_used;      // outlier_detection_batches_used
  std::vector<bool> outliers;             // outliers_detected
  std::vector<bool> sufficient_batches;   // outlier_detection_is_sufficient_batches
  std::vector<int64_t> constant_batches;  // constant_batch_counts
  std::vector<float> channel_max;         // input_activation_per_channel_max
  // Per channel: batches whose ratio was infinite (a percentile of 0 under a non-zero max),
  // which the reference averages in as FLT_MAX. Where it is > 0 the ratio is "unbounded",
  // whatever its value says.
  std::vector<int64_t> unbounded_batches;
  // Channels that were zero in every batch: dead, not outliers (the reference calls them
  // outliers with ratio inf).
  std::vector<bool> dead_channels;
  int64_t total_batches = 0;
  std::optional<Problem> problem;
};

using Finding =
    std::variant<PerChannelFinding, DynamicStaticFinding, EqualizationFinding, OutlierFinding>;

const std::string& FqnOf(const Finding& finding);

// What one detector suggests for one module's configuration; unset fields carry no opinion.
struct ModuleAdvice {
  std::string fqn;
  std::optional<bool> dynamic_activation;
  std::optional<bool> per_channel_weight;
  std::optional<bool> equalization;
};

// A module a detector looks at by kind but left out on purpose, and why ("folded into conv1").
struct NotObserved {
  std::string fqn;
  std::string module_type;
  std::string reason;
};

struct DetectorReport {
  std::string detector;           // the detector's name(), e.g. "outlier_detector"
  std::vector<Finding> findings;  // in the model's module order
  std::vector<ModuleAdvice> advice;
  std::vector<NotObserved> not_observed;  // in the model's module order
};

}  // namespace qreport

#endif  // QREPORT_CORE_DETECT_FINDINGS_H_

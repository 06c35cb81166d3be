#include "testing/sample_report.h"

#include <limits>

namespace qreport::testing {

Report SampleReport() {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  PerChannelFinding per_channel;
  per_channel.fqn = "block.conv";
  per_channel.backend = Backend::kQnnpack;
  per_channel.per_channel_supported = true;
  per_channel.per_channel_used = false;
  per_channel.configuration_source = "default_qconfig";

  DynamicStaticFinding dynamic;
  dynamic.fqn = "fc";
  dynamic.tolerance = 0.5;
  dynamic.input_ratio = 0.25;
  dynamic.output_ratio = 0.75;
  dynamic.input_stationary = false;
  dynamic.output_stationary = true;
  dynamic.dynamic_recommended = false;
  dynamic.dynamic_supported = true;

  EqualizationFinding equalization;
  equalization.fqn = "fc";
  equalization.threshold = 0.5;
  equalization.channel_axis = -1;
  equalization.channel_recommended = {true, false};
  equalization.comparison = {0.5, 2.5};
  equalization.input_channel_max = {4, 1};
  equalization.input_channel_min = {0, 0};
  equalization.input_global_max = 4;
  equalization.input_global_min = 0;
  equalization.weight_channel_max = {2, 0};
  equalization.weight_channel_min = {1, -1};
  equalization.weight_global_max = 2;
  equalization.weight_global_min = -1;
  equalization.recommended = true;

  OutlierFinding outlier;
  outlier.fqn = "relu";
  outlier.module_type = "torch.nn.modules.activation.ReLU";
  outlier.channel_axis = 1;
  outlier.ratios = {1.5, kInf};
  outlier.batches_used = {30, 0};
  outlier.outliers = {false, false};
  outlier.sufficient_batches = {true, false};
  outlier.constant_batches = {0, 30};
  outlier.channel_max = {3.5f, 0};
  outlier.dead_channels = {false, true};
  outlier.unbounded_batches = {0, 0};
  outlier.total_batches = 30;

  Report report;
  report.model_path = "model.pt";
  report.batches = 30;
  report.detectors = {{"per_channel_detector", {per_channel}, {}, {}},
                      {"dynamic_vs_static_detector", {dynamic}, {}, {}},
                      {"input_weight_equalization_detector", {equalization}, {}, {}},
                      {"outlier_detector", {outlier}, {}, {}}};
  return report;
}

}  // namespace qreport::testing

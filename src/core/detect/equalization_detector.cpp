// input_weight_equalization_detector: whether rescaling a layer's input channels against its
// weight's input channels (input-weight equalization) would even out their ranges.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "qreport/core/detect/detector.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

constexpr const char* kName = "input_weight_equalization_detector";
// Share of channels that must benefit before equalization is worth it (the reference's
// DEFAULT_RECOMMEND_INPUT_WEIGHT_CHANNEL_RATIO).
constexpr double kChannelFraction = 0.4;

// The reference accepts nn.Linear/ConvNd and their torch.nn.qat versions by exact type (spec
// B10): not the fused QAT modules, nor layers inside other modules' code.
bool Covered(const LayerDescription& layer) {
  return layer.family == ModuleFamily::kFloat || layer.family == ModuleFamily::kQat;
}

struct Ranges {
  std::vector<float> max, min;
  float global_max = -std::numeric_limits<float>::infinity();
  float global_min = std::numeric_limits<float>::infinity();
};

Ranges RangesOf(const ObserverState& state) {
  Ranges r{state.max_val(), state.min_val()};
  for (float v : r.max) r.global_max = std::max(r.global_max, v);
  for (float v : r.min) r.global_min = std::min(r.global_min, v);
  return r;
}

// Every channel's range relative to the whole tensor's, in float32 as the reference has it.
std::vector<float> RelativeRanges(const Ranges& r) {
  const float global = r.global_max - r.global_min;
  std::vector<float> out(r.max.size());
  for (size_t c = 0; c < out.size(); ++c) out[c] = (r.max[c] - r.min[c]) / global;
  return out;
}

class EqualizationDetector : public Detector {
 public:
  explicit EqualizationDetector(const EqualizationOptions& options) : options_(options) {}

  std::string_view name() const override { return kName; }

  std::vector<PointRequest> RequestObservers(const ModelDescription& model) const override {
    std::vector<PointRequest> requests;
    for (const LayerDescription& layer : model.layers) {
      if (Covered(layer))
        requests.push_back({{layer.fqn, ObservationPosition::kPre}, Input(layer)});
    }
    return requests;
  }

  DetectorReport Analyze(const AnalysisContext& context) const override {
    DetectorReport report{kName, {}, {}, {}};
    const ModelDescription& model = context.model;
    for (size_t i = 0; i < model.layers.size(); ++i) {
      const LayerDescription& layer = model.layers[i];
      if (!Covered(layer)) continue;
      EqualizationFinding finding;
      finding.fqn = layer.fqn;
      finding.threshold = options_.ratio_threshold;
      finding.channel_axis = Input(layer).channel_axis;
      const std::optional<std::string> problem =
          Fill(layer, i < model.weights.size() ? &model.weights[i] : nullptr,
               context.bank.FindServing({{layer.fqn, ObservationPosition::kPre}, Input(layer)}),
               finding);
      if (problem) {
        finding.problem = Problem{*problem};
      } else {
        report.advice.push_back({layer.fqn, std::nullopt, std::nullopt, finding.recommended});
      }
      report.findings.emplace_back(std::move(finding));
    }
    return report;
  }

 private:
  ObserverOptions Input(const LayerDescription& layer) const {
    ObserverOptions options;
    options.statistics = kChannelMinMaxStatistics;
    // The reference observes axis 1 for every layer, the wrong axis for a Linear fed (B, T, C)
    // (spec B8); a Linear mixes its input's last axis.
    options.channel_axis = options_.channel_axis.value_or(layer.input_channel_axis);
    return options;
  }

  // Fills the finding's statistics and decision; returns why the layer cannot be judged.
  std::optional<std::string> Fill(const LayerDescription& layer, const TensorView* weight,
                                  const ObserverState* input, EqualizationFinding& f) const {
    if (weight == nullptr || weight->dim() < 2 || weight->numel() == 0) {
      return std::string("no weight with an input-channel axis to compare with");
    }
    ObserverOptions weight_options;
    weight_options.statistics = kChannelMinMaxStatistics;
    weight_options.channel_axis = 1;  // in-features / in-channels per group
    ObserverState weight_state(weight_options);
    weight_state.Update(*weight);
    const Ranges w = RangesOf(weight_state);
    f.weight_channel_max = w.max;
    f.weight_channel_min = w.min;
    f.weight_global_max = w.global_max;
    f.weight_global_min = w.global_min;
    if (input == nullptr) {
      return std::string("no input statistics (was calibration run with this detector?)");
    }
    if (input->channels() == 0) {
      return input->num_batches() > 0 || input->issues().missing_axis_batches > 0
                 ? fmt::format("the input has no axis {} to take channels along", f.channel_axis)
                 : std::string("layer was never called during calibration");
    }
    const Ranges in = RangesOf(*input);
    f.input_channel_max = in.max;
    f.input_channel_min = in.min;
    f.input_global_max = in.global_max;
    f.input_global_min = in.global_min;
    // The reference raises for both (weight checked first).
    if (!(w.global_max - w.global_min > 0)) {
      return fmt::format("the weight is constant ({:g}): no range to compare", w.global_max);
    }
    if (!(in.global_max - in.global_min > 0)) {
      return fmt::format("the input was constant ({:g}) along axis {}: no range to compare",
                         in.global_max, f.channel_axis);
    }
    const size_t weight_channels = w.max.size(), input_channels = in.max.size();
    if (input_channels % weight_channels != 0) {
      return fmt::format(
          "the input has {} channels along axis {}, not a multiple of the weight's {} input "
          "channels (groups {})",
          input_channels, f.channel_axis, weight_channels, layer.groups);
    }
    const std::vector<float> w_rel = RelativeRanges(w), i_rel = RelativeRanges(in);
    const auto t = static_cast<float>(options_.ratio_threshold);
    const auto t_inverse = static_cast<float>(1.0 / options_.ratio_threshold);
    size_t recommended = 0;
    for (size_t c = 0; c < input_channels; ++c) {
      // A grouped conv's weight covers one group's channels: tiled over the groups.
      const float s = std::sqrt(w_rel[c % weight_channels]) / std::sqrt(i_rel[c]);
      const bool yes = s >= t && s <= t_inverse;  // NaN and inf fail
      f.comparison.push_back(s);
      f.channel_recommended.push_back(yes);
      recommended += yes ? 1 : 0;
    }
    f.recommended =
        static_cast<double>(recommended) / static_cast<double>(input_channels) >= kChannelFraction;
    return std::nullopt;
  }

  EqualizationOptions options_;
};

}  // namespace

void EqualizationOptions::Validate() const {
  QREPORT_CHECK(ratio_threshold > 0 && ratio_threshold < 1,
                "input_weight_equalization_detector: ratio threshold must be in (0, 1), got {}",
                ratio_threshold);
  QREPORT_CHECK(
      !channel_axis ||
          (*channel_axis >= -TensorView::kMaxDims && *channel_axis < TensorView::kMaxDims),
      "input_weight_equalization_detector: channel axis {} is out of range", *channel_axis);
}

std::unique_ptr<Detector> MakeEqualizationDetector(const EqualizationOptions& options) {
  options.Validate();
  return std::make_unique<EqualizationDetector>(options);
}

}  // namespace qreport

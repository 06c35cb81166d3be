// outlier_detector: per channel of every leaf module's input, whether the maximum stands far
// above a high percentile (an outlier the quantization range would be stretched for).
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "qreport/core/detect/detector.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

constexpr const char* kName = "outlier_detector";

class OutlierDetector : public Detector {
 public:
  explicit OutlierDetector(const OutlierOptions& options) : options_(options) {}

  std::string_view name() const override { return kName; }

  // The first tensor input of every leaf module that takes one (the reference observes every
  // leaf's positional arguments, and crashes on modules with several: spec B13). The request
  // carries this detector's own percentile, so it never shares another detector's observer
  // with a different one (spec B12). A BatchNorm folded into its layer is left out: its input
  // is gone from the model that gets quantized, as it is from the reference's prepare_fx graph.
  std::vector<PointRequest> RequestObservers(const ModelDescription& model) const override {
    std::vector<PointRequest> requests;
    for (const LeafModule& leaf : model.leaf_modules) {
      if (leaf.tensor_inputs < 1 || !leaf.folded_into.empty()) continue;
      PointRequest request;
      request.key = {leaf.fqn, ObservationPosition::kPre};
      request.options = Input(model, leaf);
      requests.push_back(std::move(request));
    }
    return requests;
  }

  DetectorReport Analyze(const AnalysisContext& context) const override {
    DetectorReport report{kName, {}, {}, {}};
    for (const LeafModule& leaf : context.model.leaf_modules) {
      if (leaf.tensor_inputs < 1) continue;
      if (!leaf.folded_into.empty()) {
        report.not_observed.push_back(
            {leaf.fqn, leaf.module_type, fmt::format("folded into {}", leaf.folded_into)});
        continue;
      }
      const ObserverOptions options = Input(context.model, leaf);
      OutlierFinding finding;
      finding.fqn = leaf.fqn;
      finding.module_type = leaf.module_type;
      finding.channel_axis = options.channel_axis;
      finding.reference_percentile = options_.reference_percentile;
      finding.ratio_threshold = options_.ratio_threshold;
      const ObserverState* state =
          context.bank.FindServing({{leaf.fqn, ObservationPosition::kPre}, options});
      if (const auto problem = Fill(state, finding)) finding.problem = Problem{*problem};
      report.findings.emplace_back(std::move(finding));
    }
    return report;  // no configuration advice, as in the reference
  }

 private:
  ObserverOptions Input(const ModelDescription& model, const LeafModule& leaf) const {
    ObserverOptions options;
    options.statistics = kAllStatistics;  // range for the batch count, min/max, percentiles
    options.comp_percentile = static_cast<float>(options_.reference_percentile);
    // Unset: a layer's own input axis (the last for a Linear), 1 for every other module.
    const LayerDescription* layer = model.FindLayer(leaf.fqn);
    options.channel_axis =
        options_.channel_axis.value_or(layer != nullptr ? layer->input_channel_axis : 1);
    return options;
  }

  std::optional<std::string> Fill(const ObserverState* state, OutlierFinding& f) const {
    if (state == nullptr) {
      return std::string("no input statistics (was calibration run with this detector?)");
    }
    f.total_batches = state->num_batches();
    if (f.total_batches == 0) {
      return state->issues().empty_batches > 0
                 ? fmt::format("the input held no finite value in any of {} calls",
                               state->issues().empty_batches)
                 : std::string("module was never called during calibration");
    }
    if (state->channels() == 0) {
      return fmt::format("the input has no axis {} to take channels along", f.channel_axis);
    }
    const std::vector<float> average = state->average_percentile_ratio();
    const auto threshold = static_cast<float>(options_.ratio_threshold);
    const auto fraction = static_cast<float>(options_.fraction_batches_used_threshold);
    f.batches_used = state->percentile_batches_tracked();
    f.constant_batches = state->constant_channels();
    f.channel_max = state->max_val();
    f.unbounded_batches = state->unbounded_ratio_batches();
    for (size_t c = 0; c < average.size(); ++c) {
      const int64_t used = f.batches_used[c];
      // No batch where the max or the percentile was non-zero: no ratio at all. The
      // reference's 0 turns into 1/0 = inf and an "outlier" (spec B6).
      const bool dead = used == 0 && f.constant_batches[c] == f.total_batches &&
                        f.channel_max[c] == 0.0f && state->min_val()[c] == 0.0f;
      float ratio = std::numeric_limits<float>::quiet_NaN();
      if (used > 0) {
        // The reference's normalisation, step for step (so -0.0 gives -inf as there).
        ratio = average[c];
        if (ratio < 0) ratio = -ratio;
        if (ratio < 1) ratio = 1 / ratio;
      }
      f.ratios.push_back(ratio);
      f.outliers.push_back(ratio > threshold);
      f.sufficient_batches.push_back(
          static_cast<float>(used) / static_cast<float>(f.total_batches) >= fraction);
      f.dead_channels.push_back(dead);
    }
    return std::nullopt;
  }

  OutlierOptions options_;
};

}  // namespace

void OutlierOptions::Validate() const {
  QREPORT_CHECK(ratio_threshold > 0, "outlier_detector: ratio threshold must be > 0, got {}",
                ratio_threshold);
  // The observer takes the percentile as a float32, as the reference does.
  QREPORT_CHECK(reference_percentile > 0 && static_cast<float>(reference_percentile) < 1.0f,
                "outlier_detector: reference percentile must be in (0, 1), got {}",
                reference_percentile);
  QREPORT_CHECK(fraction_batches_used_threshold >= 0 && fraction_batches_used_threshold <= 1,
                "outlier_detector: fraction of batches used must be in [0, 1], got {}",
                fraction_batches_used_threshold);
  QREPORT_CHECK(!channel_axis || (*channel_axis >= -TensorView::kMaxDims &&
                                  *channel_axis < TensorView::kMaxDims),
                "outlier_detector: channel axis {} is out of range", *channel_axis);
}

std::unique_ptr<Detector> MakeOutlierDetector(const OutlierOptions& options) {
  options.Validate();
  return std::make_unique<OutlierDetector>(options);
}

}  // namespace qreport

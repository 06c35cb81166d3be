// dynamic_vs_static_detector: whether the activations around each Linear/Conv layer keep
// their range from batch to batch (static quantization fits) or not (dynamic fits better).
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "qreport/core/detect/detector.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

constexpr const char* kName = "dynamic_vs_static_detector";

ObserverOptions RangeOnly() {
  ObserverOptions options;
  options.statistics = kRangeStatistics;
  return options;
}

struct PointRatio {
  std::optional<double> ratio;
  std::optional<std::string> problem;
  int64_t nonfinite = 0;
};

// The batch-to-epoch ratio: average batch range / (epoch max - epoch min), or why there is
// none. The reference raises for a zero epoch range and returns -0.0 for an observer that
// saw no data (spec Q1), which made every such layer "dynamic".
PointRatio RatioAt(const ObserverBank& bank, const std::string& fqn, ObservationPosition position) {
  const char* where = position == ObservationPosition::kPre ? "input" : "output";
  const ObserverState* state = bank.FindServing({{fqn, position}, RangeOnly()});
  if (state == nullptr) {
    return {std::nullopt,
            fmt::format("no range statistics for the {} (was calibration run with this detector?)",
                        where),
            0};
  }
  PointRatio out;
  out.nonfinite = state->issues().nonfinite_values;
  if (state->num_batches() == 0) {
    out.problem = state->issues().empty_batches > 0
                      ? fmt::format("the {} held no finite value in any of {} calls", where,
                                    state->issues().empty_batches)
                      : std::string("layer was never called during calibration");
    return out;
  }
  const double epoch_range =
      static_cast<double>(state->epoch_max()) - static_cast<double>(state->epoch_min());
  if (epoch_range == 0) {
    out.problem = fmt::format("the {} was constant ({:g}) in all {} batches: no range to compare",
                              where, state->epoch_min(), state->num_batches());
    return out;
  }
  out.ratio = static_cast<double>(state->average_batch_range()) / epoch_range;
  return out;
}

class DynamicStaticDetector : public Detector {
 public:
  explicit DynamicStaticDetector(const DynamicStaticOptions& options) : options_(options) {}

  std::string_view name() const override { return kName; }

  std::vector<PointRequest> RequestObservers(const ModelDescription& model) const override {
    std::vector<PointRequest> requests;
    for (const LayerDescription& layer : model.layers) {
      requests.push_back({{layer.fqn, ObservationPosition::kPre}, RangeOnly()});
      requests.push_back({{layer.fqn, ObservationPosition::kPost}, RangeOnly()});
    }
    return requests;
  }

  DetectorReport Analyze(const AnalysisContext& context) const override {
    DetectorReport report{kName, {}, {}, {}};
    for (const LayerDescription& layer : context.model.layers) {
      const PointRatio pre = RatioAt(context.bank, layer.fqn, ObservationPosition::kPre);
      const PointRatio post = RatioAt(context.bank, layer.fqn, ObservationPosition::kPost);
      DynamicStaticFinding finding;
      finding.fqn = layer.fqn;
      finding.tolerance = options_.tolerance;
      finding.input_ratio = pre.ratio;
      finding.output_ratio = post.ratio;
      finding.input_nonfinite = pre.nonfinite;
      finding.output_nonfinite = post.nonfinite;
      // Conv layers are judged but PyTorch has no dynamic Conv kernels (spec B14).
      finding.dynamic_supported = layer.kind == LayerKind::kLinear;
      if (pre.ratio) finding.input_stationary = *pre.ratio > options_.tolerance;
      if (post.ratio) finding.output_stationary = *post.ratio > options_.tolerance;
      if (pre.problem || post.problem) {
        const std::string& first = pre.problem ? *pre.problem : *post.problem;
        finding.problem = Problem{pre.problem && post.problem && *pre.problem != *post.problem
                                      ? first + "; " + *post.problem
                                      : first};
      } else {
        finding.dynamic_recommended = *post.ratio <= options_.tolerance;
        report.advice.push_back({layer.fqn,
                                 finding.dynamic_recommended && finding.dynamic_supported,
                                 std::nullopt, std::nullopt});
      }
      report.findings.emplace_back(std::move(finding));
    }
    return report;
  }

 private:
  DynamicStaticOptions options_;
};

}  // namespace

void DynamicStaticOptions::Validate() const {
  QREPORT_CHECK(tolerance > 0 && tolerance <= 1,
                "dynamic_vs_static_detector: tolerance must be in (0, 1], got {}", tolerance);
}

std::unique_ptr<Detector> MakeDynamicStaticDetector(const DynamicStaticOptions& options) {
  options.Validate();
  return std::make_unique<DynamicStaticDetector>(options);
}

}  // namespace qreport

#include "qreport/core/detect/analysis.h"

#include <set>

#include "qreport/core/error.h"

namespace qreport {

Analysis::Analysis(ModelDescription model, std::vector<std::unique_ptr<Detector>> detectors,
                   QConfigMapping current)
    : model_(std::move(model)), detectors_(std::move(detectors)), current_(std::move(current)) {
  QREPORT_CHECK(!detectors_.empty(), "a model report needs at least one detector");
  std::set<std::string, std::less<>> names;
  for (const auto& detector : detectors_) {
    QREPORT_CHECK(names.insert(std::string(detector->name())).second,
                  "detector '{}' is given twice", detector->name());
  }
  std::vector<PointRequest> all;
  for (const auto& detector : detectors_) {
    for (PointRequest& request : detector->RequestObservers(model_)) {
      all.push_back(std::move(request));
    }
  }
  requests_ = MergePointRequests(all);
}

std::vector<std::string> Analysis::detector_names() const {
  std::vector<std::string> names;
  for (const auto& detector : detectors_) names.emplace_back(detector->name());
  return names;
}

void Analysis::SetWeights(std::vector<TensorView> weights) {
  QREPORT_CHECK(weights.size() == model_.layers.size(),
                "{}: {} analysed weights given for {} layers", model_.path, weights.size(),
                model_.layers.size());
  model_.weights = std::move(weights);
}

void Analysis::CheckServes(const ObserverBank& bank, const std::string& source) const {
  for (const PointRequest& request : requests_) {
    QREPORT_CHECK(bank.SlotServing(request).has_value(),
                  "{} has no observer for {} with the statistics the detectors need (axis {}, "
                  "percentile {}); calibrate again with the same detectors and options",
                  source, ToString(request.key), request.options.channel_axis,
                  request.options.comp_percentile);
  }
}

Report Analysis::Run(const ObserverBank& bank) const {
  QREPORT_ASSERT(has_weights(), "the analysed weights are set before the report");
  QREPORT_CHECK_KIND(bank.batches() > 0, ErrorKind::kBadData,
                     "{}: no calibration batches have run, so there is nothing to report on",
                     model_.path);
  Report report{model_.path, bank.batches(), {}};
  report.unanalysed = model_.unanalysed;
  const AnalysisContext context{model_, bank, current_};
  for (const auto& detector : detectors_) report.detectors.push_back(detector->Analyze(context));
  return report;
}

std::vector<std::unique_ptr<Detector>> MakeBuiltInDetectors(const std::vector<std::string>& names,
                                                            const DetectorOptions& options) {
  const DetectorRegistry registry = DetectorRegistry::BuiltIn();
  const std::vector<std::string> chosen = names.empty() ? registry.names() : names;
  std::vector<std::unique_ptr<Detector>> detectors;
  for (const std::string& name : chosen) detectors.push_back(registry.Create(name, options));
  return detectors;
}

}  // namespace qreport

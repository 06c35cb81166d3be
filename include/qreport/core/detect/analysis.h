// Detectors over one model, independent of the front-end: which observers they need, whether
// a bank of statistics serves them, and the report those statistics give.
//
//   qreport::Analysis analysis(description, std::move(detectors), current);
//   qreport::ObserverBank bank(identity, analysis.requests());
//   ...the front-end calibrates, calling bank.Observe(slot, view)...
//   analysis.SetWeights(weight_views);          // the analysed (BatchNorm-folded) weights
//   qreport::Report report = analysis.Run(bank);
//
// The TorchScript front-end's ModelReport and the Python package are built on it.
#ifndef QREPORT_CORE_DETECT_ANALYSIS_H_
#define QREPORT_CORE_DETECT_ANALYSIS_H_

#include <memory>
#include <string>
#include <vector>

#include "qreport/core/detect/detector.h"
#include "qreport/core/detect/report.h"

namespace qreport {

class Analysis {
 public:
  // Throws qreport::Error(kInvalidArgument) without detectors or with two of one name.
  Analysis(ModelDescription model, std::vector<std::unique_ptr<Detector>> detectors,
           QConfigMapping current = {});
  Analysis(const Analysis&) = delete;  // owns its detectors
  Analysis& operator=(const Analysis&) = delete;
  Analysis(Analysis&&) = default;
  Analysis& operator=(Analysis&&) = default;

  const ModelDescription& model() const { return model_; }
  const QConfigMapping& current() const { return current_; }
  // The observers every detector asked for, merged (MergePointRequests).
  const std::vector<PointRequest>& requests() const { return requests_; }
  std::vector<std::string> detector_names() const;

  // The weights detectors analyse, one per layer in the model's order; the caller keeps the
  // memory alive while the analysis runs. Throws qreport::Error(kInvalidArgument) on a count
  // mismatch.
  void SetWeights(std::vector<TensorView> weights);
  bool has_weights() const { return !model_.weights.empty() || model_.layers.empty(); }

  // Throws qreport::Error(kInvalidArgument), "<source> has no observer for ...", when `bank`
  // lacks an observer some detector needs (other detectors or options).
  void CheckServes(const ObserverBank& bank, const std::string& source) const;

  // Every detector on the statistics, in the order the detectors were given. Throws
  // qreport::Error(kBadData) when no batch has run: the reference would silently call every
  // layer dynamic. REQUIRES: has_weights().
  Report Run(const ObserverBank& bank) const;

 private:
  ModelDescription model_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  QConfigMapping current_;
  std::vector<PointRequest> requests_;
};

// The built-in detectors by name (full or short, see DetectorRegistry); all four, in the
// registry's order, when `names` is empty. Throws qreport::Error(kInvalidArgument) for unknown
// names or out-of-range options.
std::vector<std::unique_ptr<Detector>> MakeBuiltInDetectors(const std::vector<std::string>& names,
                                                            const DetectorOptions& options);

}  // namespace qreport

#endif  // QREPORT_CORE_DETECT_ANALYSIS_H_

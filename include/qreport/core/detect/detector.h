// Detectors: each says which statistics it needs at which points, and turns the calibrated
// statistics into findings. The four of the reference, with its names and defaults:
//
//   DetectorRegistry registry = DetectorRegistry::BuiltIn();
//   std::unique_ptr<Detector> outliers = registry.Create("outlier_detector", {});
//   auto points = outliers->RequestObservers(model);      // before calibration
//   DetectorReport report = outliers->Analyze({model, bank, current_qconfig});
#ifndef QREPORT_CORE_DETECT_DETECTOR_H_
#define QREPORT_CORE_DETECT_DETECTOR_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qreport/core/detect/findings.h"
#include "qreport/core/model/model_description.h"
#include "qreport/core/observe/observer_bank.h"
#include "qreport/core/qconfig/qconfig.h"

namespace qreport {

struct AnalysisContext {
  const ModelDescription& model;
  const ObserverBank& bank;
  // The configuration the user quantizes with today (--qconfig; default_qconfig otherwise).
  const QConfigMapping& current;
};

class Detector {
 public:
  virtual ~Detector() = default;

  // Stable: the CLI value, the JSON key, the reference's get_detector_name().
  virtual std::string_view name() const = 0;

  // The observers this detector needs. Requests of several detectors are merged by the
  // caller (MergePointRequests); a detector finds its statistics with FindServing.
  virtual std::vector<PointRequest> RequestObservers(const ModelDescription& model) const = 0;

  // Findings for every module it covers, in module order. Data-dependent trouble (constant
  // inputs, missing statistics) becomes a Problem on that module's finding, never an
  // exception.
  virtual DetectorReport Analyze(const AnalysisContext& context) const = 0;
};

// --- the four built-in detectors; options carry the reference's defaults --------------------

struct PerChannelOptions {
  Backend backend = Backend::kOnednn;  // the CLI passes the LibTorch build's engine
  void Validate() const {}
};
std::unique_ptr<Detector> MakePerChannelDetector(const PerChannelOptions& options);

struct DynamicStaticOptions {
  double tolerance = 0.5;  // stationary iff batch/epoch range ratio > tolerance
  void Validate() const;   // tolerance in (0, 1]
};
std::unique_ptr<Detector> MakeDynamicStaticDetector(const DynamicStaticOptions& options);

struct EqualizationOptions {
  double ratio_threshold = 0.5;  // the reference has no default; channel recommended iff
                                 // threshold <= s_c <= 1/threshold
  // The input's channel axis. Unset: each layer's own (1 for Conv, the last for Linear);
  // set: that axis for every layer, as the reference does.
  std::optional<int> channel_axis;
  void Validate() const;  // threshold in (0, 1)
};
std::unique_ptr<Detector> MakeEqualizationDetector(const EqualizationOptions& options);

struct OutlierOptions {
  double ratio_threshold = 3.5;                   // outlier iff average ratio > threshold
  double reference_percentile = 0.975;            // compared with the channel's max
  double fraction_batches_used_threshold = 0.95;  // "sufficient batches" bar
  std::optional<int> channel_axis;                // as in EqualizationOptions; others: 1
  void Validate() const;  // percentile in (0, 1), fraction in [0, 1], threshold > 0
};
std::unique_ptr<Detector> MakeOutlierDetector(const OutlierOptions& options);

// --- registry ---------------------------------------------------------------------------------

// Options for every built-in detector; each factory reads its own part.
struct DetectorOptions {
  PerChannelOptions per_channel;
  DynamicStaticOptions dynamic_static;
  EqualizationOptions equalization;
  OutlierOptions outlier;
};

// Names -> factories. The caller owns the registry (no static registration); tests add fakes.
class DetectorRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Detector>(const DetectorOptions&)>;

  // per_channel_detector, dynamic_vs_static_detector, input_weight_equalization_detector,
  // outlier_detector.
  static DetectorRegistry BuiltIn();

  void Add(std::string name, std::string short_name, Factory factory);
  // Accepts the full name or the short one ("outlier" for "outlier_detector").
  // Throws qreport::Error(kInvalidArgument) listing the known names.
  std::unique_ptr<Detector> Create(std::string_view name, const DetectorOptions& options) const;
  std::vector<std::string> names() const;  // full names, in registration order

 private:
  struct Entry {
    std::string name, short_name;
    Factory factory;
  };
  std::vector<Entry> entries_;
};

}  // namespace qreport

#endif  // QREPORT_CORE_DETECT_DETECTOR_H_

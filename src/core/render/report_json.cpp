// ReportToJson: the findings as report.json, with the reference's key names (report_keys.h).
#include <cmath>

#include "detect/report_keys.h"
#include "qreport/core/detect/report.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

namespace k = report_keys;
using Json = nlohmann::ordered_json;

Json Number(double value) {
  if (std::isnan(value)) return k::kNan;
  if (std::isinf(value)) return value > 0 ? k::kInf : k::kNegInf;
  return value;
}

Json Number(const std::optional<double>& value) { return value ? Number(*value) : Json(nullptr); }

template <typename T>
Json Numbers(const std::vector<T>& values) {
  Json out = Json::array();
  for (const T value : values) out.push_back(Number(static_cast<double>(value)));
  return out;
}

Json Integers(const std::vector<int64_t>& values) {
  Json out = Json::array();
  for (const int64_t value : values) out.push_back(value);
  return out;
}

Json Booleans(const std::vector<bool>& values) {
  Json out = Json::array();
  for (const bool value : values) out.push_back(value);
  return out;
}

Json Classification(const std::optional<double>& ratio, bool stationary) {
  if (!ratio) return nullptr;
  return stationary ? k::kStationary : k::kNonStationary;
}

void AddProblem(const std::optional<Problem>& problem, Json& out) {
  if (problem) out[k::kProblem] = problem->message;
}

Json ToJson(const PerChannelFinding& f) {
  return {{k::kPerChannelSupported, f.per_channel_supported},
          {k::kPerChannelUsed, f.per_channel_used},
          {k::kBackend, ToString(f.backend)},
          {k::kConfigurationSource, f.configuration_source}};
}

Json ToJson(const DynamicStaticFinding& f) {
  Json out = {
      {k::kDynamicStaticTolerance, Number(f.tolerance)},
      {k::kDynamicRecommended, f.dynamic_recommended},
      {k::kInputComparisonStat, Number(f.input_ratio)},
      {k::kInputClassification, Classification(f.input_ratio, f.input_stationary)},
      {k::kOutputComparisonStat, Number(f.output_ratio)},
      {k::kOutputClassification, Classification(f.output_ratio, f.output_stationary)},
      {k::kIsDynamicSupported, f.dynamic_supported},
  };
  AddProblem(f.problem, out);
  return out;
}

Json ToJson(const EqualizationFinding& f) {
  Json out = {
      {k::kEqualizationRecommended, Booleans(f.channel_recommended)},
      {k::kEqualizationComparison, Numbers(f.comparison)},
      {k::kEqualizationThreshold, Number(f.threshold)},
      {k::kEqualizationChannelAxis, f.channel_axis},
      {k::kInputPerChannelMax, Numbers(f.input_channel_max)},
      {k::kInputPerChannelMin, Numbers(f.input_channel_min)},
      {k::kInputGlobalMax, Number(f.input_global_max)},
      {k::kInputGlobalMin, Number(f.input_global_min)},
      {k::kWeightPerChannelMax, Numbers(f.weight_channel_max)},
      {k::kWeightPerChannelMin, Numbers(f.weight_channel_min)},
      {k::kWeightGlobalMax, Number(f.weight_global_max)},
      {k::kWeightGlobalMin, Number(f.weight_global_min)},
      {k::kModuleEqualizationRecommended, f.recommended},
  };
  AddProblem(f.problem, out);
  return out;
}

Json ToJson(const OutlierFinding& f) {
  Json out = {
      {k::kOutlierChannelAxis, f.channel_axis},
      {k::kOutlierReferencePercentile, Number(f.reference_percentile)},
      {k::kOutlierRatioThreshold, Number(f.ratio_threshold)},
      {k::kOutlierPercentileRatios, Numbers(f.ratios)},
      {k::kOutlierBatchesUsed, Integers(f.batches_used)},
      {k::kOutliersDetected, Booleans(f.outliers)},
      {k::kOutlierSufficientBatches, Booleans(f.sufficient_batches)},
      {k::kConstantBatchCounts, Integers(f.constant_batches)},
      {k::kInputPerChannelMax, Numbers(f.channel_max)},
      {k::kDeadChannels, Booleans(f.dead_channels)},
      {k::kModuleType, f.module_type},
      {k::kOutlierTotalBatches, f.total_batches},
      {k::kUnboundedRatioBatches, Integers(f.unbounded_batches)},
  };
  AddProblem(f.problem, out);
  return out;
}

}  // namespace

nlohmann::ordered_json ReportToJson(const Report& report) {
  Json out = {{k::kSchemaVersionKey, k::kSchemaVersion},
              {k::kModel, report.model_path},
              {k::kBatches, report.batches},
              {k::kThreads, report.threads > 0 ? Json(report.threads) : Json(nullptr)}};
  for (const DetectorReport& detector : report.detectors) {
    QREPORT_ASSERT(!out.contains(detector.detector), "two detectors named '{}' in one report",
                   detector.detector);
    Json modules = Json::object();
    for (const Finding& finding : detector.findings) {
      const std::string& fqn = FqnOf(finding);
      QREPORT_ASSERT(!modules.contains(fqn), "detector '{}' reported module '{}' twice",
                     detector.detector, fqn);
      modules[fqn] = std::visit([](const auto& f) { return ToJson(f); }, finding);
    }
    out[detector.detector] = std::move(modules);
  }
  Json not_observed = Json::object();
  for (const DetectorReport& detector : report.detectors) {
    if (detector.not_observed.empty()) continue;
    Json& modules = not_observed[detector.detector] = Json::object();
    for (const NotObserved& module : detector.not_observed) {
      modules[module.fqn] = {{k::kModuleType, module.module_type}, {k::kReason, module.reason}};
    }
  }
  if (!not_observed.empty()) out[k::kNotObserved] = std::move(not_observed);
  if (!report.unanalysed.empty()) {
    Json& modules = out[k::kNotAnalysed] = Json::object();
    for (const UnanalysedWeight& module : report.unanalysed) {
      // Keyed by weight: a MultiheadAttention can hold more than one unanalysed weight.
      modules[module.weight_path] = {{k::kModuleType, module.module_type},
                                     {k::kOwner, module.fqn},
                                     {k::kReason, module.reason}};
    }
  }
  return out;
}

}  // namespace qreport

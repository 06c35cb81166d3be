// Every key of report.json and equalization_mapping.json, in one place: the JSON writer and
// every view that reads the JSON back (HTML, visualizer) use these names and nothing else.
//
// report.json (schema_version 1):
//   {"schema_version": 1, "model": "<path>", "batches": N,
//    "<detector name>": {"<module fqn>": {<keys below for that detector>}, ...}, ...,
//    "not_observed": {"<detector name>": {"<module fqn>": {"module_type", "reason"}}}}
// "not_observed" (qreport, present only when some detector left a module out on purpose):
// modules of the kind a detector looks at that it did not observe, and why.
// Keys named after the reference (torch.ao.quantization.fx._model_report.detector) hold the
// same quantity as there; the others are qreport's additions and say so below. Per-channel
// values are arrays; non-finite numbers are the strings kInf, kNegInf, kNan.
#ifndef QREPORT_SRC_CORE_DETECT_REPORT_KEYS_H_
#define QREPORT_SRC_CORE_DETECT_REPORT_KEYS_H_

namespace qreport::report_keys {

inline constexpr int kSchemaVersion = 1;

// --- top level ---
inline constexpr char kSchemaVersionKey[] = "schema_version";
inline constexpr char kModel[] = "model";
inline constexpr char kBatches[] = "batches";
inline constexpr char kThreads[] = "threads";
inline constexpr char kNotObserved[] = "not_observed";
// qreport, present only when some are: {"<weight path>": {"module_type", "module", "reason"}}
// for the Linear/Conv weights that are not analysed (ModelDescription::unanalysed).
inline constexpr char kNotAnalysed[] = "not_analysed";
inline constexpr char kOwner[] = "module";
inline constexpr char kReason[] = "reason";

// --- every detector (qreport): why a module could not be judged; absent when it could ---
inline constexpr char kProblem[] = "problem";

// --- per_channel_detector ---
inline constexpr char kPerChannelSupported[] = "per_channel_quantization_supported";
inline constexpr char kPerChannelUsed[] = "per_channel_quantization_used";
inline constexpr char kBackend[] = "backend";
// qreport: where per_channel_quantization_used was read from.
inline constexpr char kConfigurationSource[] = "configuration_source";

// --- dynamic_vs_static_detector ---
inline constexpr char kDynamicStaticTolerance[] = "dynamic_static_tolerance";
inline constexpr char kDynamicRecommended[] = "dynamic_recommended";
inline constexpr char kInputComparisonStat[] = "input_activation_dynamic_static_comp_stat";
inline constexpr char kInputClassification[] =
    "input_activation_dynamic_static_data_classification";
inline constexpr char kOutputComparisonStat[] = "output_activation_dynamic_static_comp_stat";
inline constexpr char kOutputClassification[] =
    "output_activation_dynamic_static_data_classification";
inline constexpr char kIsDynamicSupported[] = "is_dynamic_supported";
// Values of the two classification keys (null when the ratio could not be computed).
inline constexpr char kStationary[] = "stationary";
inline constexpr char kNonStationary[] = "non-stationary";

// --- input_weight_equalization_detector ---
inline constexpr char kEqualizationRecommended[] = "input_weight_equalization_recommended";
inline constexpr char kEqualizationComparison[] = "input_weight_channel_comparison_metrics";
inline constexpr char kEqualizationThreshold[] = "input_weight_threshold";
inline constexpr char kEqualizationChannelAxis[] = "input_weight_channel_axis";
inline constexpr char kInputPerChannelMax[] = "input_activation_per_channel_max";  // + outliers
inline constexpr char kInputPerChannelMin[] = "input_activation_per_channel_min";
inline constexpr char kInputGlobalMax[] = "input_activation_global_max";
inline constexpr char kInputGlobalMin[] = "input_activation_global_min";
inline constexpr char kWeightPerChannelMax[] = "weight_per_channel_max";
inline constexpr char kWeightPerChannelMin[] = "weight_per_channel_min";
inline constexpr char kWeightGlobalMax[] = "weight_global_max";
inline constexpr char kWeightGlobalMin[] = "weight_global_min";
// qreport: the decision for the whole module (at least 40% of channels benefit); the
// reference only prints it.
inline constexpr char kModuleEqualizationRecommended[] = "module_equalization_recommended";

// --- outlier_detector ---
inline constexpr char kOutlierChannelAxis[] = "outlier_detection_channel_axis";
inline constexpr char kOutlierReferencePercentile[] = "outlier_detection_reference_percentile";
inline constexpr char kOutlierRatioThreshold[] = "outlier_detection_ratio_threshold";
inline constexpr char kOutlierPercentileRatios[] = "outlier_detection_percentile_ratios";
inline constexpr char kOutlierBatchesUsed[] = "outlier_detection_batches_used";
inline constexpr char kOutliersDetected[] = "outliers_detected";
inline constexpr char kOutlierSufficientBatches[] = "outlier_detection_is_sufficient_batches";
inline constexpr char kConstantBatchCounts[] = "constant_batch_counts";
// (input_activation_per_channel_max: kInputPerChannelMax above)
// qreport: channels zero in every batch (dead, not outliers); the module's class; the
// batches the module's input was observed in (the denominator of "sufficient batches").
inline constexpr char kDeadChannels[] = "dead_channels";
inline constexpr char kModuleType[] = "module_type";
inline constexpr char kOutlierTotalBatches[] = "outlier_detection_total_batches";
// qreport: per channel, the batches whose ratio was infinite (percentile 0), averaged in by
// the reference as FLT_MAX; > 0 means the ratio is unbounded, not measured.
inline constexpr char kUnboundedRatioBatches[] = "outlier_detection_unbounded_ratio_batches";

// --- non-finite numbers, which JSON cannot represent ---
inline constexpr char kInf[] = "inf";
inline constexpr char kNegInf[] = "-inf";
inline constexpr char kNan[] = "nan";

// --- equalization_mapping.json: {"schema_version": 1, "modules": [{...}, ...]} ---
inline constexpr char kModules[] = "modules";
inline constexpr char kModuleName[] = "name";
inline constexpr char kChannelsRecommended[] = "channels_recommended";
inline constexpr char kChannels[] = "channels";

}  // namespace qreport::report_keys

#endif  // QREPORT_SRC_CORE_DETECT_REPORT_KEYS_H_

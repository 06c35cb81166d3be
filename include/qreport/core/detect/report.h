// A whole analysis: the findings of every detector that ran, and its views. The report is
// data; RenderReportText and ReportToJson only present it.
//
//   qreport::Report report{model.path, bank.batches(), {per_channel_report, outlier_report}};
//   std::cout << qreport::RenderReportText(report);
//   WriteFileAtomically(out / "report.json", qreport::ReportToJson(report).dump(2));
#ifndef QREPORT_CORE_DETECT_REPORT_H_
#define QREPORT_CORE_DETECT_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qreport/core/detect/findings.h"
#include "qreport/core/model/model_description.h"
#include "qreport/core/qconfig/qconfig.h"

namespace qreport {

struct Report {
  std::string model_path;
  int64_t batches = 0;                    // calibration batches behind the statistics
  std::vector<DetectorReport> detectors;  // in the order the detectors were given
  int threads = 0;  // intra-op threads the calibration ran on; 0: not known (a saved state)
  // Weight-bearing modules the front-end found but could not analyse (ModelDescription's).
  std::vector<UnanalysedWeight> unanalysed = {};
};

// The report for people: per detector, each module's decision and the numbers behind it,
// and the modules that could not be judged with the reason. Plain text, lines < 100 columns.
std::string RenderReportText(const Report& report);

// report.json: {"schema_version": 1, "model": ..., "batches": N, "threads": T (null: not known),
//   "<detector name>": {"<module fqn>": {<the reference's keys for the same quantities>}}}.
// Per-channel values are arrays; non-finite numbers are written as the strings "inf",
// "-inf", "nan" (JSON has no such numbers). A module with a problem carries "problem".
// Ordered: detectors in the report's order, modules in the model's, keys as the reference's.
// REQUIRES: distinct detector names; at most one finding per module and detector.
nlohmann::ordered_json ReportToJson(const Report& report);

// The configuration qreport recommends: per module, every detector's advice combined, kept
// only where valid (dynamic activations only where the layer supports them, per-channel
// weights only where the backend does), starting from the user's current configuration.
// Module names are the user's (named_modules() of the model given): the layer's own, or its
// fused container's (torch.nn.intrinsic.LinearReLU "fc", not "fc.0"), which is what
// prepare_fx looks up.
//
// The result is `current` (with set_global(default_qconfig) when `current` is empty) plus
// one module_name entry per layer whose recommended configuration differs from what
// `current` resolves it to. So result.Resolve(layer) is the recommendation for every layer,
// and an unchanged layer adds no entry. Layers the user leaves in float stay in float.
QConfigMapping RecommendQConfigMapping(const ModelDescription& model, const Report& report,
                                       const QConfigMapping& current);

// equalization_mapping.json: the modules where input-weight equalization is recommended (and
// only those), in the model's order, named as in RecommendQConfigMapping:
// {"schema_version": 1, "modules": [{"name": fqn, "channels_recommended": k, "channels": n}]}.
nlohmann::ordered_json RecommendEqualizationMapping(const ModelDescription& model,
                                                    const Report& report);

}  // namespace qreport

#endif  // QREPORT_CORE_DETECT_REPORT_H_

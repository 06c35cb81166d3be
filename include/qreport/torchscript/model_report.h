// The reference's ModelReport for TorchScript models: detectors say what to observe, a
// prepared clone of the model gathers it during calibration, and the detectors' findings
// become a report and the recommended configurations.
//
//   auto model = qreport::torchscript::Model::Load("model.pt");
//   std::vector<std::unique_ptr<qreport::Detector>> detectors;
//   detectors.push_back(qreport::MakeOutlierDetector({}));
//   qreport::torchscript::ModelReport report(model, std::move(detectors));
//   auto& prepared = report.PrepareDetailedCalibration();
//   for (auto& batch : batches) prepared.Forward(batch);
//   const qreport::Report& findings = report.GenerateModelReport(true);
//   qreport::QConfigMapping mapping = report.GenerateQConfigMapping();
//   std::cout << report.GenerateVisualizer().RenderTables({"per_channel", "block1"});
//
// Method names map onto the reference's: prepare_detailed_calibration,
// generate_model_report(remove_inserted_observers), generate_qconfig_mapping,
// generate_equalization_mapping, generate_visualizer. Calls out of order throw
// qreport::Error(kInvalidArgument) saying what to call first.
#ifndef QREPORT_TORCHSCRIPT_MODEL_REPORT_H_
#define QREPORT_TORCHSCRIPT_MODEL_REPORT_H_

#include <memory>
#include <optional>
#include <vector>

#include <torch/script.h>

#include "qreport/core/detect/analysis.h"
#include "qreport/core/detect/detector.h"
#include "qreport/core/detect/report.h"
#include "qreport/core/render/visualizer.h"
#include "qreport/torchscript/layer_graph.h"
#include "qreport/torchscript/model.h"
#include "qreport/torchscript/prepared_model.h"

namespace qreport::torchscript {

struct ModelReportOptions {
  LayerGraphOptions graph;  // fusion on by default, as PyTorch's prepare step does
  QConfigMapping current;   // the user's configuration; empty: default_qconfig everywhere
};

class ModelReport {
 public:
  // Throws qreport::Error(kInvalidArgument) without detectors or with two of one name.
  ModelReport(const Model& model, std::vector<std::unique_ptr<Detector>> detectors,
              ModelReportOptions options = {});

  // What the detectors know about the model: layers and leaf modules; the analysed weights
  // from the first GenerateModelReport on (they are made then, see AnalyseWeights).
  const ModelDescription& description() const { return analysis_.model(); }
  // The observers the detectors asked for, merged.
  const std::vector<PointRequest>& requests() const { return analysis_.requests(); }

  // Instruments a clone of the model; run calibration batches through the result.
  PreparedModel& PrepareDetailedCalibration();

  // Takes statistics gathered earlier (qreport calibrate --state) instead of calibrating.
  // Throws qreport::Error(kInvalidArgument) if the state belongs to another model or lacks
  // an observer some detector needs (naming it).
  void UseState(ObserverBank state);

  // Runs every detector on the statistics. Throws if nothing was calibrated yet (the
  // reference would silently say "dynamic" everywhere) or observers were removed.
  // remove_inserted_observers drops the instrumented clone; the report stays available.
  const Report& GenerateModelReport(bool remove_inserted_observers);

  // REQUIRE: a report was generated.
  QConfigMapping GenerateQConfigMapping() const;
  nlohmann::ordered_json GenerateEqualizationMapping() const;
  // The report's findings as tables and plots.
  Visualizer GenerateVisualizer() const;

 private:
  const ObserverBank& Statistics() const;
  const Report& RequireReport(const char* what) const;
  void AnalyseWeights();

  Model model_;  // a handle on the user's module, which is never modified
  ModelReportOptions options_;
  Analysis analysis_;
  std::vector<at::Tensor> weights_;  // keep the analysed weights the description views
  std::optional<PreparedModel> prepared_;
  std::optional<ObserverBank> state_;  // from UseState, or kept when observers are removed
  bool removed_ = false;
  std::optional<Report> report_;
};

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_MODEL_REPORT_H_

#include "qreport/torchscript/model_report.h"

#include "graph_utils.h"
#include "qreport/core/error.h"
#include "qreport/torchscript/weights.h"

namespace qreport::torchscript {
namespace {

// How a QAT layer's own fake-quant quantizes its weight: FakeQuantize records it in
// `is_per_channel` (and `qscheme`); nullopt for float layers.
std::optional<WeightScheme> WeightSchemeInModel(const Model& model, const LayerDescription& layer) {
  if (layer.family != ModuleFamily::kQat && layer.family != ModuleFamily::kQatFused) {
    return std::nullopt;
  }
  const auto fake_quant =
      internal::SubmoduleAt(model.module(), internal::JoinPath({layer.fqn, "weight_fake_quant"}));
  if (!fake_quant || !fake_quant->hasattr("is_per_channel")) return std::nullopt;
  const c10::IValue flag = fake_quant->attr("is_per_channel");
  if (!flag.isBool()) return std::nullopt;
  return flag.toBool() ? WeightScheme::kPerChannel : WeightScheme::kPerTensor;
}

ModelDescription Describe(const Model& model, const LayerGraphOptions& options) {
  const LayerGraph graph = LayerGraph::Build(model, options);
  ModelDescription description;
  description.path = model.path();
  description.layers = graph.layers();
  description.leaf_modules = graph.leaf_modules();
  description.unanalysed = graph.unanalysed();
  for (const LayerDescription& layer : description.layers) {
    description.weight_scheme_in_model.push_back(WeightSchemeInModel(model, layer));
  }
  return description;
}

}  // namespace

ModelReport::ModelReport(const Model& model, std::vector<std::unique_ptr<Detector>> detectors,
                         ModelReportOptions options)
    : model_(model),
      options_(std::move(options)),
      analysis_(Describe(model_, options_.graph), std::move(detectors), options_.current) {}

PreparedModel& ModelReport::PrepareDetailedCalibration() {
  QREPORT_CHECK(!prepared_ && !removed_ && !state_,
                "the model is already prepared for calibration: run batches through it, then "
                "generate the report");
  PrepareOptions prepare;
  prepare.graph = options_.graph;
  prepare.points = analysis_.requests();
  prepared_.emplace(PreparedModel::Prepare(model_, prepare));
  return *prepared_;
}

void ModelReport::UseState(ObserverBank state) {
  QREPORT_CHECK(!prepared_ && !state_, "statistics are already being gathered for this report");
  const ModelIdentity ours{model_.fingerprint(), model_.path()};
  QREPORT_CHECK(state.model() == ours, "{}: the state belongs to another model ({})", model_.path(),
                state.model().path);
  analysis_.CheckServes(state, "the state");
  state_ = std::move(state);
}

const ObserverBank& ModelReport::Statistics() const {
  if (state_) return *state_;
  QREPORT_CHECK(prepared_.has_value(),
                "no statistics yet: call PrepareDetailedCalibration() and run calibration "
                "batches (or UseState) before generating the report");
  return prepared_->bank();
}

const Report& ModelReport::GenerateModelReport(bool remove_inserted_observers) {
  QREPORT_CHECK(!removed_,
                "the observers were removed by an earlier GenerateModelReport(true); the report "
                "it generated is still available");
  const ObserverBank& bank = Statistics();
  AnalyseWeights();
  report_ = analysis_.Run(bank);
  if (remove_inserted_observers) {
    if (!state_) state_ = prepared_->bank();
    prepared_.reset();
    removed_ = true;
  }
  return *report_;
}

// Made when the first report needs them, not at construction: BatchNorm-folded weights are
// copies (45 MB for resnet18), and held through calibration they would add that much to its
// peak memory.
void ModelReport::AnalyseWeights() {
  if (!weights_.empty() || description().layers.empty()) return;
  std::vector<TensorView> views;
  for (const LayerDescription& layer : description().layers) {
    at::Tensor weight = AnalysedWeight(model_, layer);
    at::Tensor converted;
    views.push_back(ViewOf(weight, converted));
    weights_.push_back(converted.defined() ? converted : weight);
  }
  analysis_.SetWeights(std::move(views));
}

const Report& ModelReport::RequireReport(const char* what) const {
  QREPORT_CHECK(report_.has_value(), "generate the model report before the {}", what);
  return *report_;
}

QConfigMapping ModelReport::GenerateQConfigMapping() const {
  return RecommendQConfigMapping(description(), RequireReport("QConfig mapping"), options_.current);
}

nlohmann::ordered_json ModelReport::GenerateEqualizationMapping() const {
  return RecommendEqualizationMapping(description(), RequireReport("equalization mapping"));
}

Visualizer ModelReport::GenerateVisualizer() const {
  return Visualizer(RequireReport("visualizer"));
}

}  // namespace qreport::torchscript

#include "qreport/torchscript/model_report.h"

#include <set>

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

}  // namespace

ModelReport::ModelReport(const Model& model, std::vector<std::unique_ptr<Detector>> detectors,
                         ModelReportOptions options)
    : model_(model), detectors_(std::move(detectors)), options_(std::move(options)) {
  QREPORT_CHECK(!detectors_.empty(), "a model report needs at least one detector");
  std::set<std::string, std::less<>> names;
  for (const auto& detector : detectors_) {
    QREPORT_CHECK(names.insert(std::string(detector->name())).second,
                  "detector '{}' is given twice", detector->name());
  }
  const LayerGraph graph = LayerGraph::Build(model_, options_.graph);
  description_.path = model_.path();
  description_.layers = graph.layers();
  description_.leaf_modules = graph.leaf_modules();
  for (const LayerDescription& layer : description_.layers) {
    description_.weight_scheme_in_model.push_back(WeightSchemeInModel(model_, layer));
  }
  std::vector<PointRequest> all;
  for (const auto& detector : detectors_) {
    for (PointRequest& request : detector->RequestObservers(description_)) {
      all.push_back(std::move(request));
    }
  }
  requests_ = MergePointRequests(all);
}

PreparedModel& ModelReport::PrepareDetailedCalibration() {
  QREPORT_CHECK(!prepared_ && !removed_ && !state_,
                "the model is already prepared for calibration: run batches through it, then "
                "generate the report");
  PrepareOptions prepare;
  prepare.graph = options_.graph;
  prepare.points = requests_;
  prepared_.emplace(PreparedModel::Prepare(model_, prepare));
  return *prepared_;
}

void ModelReport::UseState(ObserverBank state) {
  QREPORT_CHECK(!prepared_ && !state_, "statistics are already being gathered for this report");
  const ModelIdentity ours{model_.fingerprint(), model_.path()};
  QREPORT_CHECK(state.model() == ours, "{}: the state belongs to another model ({})", model_.path(),
                state.model().path);
  for (const PointRequest& request : requests_) {
    QREPORT_CHECK(state.SlotServing(request).has_value(),
                  "the state has no observer for {} with the statistics the detectors need "
                  "(axis {}, percentile {}); calibrate again with the same detectors and options",
                  ToString(request.key), request.options.channel_axis,
                  request.options.comp_percentile);
  }
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
  QREPORT_CHECK_KIND(bank.batches() > 0, ErrorKind::kBadData,
                     "{}: no calibration batches have run, so there is nothing to report on",
                     model_.path());
  Report report{model_.path(), bank.batches(), {}};
  AnalyseWeights();
  const AnalysisContext context{description_, bank, options_.current};
  for (const auto& detector : detectors_) report.detectors.push_back(detector->Analyze(context));
  report_ = std::move(report);
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
  if (!description_.weights.empty()) return;
  for (const LayerDescription& layer : description_.layers) {
    at::Tensor weight = AnalysedWeight(model_, layer);
    at::Tensor converted;
    description_.weights.push_back(ViewOf(weight, converted));
    weights_.push_back(converted.defined() ? converted : weight);
  }
}

const Report& ModelReport::RequireReport(const char* what) const {
  QREPORT_CHECK(report_.has_value(), "generate the model report before the {}", what);
  return *report_;
}

QConfigMapping ModelReport::GenerateQConfigMapping() const {
  return RecommendQConfigMapping(description_, RequireReport("QConfig mapping"), options_.current);
}

nlohmann::ordered_json ModelReport::GenerateEqualizationMapping() const {
  return RecommendEqualizationMapping(description_, RequireReport("equalization mapping"));
}

Visualizer ModelReport::GenerateVisualizer() const {
  return Visualizer(RequireReport("visualizer"));
}

}  // namespace qreport::torchscript

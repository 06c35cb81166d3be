#include "qreport/torchscript/model_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"
#include "torchscript/fixtures.h"

namespace qreport::torchscript {
namespace {

using qreport::testing::FixturePath;
using ::testing::HasSubstr;

std::vector<std::unique_ptr<Detector>> AllDetectors() {
  const DetectorRegistry registry = DetectorRegistry::BuiltIn();
  std::vector<std::unique_ptr<Detector>> detectors;
  for (const std::string& name : registry.names()) {
    detectors.push_back(registry.Create(name, DetectorOptions{}));
  }
  return detectors;
}

void ExpectErrorMentioning(const std::function<void()>& call, const std::string& text) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one mentioning: " << text;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(text));
  }
}

TEST(ModelReportTest, AllFourDetectorsReportOnEveryLayerOfACnn) {
  const Model model = Model::Load(FixturePath("nested_cnn.pt"));
  ModelReport report(model, AllDetectors());
  const auto& layers = report.description().layers;
  ASSERT_FALSE(layers.empty());
  EXPECT_TRUE(report.description().weights.empty());  // not held during calibration

  PreparedModel& prepared = report.PrepareDetailedCalibration();
  torch::manual_seed(0);
  for (int i = 0; i < 4; ++i) prepared.Forward({torch::randn({2, 3, 16, 16})});
  const Report& result = report.GenerateModelReport(/*remove_inserted_observers=*/true);
  EXPECT_EQ(report.description().weights.size(), layers.size());
  EXPECT_EQ(result.batches, 4);
  ASSERT_EQ(result.detectors.size(), 4u);
  std::vector<std::string> names;
  for (const DetectorReport& detector : result.detectors) names.push_back(detector.detector);
  EXPECT_THAT(names,
              ::testing::ElementsAre("per_channel_detector", "dynamic_vs_static_detector",
                                     "input_weight_equalization_detector", "outlier_detector"));
  // Per-layer detectors cover every layer; the outlier detector every called leaf module but
  // the folded BatchNorms, which it lists as not observed.
  for (size_t d = 0; d < 3; ++d) {
    EXPECT_EQ(result.detectors[d].findings.size(), layers.size()) << names[d];
  }
  size_t leaves_with_input = 0, folded = 0;
  for (const LeafModule& leaf : report.description().leaf_modules) {
    leaves_with_input += leaf.tensor_inputs > 0 && leaf.folded_into.empty();
    folded += !leaf.folded_into.empty();
  }
  EXPECT_GT(folded, 0u);
  EXPECT_EQ(result.detectors[3].findings.size(), leaves_with_input);
  EXPECT_EQ(result.detectors[3].not_observed.size(), folded);
  for (const Finding& finding : result.detectors[1].findings) {
    const auto& dynamic = std::get<DynamicStaticFinding>(finding);
    EXPECT_FALSE(dynamic.problem.has_value()) << dynamic.fqn << ": " << dynamic.problem->message;
    EXPECT_TRUE(dynamic.output_ratio.has_value()) << dynamic.fqn;
  }
  // The mappings come from the report, even after the observers are gone.
  const QConfigMapping mapping = report.GenerateQConfigMapping();
  EXPECT_TRUE(mapping.Resolve(layers.front().fqn, layers.front().module_type).has_value());
  EXPECT_TRUE(report.GenerateEqualizationMapping().contains("modules"));
  const Visualizer visualizer = report.GenerateVisualizer();
  EXPECT_THAT(visualizer.ModuleFqns(), ::testing::Contains(layers.front().fqn));
  ExpectErrorMentioning([&] { report.GenerateModelReport(false); }, "observers were removed");
}

// A scripted BatchNorm's code reads partly as root code after inlining (its input check's
// prim::If lost the call stack); that must not split one call into two, which made the
// outlier detector observe every BatchNorm input twice per batch.
// Fusion is off so that the BatchNorms are observed (folded, they would not be).
TEST(ModelReportTest, EveryLeafIsObservedOncePerCall) {
  const Model model = Model::Load(FixturePath("conv_bn_relu.pt"));
  std::vector<std::unique_ptr<Detector>> detectors;
  detectors.push_back(MakeOutlierDetector({}));
  ModelReportOptions options;
  options.graph.fusion = false;
  ModelReport report(model, std::move(detectors), options);
  PreparedModel& prepared = report.PrepareDetailedCalibration();
  torch::manual_seed(0);
  for (int i = 0; i < 3; ++i) prepared.Forward({torch::randn({2, 3, 8, 8})});
  const Report& result = report.GenerateModelReport(true);
  ASSERT_FALSE(result.detectors[0].findings.empty());
  bool saw_batch_norm = false;
  for (const Finding& finding : result.detectors[0].findings) {
    const auto& outlier = std::get<OutlierFinding>(finding);
    EXPECT_EQ(outlier.total_batches, 3) << outlier.fqn << " (" << outlier.module_type << ")";
    saw_batch_norm |= outlier.module_type.find("BatchNorm") != std::string::npos;
  }
  EXPECT_TRUE(saw_batch_norm);
}

std::vector<std::string> FqnsOf(const DetectorReport& detector) {
  std::vector<std::string> fqns;
  for (const Finding& finding : detector.findings) fqns.push_back(FqnOf(finding));
  return fqns;
}

// A BatchNorm folded into its conv has no input once fused, as in prepare_fx's graph, where
// the reference's outlier detector finds no such module: it is listed, not observed.
TEST(ModelReportTest, FoldedBatchNormsAreListedNotObserved) {
  const Model model = Model::Load(FixturePath("conv_bn_relu.pt"));
  std::vector<std::unique_ptr<Detector>> detectors;
  detectors.push_back(MakeOutlierDetector({}));
  ModelReport report(model, std::move(detectors));
  for (const PointRequest& request : report.requests()) {
    EXPECT_NE(request.key.fqn.rfind("bn", 0), 0u) << request.key.fqn << " is observed";
  }
  PreparedModel& prepared = report.PrepareDetailedCalibration();
  torch::manual_seed(0);
  for (int i = 0; i < 2; ++i) prepared.Forward({torch::randn({2, 3, 8, 8})});
  const Report& result = report.GenerateModelReport(true);
  EXPECT_THAT(FqnsOf(result.detectors[0]),
              ::testing::ElementsAre("conv1", "relu1", "conv2", "fc1", "relu2", "fc2"));
  const auto& skipped = result.detectors[0].not_observed;
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0].fqn, "bn1");
  EXPECT_EQ(skipped[0].reason, "folded into conv1");
  EXPECT_EQ(skipped[1].fqn, "bn2");
  EXPECT_EQ(skipped[1].reason, "folded into conv2");
  EXPECT_THAT(skipped[0].module_type, HasSubstr("BatchNorm2d"));
}

// shared_bn calls one BatchNorm on a conv's output (folded) and on the input (not): only the
// second call is observed, so its statistics are the input's own.
TEST(ModelReportTest, ABatchNormIsObservedWhereItIsNotFolded) {
  const Model model = Model::Load(FixturePath("shared_bn.pt"));
  std::vector<std::unique_ptr<Detector>> detectors;
  detectors.push_back(MakeOutlierDetector({}));
  ModelReport report(model, std::move(detectors));
  PreparedModel& prepared = report.PrepareDetailedCalibration();
  torch::manual_seed(0);
  std::vector<at::Tensor> inputs;
  for (int i = 0; i < 3; ++i) {
    inputs.push_back(torch::randn({2, 4, 6, 6}));
    prepared.Forward({inputs.back()});
  }
  const Report& result = report.GenerateModelReport(true);
  EXPECT_TRUE(result.detectors[0].not_observed.empty());
  const OutlierFinding* bn = nullptr;
  for (const Finding& finding : result.detectors[0].findings) {
    if (FqnOf(finding) == "bn") bn = &std::get<OutlierFinding>(finding);
  }
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(bn->total_batches, 3);
  const at::Tensor channel_max = std::get<0>(torch::cat(inputs).transpose(0, 1).flatten(1).max(1));
  ASSERT_EQ(bn->channel_max.size(), 4u);
  for (int64_t c = 0; c < 4; ++c) {
    EXPECT_EQ(bn->channel_max[static_cast<size_t>(c)], channel_max[c].item<float>()) << c;
  }
}

TEST(ModelReportTest, CallsOutOfOrderAreClearErrors) {
  const Model model = Model::Load(FixturePath("mlp.pt"));
  ModelReport report(model, AllDetectors());
  ExpectErrorMentioning([&] { report.GenerateModelReport(false); },
                        "call PrepareDetailedCalibration()");
  ExpectErrorMentioning([&] { report.GenerateQConfigMapping(); }, "generate the model report");
  ExpectErrorMentioning([&] { report.GenerateVisualizer(); }, "generate the model report");
  report.PrepareDetailedCalibration();
  ExpectErrorMentioning([&] { report.PrepareDetailedCalibration(); }, "already prepared");
  // The reference reports "dynamic everywhere" here; no batches is an error.
  ExpectErrorMentioning([&] { report.GenerateModelReport(false); },
                        "no calibration batches have run");
  ExpectErrorMentioning([&] { ModelReport(model, {}); }, "at least one detector");
}

// analyze --state: statistics gathered by an earlier run serve the same detectors.
TEST(ModelReportTest, SavedStatisticsGiveTheSameReport) {
  const Model model = Model::Load(FixturePath("mlp.pt"));
  ModelReport live(model, AllDetectors());
  PreparedModel& prepared = live.PrepareDetailedCalibration();
  torch::manual_seed(1);
  for (int i = 0; i < 3; ++i) prepared.Forward({torch::randn({4, 16})});
  const ObserverBank saved = prepared.bank();
  const Report& want = live.GenerateModelReport(false);

  ModelReport offline(model, AllDetectors());
  offline.UseState(saved);
  const Report& got = offline.GenerateModelReport(false);
  EXPECT_EQ(RenderReportText(got), RenderReportText(want));

  DetectorOptions other;
  other.outlier.reference_percentile = 0.5;
  std::vector<std::unique_ptr<Detector>> detectors;
  detectors.push_back(MakeOutlierDetector(other.outlier));
  ModelReport mismatched(model, std::move(detectors));
  ExpectErrorMentioning([&] { mismatched.UseState(saved); }, "percentile 0.5");
}

}  // namespace
}  // namespace qreport::torchscript

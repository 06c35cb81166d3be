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
  // Per-layer detectors cover every layer; the outlier detector every called leaf module.
  for (size_t d = 0; d < 3; ++d) {
    EXPECT_EQ(result.detectors[d].findings.size(), layers.size()) << names[d];
  }
  size_t leaves_with_input = 0;
  for (const LeafModule& leaf : report.description().leaf_modules) {
    leaves_with_input += leaf.tensor_inputs > 0;
  }
  EXPECT_EQ(result.detectors[3].findings.size(), leaves_with_input);
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
TEST(ModelReportTest, EveryLeafIsObservedOncePerCall) {
  const Model model = Model::Load(FixturePath("conv_bn_relu.pt"));
  std::vector<std::unique_ptr<Detector>> detectors;
  detectors.push_back(MakeOutlierDetector({}));
  ModelReport report(model, std::move(detectors));
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

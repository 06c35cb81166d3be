#include <cmath>
#include <limits>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/detector.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::HasSubstr;

LayerDescription Layer(const std::string& fqn, LayerKind kind) {
  LayerDescription layer;
  layer.fqn = fqn;
  layer.kind = kind;
  layer.input_channel_axis = kind == LayerKind::kLinear ? -1 : 1;
  return layer;
}

// A bank holding the detector's observers, fed batch by batch.
struct Fixture {
  ModelDescription model;
  std::unique_ptr<Detector> detector = MakeDynamicStaticDetector({});
  ObserverBank bank{{"fp", "m.pt"}, {}};
  QConfigMapping current;

  explicit Fixture(std::vector<LayerDescription> layers) {
    model.layers = std::move(layers);
    bank = ObserverBank({"fp", "m.pt"}, MergePointRequests(detector->RequestObservers(model)));
  }
  void Feed(const std::string& fqn, ObservationPosition position, std::vector<float> values) {
    bank.Observe(*bank.SlotOf({fqn, position}),
                 TensorView::Contiguous(values.data(), {static_cast<int64_t>(values.size())}));
  }
  void FeedBoth(const std::string& fqn, const std::vector<std::vector<float>>& batches) {
    for (const auto& b : batches) {
      Feed(fqn, ObservationPosition::kPre, b);
      Feed(fqn, ObservationPosition::kPost, b);
    }
  }
  DetectorReport Analyze() const { return detector->Analyze({model, bank, current}); }
};

const DynamicStaticFinding& At(const DetectorReport& report, size_t i) {
  return std::get<DynamicStaticFinding>(report.findings.at(i));
}
// A finding of a temporary report would dangle.
const DynamicStaticFinding& At(DetectorReport&& report, size_t i) = delete;

TEST(DynamicStaticDetectorTest, RequestsRangesBeforeAndAfterEveryLayer) {
  ModelDescription model;
  model.layers = {Layer("fc", LayerKind::kLinear), Layer("conv", LayerKind::kConv2d)};
  const auto requests = MakeDynamicStaticDetector({})->RequestObservers(model);
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].key, (PointKey{"fc", ObservationPosition::kPre}));
  EXPECT_EQ(requests[1].key, (PointKey{"fc", ObservationPosition::kPost}));
  EXPECT_EQ(requests[3].key, (PointKey{"conv", ObservationPosition::kPost}));
  for (const auto& r : requests) EXPECT_EQ(r.options.statistics, kRangeStatistics);
  EXPECT_EQ(MakeDynamicStaticDetector({})->name(), "dynamic_vs_static_detector");
}

// Produced by the reference: nn.Linear(2, 2) with weight [[1, -2], [0.5, 3]], bias
// [0.1, -0.2], three input batches, prepare_fx (qnnpack default qconfig), ModelReport with
// DynamicStaticDetector(); the outputs below are the Linear's outputs the post observer saw.
// Reference: input comp stat 0.4000000059604645 (non-stationary), output 0.6126984357833862
// (stationary), dynamic_recommended False, is_dynamic_supported True.
TEST(DynamicStaticDetectorTest, MatchesReferenceOnLinear) {
  Fixture f({Layer("0", LayerKind::kLinear)});
  const std::vector<std::vector<float>> inputs = {
      {0.0f, 1.0f, 2.0f, 0.5f}, {1.0f, 1.0f, 1.5f, 3.0f}, {-1.0f, 0.0f, 0.0f, -2.0f}};
  const std::vector<std::vector<float>> outputs = {
      {-1.89999998f, 2.79999995f, 1.10000002f, 2.29999995f},
      {-0.89999998f, 3.29999995f, -4.4000001f, 9.55000019f},
      {-0.89999998f, -0.69999999f, 4.0999999f, -6.19999981f}};
  for (size_t b = 0; b < inputs.size(); ++b) {
    f.Feed("0", ObservationPosition::kPre, inputs[b]);
    f.Feed("0", ObservationPosition::kPost, outputs[b]);
  }
  const DetectorReport report = f.Analyze();
  EXPECT_EQ(report.detector, "dynamic_vs_static_detector");
  ASSERT_EQ(report.findings.size(), 1u);
  const DynamicStaticFinding& finding = At(report, 0);
  EXPECT_EQ(finding.fqn, "0");
  EXPECT_DOUBLE_EQ(finding.tolerance, 0.5);
  EXPECT_NEAR(*finding.input_ratio, 0.4000000059604645, 1e-6);
  EXPECT_NEAR(*finding.output_ratio, 0.6126984357833862, 1e-6);
  EXPECT_FALSE(finding.input_stationary);
  EXPECT_TRUE(finding.output_stationary);
  EXPECT_FALSE(finding.dynamic_recommended);
  EXPECT_TRUE(finding.dynamic_supported);
  EXPECT_FALSE(finding.problem.has_value());
  ASSERT_EQ(report.advice.size(), 1u);
  EXPECT_EQ(report.advice[0].dynamic_activation, false);
  EXPECT_FALSE(report.advice[0].per_channel_weight.has_value());
}

// The spec's worked example (§2.2): batches [0, 1], [0, 3], [-10, 0] give average range
// 14/3 over the epoch range 13: S = 0.358974 <= 0.5, so dynamic, for a Linear only.
TEST(DynamicStaticDetectorTest, DynamicOnlyWhereSupported) {
  Fixture f({Layer("fc", LayerKind::kLinear), Layer("conv", LayerKind::kConv2d)});
  const std::vector<std::vector<float>> batches = {{0, 1}, {0, 3}, {-10, 0}};
  f.FeedBoth("fc", batches);
  f.FeedBoth("conv", batches);
  const DetectorReport report = f.Analyze();
  ASSERT_EQ(report.findings.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(*At(report, i).output_ratio, 14.0 / 3.0 / 13.0, 1e-6);
    EXPECT_NEAR(*At(report, i).input_ratio, 14.0 / 3.0 / 13.0, 1e-6);
    EXPECT_TRUE(At(report, i).dynamic_recommended);
    EXPECT_FALSE(At(report, i).output_stationary);
  }
  EXPECT_TRUE(At(report, 0).dynamic_supported);
  EXPECT_FALSE(At(report, 1).dynamic_supported);
  ASSERT_EQ(report.advice.size(), 2u);
  EXPECT_EQ(report.advice[0].dynamic_activation, true);
  EXPECT_EQ(report.advice[1].dynamic_activation, false);
}

// Ranges 1 and 1 over an epoch range of 2: S = 0.5 exactly, not > 0.5, so non-stationary
// and dynamic (the reference's <= / > split).
TEST(DynamicStaticDetectorTest, RatioEqualToToleranceIsDynamic) {
  Fixture f({Layer("fc", LayerKind::kLinear)});
  f.FeedBoth("fc", {{0, 1}, {1, 2}});
  const DetectorReport report_finding = f.Analyze();
  const DynamicStaticFinding& finding = At(report_finding, 0);
  EXPECT_DOUBLE_EQ(*finding.output_ratio, 0.5);
  EXPECT_FALSE(finding.output_stationary);
  EXPECT_TRUE(finding.dynamic_recommended);
}

TEST(DynamicStaticDetectorTest, ToleranceOptionMoves) {
  DynamicStaticOptions options;
  options.tolerance = 0.3;
  Fixture f({Layer("fc", LayerKind::kLinear)});
  f.detector = MakeDynamicStaticDetector(options);
  f.FeedBoth("fc", {{0, 1}, {0, 3}, {-10, 0}});  // S = 0.359
  const DetectorReport report_finding = f.Analyze();
  const DynamicStaticFinding& finding = At(report_finding, 0);
  EXPECT_DOUBLE_EQ(finding.tolerance, 0.3);
  EXPECT_TRUE(finding.output_stationary);
  EXPECT_FALSE(finding.dynamic_recommended);
}

// The reference returns -0.0 for an observer that never ran and so recommends dynamic (Q1).
TEST(DynamicStaticDetectorTest, NeverCalledLayerIsAProblem) {
  Fixture f({Layer("fc", LayerKind::kLinear), Layer("unused", LayerKind::kLinear)});
  f.FeedBoth("fc", {{0, 1}, {0, 3}});
  const DetectorReport report = f.Analyze();
  const DynamicStaticFinding& unused = At(report, 1);
  ASSERT_TRUE(unused.problem.has_value());
  EXPECT_THAT(unused.problem->message, HasSubstr("never called during calibration"));
  EXPECT_FALSE(unused.dynamic_recommended);
  EXPECT_FALSE(unused.output_ratio.has_value());
  ASSERT_EQ(report.advice.size(), 1u) << "no advice for a layer that was not judged";
  EXPECT_EQ(report.advice[0].fqn, "fc");
}

// The reference raises "Range for Epoch is 0" and loses the whole report.
TEST(DynamicStaticDetectorTest, ConstantInputIsAProblemForThatLayerOnly) {
  Fixture f({Layer("fc", LayerKind::kLinear), Layer("fc2", LayerKind::kLinear)});
  f.Feed("fc", ObservationPosition::kPre, {3, 3, 3});
  f.Feed("fc", ObservationPosition::kPre, {3, 3});
  f.Feed("fc", ObservationPosition::kPost, {1, 2});
  f.Feed("fc", ObservationPosition::kPost, {1, 4});
  f.FeedBoth("fc2", {{0, 1}, {1, 2}});
  const DetectorReport report = f.Analyze();
  const DynamicStaticFinding& fc = At(report, 0);
  ASSERT_TRUE(fc.problem.has_value());
  EXPECT_THAT(fc.problem->message, HasSubstr("input was constant (3)"));
  EXPECT_FALSE(fc.input_ratio.has_value());
  EXPECT_NEAR(*fc.output_ratio, 2.0 / 3.0, 1e-6);  // still shown
  EXPECT_FALSE(At(report, 1).problem.has_value());
}

TEST(DynamicStaticDetectorTest, NonFiniteValuesAreLeftOutAndCounted) {
  Fixture f({Layer("fc", LayerKind::kLinear)});
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  f.Feed("fc", ObservationPosition::kPre, {0, 1});
  f.Feed("fc", ObservationPosition::kPre, {0, 3});
  f.Feed("fc", ObservationPosition::kPost, {0, 1, inf});
  f.Feed("fc", ObservationPosition::kPost, {nan, 0, 3, -inf});
  const DetectorReport report_finding = f.Analyze();
  const DynamicStaticFinding& finding = At(report_finding, 0);
  EXPECT_FALSE(finding.problem.has_value());
  EXPECT_EQ(finding.input_nonfinite, 0);
  EXPECT_EQ(finding.output_nonfinite, 3);
  EXPECT_NEAR(*finding.output_ratio, 2.0 / 3.0, 1e-6);
}

TEST(DynamicStaticDetectorTest, OnlyNonFiniteValuesIsAProblem) {
  Fixture f({Layer("fc", LayerKind::kLinear)});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  f.FeedBoth("fc", {{nan, nan}});
  const DetectorReport report_finding = f.Analyze();
  const DynamicStaticFinding& finding = At(report_finding, 0);
  ASSERT_TRUE(finding.problem.has_value());
  EXPECT_THAT(finding.problem->message, HasSubstr("no finite value"));
  EXPECT_EQ(finding.output_nonfinite, 2);
}

TEST(DynamicStaticDetectorTest, MissingObserverIsAProblem) {
  ModelDescription model;
  model.layers = {Layer("fc", LayerKind::kLinear)};
  ObserverBank empty({"fp", "m.pt"}, {});
  QConfigMapping current;
  const DetectorReport report = MakeDynamicStaticDetector({})->Analyze({model, empty, current});
  ASSERT_TRUE(At(report, 0).problem.has_value());
  EXPECT_THAT(At(report, 0).problem->message, HasSubstr("no range statistics"));
}

TEST(DynamicStaticDetectorTest, ValidatesTolerance) {
  for (double bad : {0.0, -0.5, 1.5, std::nan("")}) {
    DynamicStaticOptions options;
    options.tolerance = bad;
    try {
      MakeDynamicStaticDetector(options);
      ADD_FAILURE() << "accepted tolerance " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_THAT(e.what(), HasSubstr("tolerance must be in (0, 1]"));
    }
  }
  DynamicStaticOptions one;
  one.tolerance = 1.0;
  EXPECT_NO_THROW(MakeDynamicStaticDetector(one));
}

}  // namespace
}  // namespace qreport

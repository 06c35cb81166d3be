#include <cmath>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/detector.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// A layer whose weight `data` (kept alive by the fixture) has `shape`.
struct Fixture {
  ModelDescription model;
  std::vector<std::vector<float>> weight_data;
  std::unique_ptr<Detector> detector;
  ObserverBank bank{{"fp", "m.pt"}, {}};
  QConfigMapping current;

  explicit Fixture(EqualizationOptions options = {})
      : detector(MakeEqualizationDetector(options)) {}

  void AddLayer(const std::string& fqn, LayerKind kind, std::vector<float> weight,
                std::vector<int64_t> shape, int64_t groups = 1,
                ModuleFamily family = ModuleFamily::kFloat) {
    LayerDescription layer;
    layer.fqn = fqn;
    layer.kind = kind;
    layer.family = family;
    layer.groups = groups;
    layer.weight_shape = shape;
    layer.input_channel_axis = kind == LayerKind::kLinear ? -1 : 1;
    model.layers.push_back(layer);
    weight_data.push_back(std::move(weight));
    model.weights.clear();  // views into weight_data, which may have moved
    for (size_t i = 0; i < model.layers.size(); ++i) {
      model.weights.push_back(
          TensorView::Contiguous(weight_data[i].data(), model.layers[i].weight_shape));
    }
  }
  void Prepare() {
    bank = ObserverBank({"fp", "m.pt"}, MergePointRequests(detector->RequestObservers(model)));
  }
  void Feed(const std::string& fqn, std::vector<float> values, std::vector<int64_t> shape) {
    bank.Observe(*bank.SlotOf({fqn, ObservationPosition::kPre}),
                 TensorView::Contiguous(values.data(), shape));
  }
  DetectorReport Analyze() const { return detector->Analyze({model, bank, current}); }
};

const EqualizationFinding& At(const DetectorReport& report, size_t i) {
  return std::get<EqualizationFinding>(report.findings.at(i));
}
// A finding of a temporary report would dangle.
const EqualizationFinding& At(DetectorReport&& report, size_t i) = delete;

void ExpectNear(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-6) << i;
}

TEST(EqualizationDetectorTest, RequestsInputChannelsAlongEachLayersAxis) {
  Fixture f;
  f.AddLayer("fc", LayerKind::kLinear, {1, 2}, {1, 2});
  f.AddLayer("conv", LayerKind::kConv1d, {1, 2}, {1, 2, 1});
  f.AddLayer("fused", LayerKind::kLinear, {1, 2}, {1, 2}, 1, ModuleFamily::kQatFused);
  f.AddLayer("custom", LayerKind::kLinear, {1, 2}, {1, 2}, 1, ModuleFamily::kCustom);
  f.AddLayer("qat", LayerKind::kConv2d, {1, 2}, {1, 2, 1, 1}, 1, ModuleFamily::kQat);
  const auto requests = f.detector->RequestObservers(f.model);
  ASSERT_EQ(requests.size(), 3u) << "float and torch.nn.qat layers only";
  EXPECT_EQ(requests[0].key, (PointKey{"fc", ObservationPosition::kPre}));
  EXPECT_EQ(requests[0].options.channel_axis, -1);
  EXPECT_EQ(requests[0].options.statistics, kChannelMinMaxStatistics);
  EXPECT_EQ(requests[1].options.channel_axis, 1);
  EXPECT_EQ(requests[2].key.fqn, "qat");
  EXPECT_EQ(f.detector->name(), "input_weight_equalization_detector");

  EqualizationOptions axis1;
  axis1.channel_axis = 1;
  EXPECT_EQ(MakeEqualizationDetector(axis1)->RequestObservers(f.model)[0].options.channel_axis, 1);
}

// The spec's worked example (§7), re-run with the reference: Linear weight [[1, -1], [2, 0]],
// one input batch [[0, 0], [4, 1]], InputWeightEqualizationDetector(0.5) in a ModelReport on
// the prepare_fx'ed model. Reference: comparison [0.57735026, 1.15470052], recommended
// [True, True]; input max [4, 1] min [0, 0]; weight max [2, 0] min [1, -1], global 2 / -1.
TEST(EqualizationDetectorTest, MatchesReferenceOnSpecExample) {
  Fixture f;
  f.AddLayer("0", LayerKind::kLinear, {1, -1, 2, 0}, {2, 2});
  f.Prepare();
  f.Feed("0", {0, 0, 4, 1}, {2, 2});
  const DetectorReport report = f.Analyze();
  ASSERT_EQ(report.findings.size(), 1u);
  const EqualizationFinding& e = At(report, 0);
  EXPECT_FALSE(e.problem.has_value());
  ExpectNear(e.comparison, {0.57735026, 1.15470052});
  EXPECT_THAT(e.channel_recommended, ElementsAre(true, true));
  EXPECT_TRUE(e.recommended);
  EXPECT_DOUBLE_EQ(e.threshold, 0.5);
  EXPECT_EQ(e.channel_axis, -1);
  EXPECT_THAT(e.input_channel_max, ElementsAre(4, 1));
  EXPECT_THAT(e.input_channel_min, ElementsAre(0, 0));
  EXPECT_EQ(e.input_global_max, 4);
  EXPECT_EQ(e.input_global_min, 0);
  EXPECT_THAT(e.weight_channel_max, ElementsAre(2, 0));
  EXPECT_THAT(e.weight_channel_min, ElementsAre(1, -1));
  EXPECT_EQ(e.weight_global_max, 2);
  EXPECT_EQ(e.weight_global_min, -1);
  ASSERT_EQ(report.advice.size(), 1u);
  EXPECT_EQ(report.advice[0].equalization, true);
}

// Reference: Conv1d(4, 4, 1, groups=2) with the weight below and two input batches of shape
// (1, 4, 3): the weight's 2 per-group channel ratios are tiled over the 4 input channels.
// comparison [0.87831002, 3.0, 0.69436508, 3.58568573], recommended [T, F, T, F] (2/4 "to use").
TEST(EqualizationDetectorTest, TilesGroupedConvWeightOverInputChannels) {
  Fixture f;
  f.AddLayer("0", LayerKind::kConv1d, {1, -3, 2, 0.5, 0.25, 4, -1, 1}, {4, 2, 1}, 2);
  f.Prepare();
  f.Feed("0", {1, 2, 3, 0, 0.5, -0.5, 4, -4, 0, 1, 1, 1.5}, {1, 4, 3});
  f.Feed("0", {0, 2, 5, 0.2f, 0.1f, -0.1f, 3, -2, 0, 1, 0.8f, 1.2f}, {1, 4, 3});
  const DetectorReport report_e = f.Analyze();
  const EqualizationFinding& e = At(report_e, 0);
  ASSERT_FALSE(e.problem.has_value()) << e.problem->message;
  ExpectNear(e.comparison, {0.87831002, 3.0, 0.69436508, 3.58568573});
  EXPECT_THAT(e.channel_recommended, ElementsAre(true, false, true, false));
  EXPECT_TRUE(e.recommended);
  EXPECT_THAT(e.weight_channel_max, ElementsAre(2, 4));
  EXPECT_THAT(e.weight_channel_min, ElementsAre(-1, -3));
  EXPECT_THAT(e.input_channel_max, ElementsAre(5, 0.5, 4, 1.5));
  EXPECT_THAT(e.input_channel_min, ElementsAre(0, -0.5, -4, 0.8f));
}

// Spec B8: a Linear mixes its input's last axis. Expected values: the reference on the same
// input flattened to (T, C) = (2, 3), where its axis 1 is the right one: comparison
// [0.66143781, 0.76376259, 1.08012342], all recommended. On the (1, 2, 3) tensor itself the
// reference fails ("input channels should be divisible by weight channels.").
TEST(EqualizationDetectorTest, LinearOnThreeDimensionalInputUsesLastAxis) {
  const std::vector<float> weight = {1, 0, -2, 0.5, 1, 2};
  const std::vector<float> input = {1, -1, 6, 3, 2, 0};
  Fixture f;
  f.AddLayer("0", LayerKind::kLinear, weight, {2, 3});
  f.Prepare();
  f.Feed("0", input, {1, 2, 3});
  const DetectorReport report_e = f.Analyze();
  const EqualizationFinding& e = At(report_e, 0);
  ASSERT_FALSE(e.problem.has_value()) << e.problem->message;
  ExpectNear(e.comparison, {0.66143781, 0.76376259, 1.08012342});
  EXPECT_THAT(e.channel_recommended, ElementsAre(true, true, true));
  EXPECT_THAT(e.input_channel_max, ElementsAre(3, 2, 6));

  EqualizationOptions axis1;  // the reference's fixed axis: 2 "channels" for 3 weight ones
  axis1.channel_axis = 1;
  Fixture g(axis1);
  g.AddLayer("0", LayerKind::kLinear, weight, {2, 3});
  g.Prepare();
  g.Feed("0", input, {1, 2, 3});
  const DetectorReport report = g.Analyze();
  ASSERT_TRUE(At(report, 0).problem.has_value());
  EXPECT_THAT(At(report, 0).problem->message,
              HasSubstr("2 channels along axis 1, not a multiple of the weight's 3"));
  EXPECT_TRUE(report.advice.empty());
}

// Weight channel ranges all 1 (W = 1); input channel ranges 5, 5, 0 (constant), 0.5, 0.5 of
// I = 5: s = 1, 1, inf, sqrt(10), sqrt(10). 2 of 5 = 40% benefit: exactly the bar.
TEST(EqualizationDetectorTest, FortyPercentOfChannelsIsEnough) {
  Fixture f;
  f.AddLayer("fc", LayerKind::kLinear, {0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, {2, 5});
  f.Prepare();
  f.Feed("fc", {0, 5, 2, 0, 1, 5, 0, 2, 0.5, 1.5}, {2, 5});
  const DetectorReport report_e = f.Analyze();
  const EqualizationFinding& e = At(report_e, 0);
  ASSERT_FALSE(e.problem.has_value());
  ExpectNear({e.comparison[0], e.comparison[1], e.comparison[3]}, {1, 1, std::sqrt(10.0)});
  EXPECT_TRUE(std::isinf(e.comparison[2])) << "a constant input channel: s = inf, no error";
  EXPECT_THAT(e.channel_recommended, ElementsAre(true, true, false, false, false));
  EXPECT_TRUE(e.recommended);
}

TEST(EqualizationDetectorTest, FewerThanFortyPercentIsNotRecommended) {
  Fixture f;
  f.AddLayer("fc", LayerKind::kLinear, {0, 0, 0, 1, 1, 1}, {2, 3});
  f.Prepare();
  f.Feed("fc", {0, 5, 0, 5, 5, 0.5}, {2, 3});  // s = 1, inf, sqrt(10)
  const DetectorReport report = f.Analyze();
  EXPECT_THAT(At(report, 0).channel_recommended, ElementsAre(true, false, false));
  EXPECT_FALSE(At(report, 0).recommended);
  EXPECT_EQ(report.advice.at(0).equalization, false);
}

TEST(EqualizationDetectorTest, ThresholdBoundsAreInclusive) {
  EqualizationOptions options;
  options.ratio_threshold = 0.25;
  Fixture f(options);
  // W = 1, w_c = 1; I = 16 with channel ranges 16 and 1: s = 1 and 4 = 1 / 0.25.
  f.AddLayer("fc", LayerKind::kLinear, {0, 0, 1, 1}, {2, 2});
  f.Prepare();
  f.Feed("fc", {0, 0, 16, 1}, {2, 2});
  const DetectorReport report_e = f.Analyze();
  const EqualizationFinding& e = At(report_e, 0);
  ExpectNear(e.comparison, {1, 4});
  EXPECT_THAT(e.channel_recommended, ElementsAre(true, true));
}

// The reference raises for a zero global range, weight first, and loses the report.
TEST(EqualizationDetectorTest, ConstantWeightOrInputIsAProblem) {
  Fixture f;
  f.AddLayer("flat_weight", LayerKind::kLinear, {2, 2, 2, 2}, {2, 2});
  f.AddLayer("flat_input", LayerKind::kLinear, {1, 2, 3, 4}, {2, 2});
  f.AddLayer("ok", LayerKind::kLinear, {1, 2, 3, 4}, {2, 2});
  f.Prepare();
  for (const char* fqn : {"flat_weight", "flat_input"}) f.Feed(fqn, {7, 7, 7, 7}, {2, 2});
  f.Feed("ok", {1, 2, 3, 4}, {2, 2});
  const DetectorReport report = f.Analyze();
  ASSERT_EQ(report.findings.size(), 3u);
  EXPECT_THAT(At(report, 0).problem->message, HasSubstr("the weight is constant (2)"));
  EXPECT_THAT(At(report, 1).problem->message, HasSubstr("the input was constant (7)"));
  EXPECT_FALSE(At(report, 2).problem.has_value());
  ASSERT_EQ(report.advice.size(), 1u);
  EXPECT_EQ(report.advice[0].fqn, "ok");
}

TEST(EqualizationDetectorTest, NeverCalledLayerIsAProblem) {
  Fixture f;
  f.AddLayer("fc", LayerKind::kLinear, {1, 2, 3, 4}, {2, 2});
  f.Prepare();
  const DetectorReport report_e = f.Analyze();
  const EqualizationFinding& e = At(report_e, 0);
  ASSERT_TRUE(e.problem.has_value());
  EXPECT_THAT(e.problem->message, HasSubstr("never called during calibration"));
  EXPECT_THAT(e.weight_channel_max, ElementsAre(3, 4)) << "weight statistics still shown";
}

TEST(EqualizationDetectorTest, InputWithoutTheAxisIsAProblem) {
  Fixture f;
  f.AddLayer("conv", LayerKind::kConv1d, {1, 2, 3, 4}, {2, 2, 1});
  f.Prepare();
  f.Feed("conv", {1, 2, 3}, {3});  // a 1-D tensor has no axis 1
  const DetectorReport report_e = f.Analyze();
  const EqualizationFinding& e = At(report_e, 0);
  ASSERT_TRUE(e.problem.has_value());
  EXPECT_THAT(e.problem->message, HasSubstr("no axis 1"));
}

TEST(EqualizationDetectorTest, ValidatesOptions) {
  for (double bad : {0.0, 1.0, -1.0, std::nan("")}) {
    EqualizationOptions options;
    options.ratio_threshold = bad;
    EXPECT_THROW(MakeEqualizationDetector(options), Error) << bad;
  }
  EqualizationOptions axis;
  axis.channel_axis = 9;
  try {
    MakeEqualizationDetector(axis);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr("channel axis 9 is out of range"));
  }
}

}  // namespace
}  // namespace qreport

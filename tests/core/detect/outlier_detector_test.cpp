#include <cmath>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/detector.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Fixture {
  ModelDescription model;
  std::vector<std::unique_ptr<Detector>> detectors;
  ObserverBank bank{{"fp", "m.pt"}, {}};
  QConfigMapping current;

  void Prepare() {
    std::vector<PointRequest> requests;
    for (const auto& d : detectors) {
      for (const PointRequest& r : d->RequestObservers(model)) requests.push_back(r);
    }
    bank = ObserverBank({"fp", "m.pt"}, MergePointRequests(requests));
  }
  // Feeds every observer at the module's input, as calibration does.
  void Feed(const std::string& fqn, std::vector<float> values, std::vector<int64_t> shape) {
    for (size_t slot = 0; slot < bank.size(); ++slot) {
      if (bank.key(slot) == PointKey{fqn, ObservationPosition::kPre}) {
        bank.Observe(slot, TensorView::Contiguous(values.data(), shape));
      }
    }
  }
  DetectorReport Analyze(size_t detector = 0) const {
    return detectors.at(detector)->Analyze({model, bank, current});
  }
};

const OutlierFinding& At(const DetectorReport& report, size_t i) {
  return std::get<OutlierFinding>(report.findings.at(i));
}
// A finding of a temporary report would dangle.
const OutlierFinding& At(DetectorReport&& report, size_t i) = delete;

// Four (8, 4) batches: channel 0 with one spike per batch, channel 1 zero in every batch,
// channel 2 constant (2.5) in batches 0 and 2, channel 3 negative.
std::vector<std::vector<float>> ReferenceBatches() {
  std::vector<std::vector<float>> batches;
  for (int i = 0; i < 4; ++i) {
    std::vector<float> b(32);
    for (int k = 0; k < 32; ++k) b[k] = static_cast<float>(k) / 8.0f + static_cast<float>(i);
    for (int row = 0; row < 8; ++row) {
      b[row * 4 + 1] = 0.0f;
      if (i % 2 == 0) b[row * 4 + 2] = 2.5f;
      b[row * 4 + 3] = -b[row * 4 + 3];
    }
    b[3 * 4 + 0] = 1000.0f * static_cast<float>(i + 1);
    batches.push_back(b);
  }
  return batches;
}

Fixture LinearModel(OutlierOptions options = {}) {
  Fixture f;
  LayerDescription layer;
  layer.fqn = "0";
  layer.input_channel_axis = -1;
  f.model.layers.push_back(layer);
  f.model.leaf_modules = {{"0", "torch.nn.modules.linear.Linear", 1, ""}};
  f.detectors.push_back(MakeOutlierDetector(options));
  f.Prepare();
  return f;
}

TEST(OutlierDetectorTest, RequestsEveryLeafInputWithItsOwnPercentile) {
  Fixture f;
  LayerDescription fc;
  fc.fqn = "fc";
  fc.input_channel_axis = -1;
  f.model.layers = {fc};
  f.model.leaf_modules = {{"fc", "torch.nn.modules.linear.Linear", 1, ""},
                          {"relu", "torch.nn.modules.activation.ReLU", 1, ""},
                          {"const", "my.Constant", 0, ""}};
  const auto requests = MakeOutlierDetector({})->RequestObservers(f.model);
  ASSERT_EQ(requests.size(), 2u) << "modules without tensor inputs are skipped";
  EXPECT_EQ(requests[0].key, (PointKey{"fc", ObservationPosition::kPre}));
  EXPECT_EQ(requests[0].options.channel_axis, -1) << "a Linear's channels are its last axis";
  EXPECT_EQ(requests[1].options.channel_axis, 1);
  EXPECT_EQ(requests[1].options.comp_percentile, 0.975f);
  EXPECT_EQ(requests[1].options.statistics, kAllStatistics);
  EXPECT_EQ(MakeOutlierDetector({})->name(), "outlier_detector");
}

// A BatchNorm folded into its conv has no input in the fused model: not observed, and listed
// as such rather than dropped without a word.
TEST(OutlierDetectorTest, FoldedBatchNormsAreListedNotObserved) {
  Fixture f;
  LayerDescription conv;
  conv.fqn = "conv";
  conv.fusion.batch_norm_fqn = "bn";
  f.model.layers = {conv};
  f.model.leaf_modules = {{"conv", "torch.nn.modules.conv.Conv2d", 1, ""},
                          {"bn", "torch.nn.modules.batchnorm.BatchNorm2d", 1, "conv"},
                          {"relu", "torch.nn.modules.activation.ReLU", 1, ""}};
  f.detectors.push_back(MakeOutlierDetector({}));
  f.Prepare();
  ASSERT_EQ(f.bank.size(), 2u);
  EXPECT_EQ(f.bank.key(0).fqn, "conv");
  EXPECT_EQ(f.bank.key(1).fqn, "relu");
  std::vector<float> x = {1, 2, 3, 4};
  f.Feed("conv", x, {1, 1, 2, 2});
  f.Feed("relu", x, {1, 1, 2, 2});
  const DetectorReport report = f.Analyze();
  ASSERT_EQ(report.findings.size(), 2u);
  EXPECT_EQ(At(report, 0).fqn, "conv");
  EXPECT_EQ(At(report, 1).fqn, "relu");
  ASSERT_EQ(report.not_observed.size(), 1u);
  EXPECT_EQ(report.not_observed[0].fqn, "bn");
  EXPECT_EQ(report.not_observed[0].module_type, "torch.nn.modules.batchnorm.BatchNorm2d");
  EXPECT_EQ(report.not_observed[0].reason, "folded into conv");
}

// Produced by the reference: the batches above through nn.Sequential(nn.Linear(4, 2)),
// prepare_fx (qnnpack), ModelReport with OutlierDetector() (defaults 3.5, 0.975, 0.95, axis 1):
//   outlier_detection_percentile_ratios [472.7494812, inf, 1.04941177, 1.39911032]
//   outlier_detection_batches_used [4, 0, 4, 4]
//   outliers_detected [True, True, False, False]
//   outlier_detection_is_sufficient_batches [True, False, True, True]
//   constant_batch_counts [0, 4, 2, 0]
//   input_activation_per_channel_max [4000.0, 0.0, 6.75, -0.375]
// Channel 1 differs on purpose (spec B6): zero in every batch is a dead channel, no ratio.
TEST(OutlierDetectorTest, MatchesReferenceExceptForTheDeadChannel) {
  Fixture f = LinearModel();
  for (auto& b : ReferenceBatches()) f.Feed("0", b, {8, 4});
  const DetectorReport report = f.Analyze();
  EXPECT_EQ(report.detector, "outlier_detector");
  EXPECT_TRUE(report.advice.empty());
  ASSERT_EQ(report.findings.size(), 1u);
  const OutlierFinding& o = At(report, 0);
  EXPECT_FALSE(o.problem.has_value());
  EXPECT_EQ(o.fqn, "0");
  EXPECT_EQ(o.module_type, "torch.nn.modules.linear.Linear");
  EXPECT_EQ(o.channel_axis, -1);
  EXPECT_DOUBLE_EQ(o.reference_percentile, 0.975);
  EXPECT_DOUBLE_EQ(o.ratio_threshold, 3.5);
  EXPECT_EQ(o.total_batches, 4);
  ASSERT_EQ(o.ratios.size(), 4u);
  EXPECT_NEAR(o.ratios[0], 472.7494812, 472.7494812 * 1e-6);
  EXPECT_TRUE(std::isnan(o.ratios[1]));
  EXPECT_NEAR(o.ratios[2], 1.04941177, 1e-6);
  EXPECT_NEAR(o.ratios[3], 1.39911032, 1e-6);
  EXPECT_THAT(o.batches_used, ElementsAre(4, 0, 4, 4));
  EXPECT_THAT(o.outliers, ElementsAre(true, false, false, false));
  EXPECT_THAT(o.dead_channels, ElementsAre(false, true, false, false));
  EXPECT_THAT(o.sufficient_batches, ElementsAre(true, false, true, true));
  EXPECT_THAT(o.constant_batches, ElementsAre(0, 4, 2, 0));
  EXPECT_THAT(o.channel_max, ElementsAre(4000.0f, 0.0f, 6.75f, -0.375f));
}

TEST(OutlierDetectorTest, ThresholdAndFractionOptions) {
  OutlierOptions options;
  options.ratio_threshold = 1.2;  // now channel 3 (1.399) is an outlier too
  options.fraction_batches_used_threshold = 0.75;
  Fixture f = LinearModel(options);
  const auto batches = ReferenceBatches();
  for (size_t i = 0; i < batches.size(); ++i) {
    std::vector<float> b = batches[i];
    if (i == 3) {
      for (int row = 0; row < 8; ++row) b[row * 4 + 2] = 0.0f;  // channel 2 unused once
    }
    f.Feed("0", b, {8, 4});
  }
  const DetectorReport report_o = f.Analyze();
  const OutlierFinding& o = At(report_o, 0);
  EXPECT_THAT(o.outliers, ElementsAre(true, false, false, true));
  EXPECT_THAT(o.batches_used, ElementsAre(4, 0, 3, 4));
  EXPECT_THAT(o.sufficient_batches, ElementsAre(true, false, true, true)) << "3/4 >= 0.75";
  EXPECT_FALSE(o.dead_channels[2]) << "not zero in every batch";
}

// Spec B12: a second detector asking for another percentile at the same point gets its own
// observer; each reads the statistics it asked for.
TEST(OutlierDetectorTest, EachPercentileGetsItsOwnObserver) {
  Fixture f;
  f.model.leaf_modules = {{"relu", "torch.nn.modules.activation.ReLU", 1, ""}};
  OutlierOptions median;
  median.reference_percentile = 0.5;
  f.detectors.push_back(MakeOutlierDetector({}));
  f.detectors.push_back(MakeOutlierDetector(median));
  f.Prepare();
  ASSERT_EQ(f.bank.size(), 2u);
  // One channel (axis 1) with values 1..9 and 100: lower quantiles 0.975 -> 9, 0.5 -> 5.
  f.Feed("relu", {1, 2, 3, 4, 5, 6, 7, 8, 9, 100}, {1, 1, 10});
  const DetectorReport default_percentile = f.Analyze(0), median_percentile = f.Analyze(1);
  EXPECT_NEAR(At(default_percentile, 0).ratios[0], 100.0 / 9.0, 1e-5);
  EXPECT_NEAR(At(median_percentile, 0).ratios[0], 100.0 / 5.0, 1e-5);
  EXPECT_DOUBLE_EQ(At(median_percentile, 0).reference_percentile, 0.5);
}

TEST(OutlierDetectorTest, RatiosBelowOneAreInverted) {
  Fixture f;
  f.model.leaf_modules = {{"bn", "torch.nn.modules.batchnorm.BatchNorm1d", 1, ""}};
  f.detectors.push_back(MakeOutlierDetector({}));
  f.Prepare();
  // Channel max -1, 0.975-quantile -2 (of -4..-1 with 4 values: index floor(2.925) = 2):
  // ratio 0.5 -> 2.
  f.Feed("bn", {-4, -3, -2, -1}, {1, 1, 4});
  const DetectorReport report_o = f.Analyze();
  const OutlierFinding& o = At(report_o, 0);
  EXPECT_DOUBLE_EQ(o.ratios[0], 2.0);
  EXPECT_FALSE(o.outliers[0]);
}

TEST(OutlierDetectorTest, NeverCalledOrAxislessInputIsAProblem) {
  Fixture f;
  f.model.leaf_modules = {{"unused", "torch.nn.modules.activation.ReLU", 1, ""},
                          {"flat", "torch.nn.modules.activation.ReLU", 1, ""}};
  f.detectors.push_back(MakeOutlierDetector({}));
  f.Prepare();
  f.Feed("flat", {1, 2, 3}, {3});
  const DetectorReport report = f.Analyze();
  ASSERT_EQ(report.findings.size(), 2u);
  EXPECT_THAT(At(report, 0).problem->message, HasSubstr("never called during calibration"));
  EXPECT_THAT(At(report, 1).problem->message, HasSubstr("no axis 1"));
  EXPECT_EQ(At(report, 1).total_batches, 1);
}

TEST(OutlierDetectorTest, ValidatesOptions) {
  auto rejects = [](OutlierOptions options, const char* what) {
    try {
      MakeOutlierDetector(options);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_THAT(e.what(), HasSubstr(what));
    }
  };
  OutlierOptions o;
  o.ratio_threshold = 0;
  rejects(o, "ratio threshold must be > 0");
  o = {};
  o.reference_percentile = 1.0;
  rejects(o, "reference percentile must be in (0, 1)");
  o = {};
  o.reference_percentile = 0.0;
  rejects(o, "reference percentile must be in (0, 1)");
  o = {};
  o.fraction_batches_used_threshold = 1.5;
  rejects(o, "fraction of batches used must be in [0, 1]");
  o = {};
  o.channel_axis = -9;
  rejects(o, "channel axis -9 is out of range");
  o = {};
  o.fraction_batches_used_threshold = 0;
  EXPECT_NO_THROW(MakeOutlierDetector(o));
}

}  // namespace
}  // namespace qreport

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/report.h"

namespace qreport {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Report Sample() {
  Report report;
  report.model_path = "model.pt";
  report.batches = 30;
  DetectorReport pc{"per_channel_detector", {}, {}, {}};
  for (const auto& [fqn, used, quantized, source] :
       std::vector<std::tuple<std::string, bool, bool, std::string>>{
           {"conv1", false, true, "default_qconfig"},
           {"layer1.0.conv1", true, true, "the model's fake-quant"},
           {"fc", false, false, "--qconfig"}}) {
    PerChannelFinding f;
    f.fqn = fqn;
    f.backend = Backend::kQnnpack;
    f.per_channel_supported = true;
    f.per_channel_used = used;
    f.quantized = quantized;
    f.configuration_source = source;
    pc.findings.emplace_back(f);
  }
  report.detectors.push_back(pc);

  DetectorReport ds{"dynamic_vs_static_detector", {}, {}, {}};
  DynamicStaticFinding stat;
  stat.fqn = "layer1.0.conv1";
  stat.input_ratio = 0.4;
  stat.output_ratio = 0.6127;
  stat.output_stationary = true;
  ds.findings.emplace_back(stat);
  DynamicStaticFinding dyn;
  dyn.fqn = "fc";
  dyn.input_ratio = 0.359;
  dyn.output_ratio = 0.31;
  dyn.dynamic_recommended = true;
  dyn.dynamic_supported = true;
  dyn.output_nonfinite = 3;
  ds.findings.emplace_back(dyn);
  DynamicStaticFinding conv = dyn;
  conv.fqn = "conv1";
  conv.dynamic_supported = false;
  conv.output_nonfinite = 0;
  ds.findings.emplace_back(conv);
  DynamicStaticFinding never;
  never.fqn = "head";
  never.problem = Problem{"layer was never called during calibration"};
  ds.findings.emplace_back(never);
  report.detectors.push_back(ds);

  DetectorReport iwe{"input_weight_equalization_detector", {}, {}, {}};
  EqualizationFinding eq;
  eq.fqn = "fc";
  eq.channel_axis = -1;
  eq.channel_recommended = {true, true, false};
  eq.comparison = {0.57735, 1.1547, std::numeric_limits<double>::infinity()};
  eq.recommended = true;
  iwe.findings.emplace_back(eq);
  EqualizationFinding flat;
  flat.fqn = "conv1";
  flat.problem = Problem{"the weight is constant (2): no range to compare"};
  iwe.findings.emplace_back(flat);
  report.detectors.push_back(iwe);

  DetectorReport out{"outlier_detector", {}, {}, {}};
  OutlierFinding o;
  o.fqn = "linear.0";
  o.module_type = "torch.nn.modules.linear.Linear";
  o.total_batches = 30;
  o.ratios = {3.28e8, std::nan(""), 1.05, 1.4};
  o.outliers = {true, false, false, false};
  o.dead_channels = {false, true, false, false};
  o.sufficient_batches = {false, false, true, true};
  o.batches_used = {27, 0, 30, 30};
  o.constant_batches = {0, 30, 3, 0};
  o.channel_max = {3.28e8f, 0, 6.75f, -0.375f};
  out.findings.emplace_back(o);
  OutlierFinding quiet;
  quiet.fqn = "relu";
  quiet.module_type = "torch.nn.modules.activation.ReLU";
  quiet.ratios = {1.1};
  quiet.outliers = {false};
  quiet.dead_channels = {false};
  quiet.sufficient_batches = {true};
  quiet.batches_used = {30};
  quiet.constant_batches = {0};
  quiet.channel_max = {2};
  out.findings.emplace_back(quiet);
  report.detectors.push_back(out);
  return report;
}

// The whole report for a small sample; update deliberately when the wording changes.
TEST(ReportTextTest, RendersEveryDetector) {
  const std::string expected = R"(qreport: model.pt, 30 calibration batches

== Per-channel weights: per_channel_detector, backend qnnpack ==
  3 layers: 1 can switch to per-channel weights, 1 already per-channel, 1 left in float.
  conv1           switch to per-channel weights: per-tensor now (from default_qconfig)
  layer1.0.conv1  per-channel weights already (from the model's fake-quant)
  fc              left in float (from --qconfig); per-channel weights supported

== Dynamic vs static activations: dynamic_vs_static_detector, tolerance 0.5 ==
  ratio = average batch range / range over all batches; > 0.5: stationary, static fits
  4 layers: 1 dynamic, 1 dynamic but unsupported, 1 static, 1 not judged.
  layer1.0.conv1  static: output ratio 0.613 > 0.5 (input 0.4)
                  input non-stationary: a dynamic quantize before the layer may help
  fc              dynamic: output ratio 0.31 <= 0.5 (input 0.359)
                  left out NaN/Inf values: 0 in the input, 3 in the output
  conv1           dynamic (unsupported, Linear only): output ratio 0.31 <= 0.5 (input 0.359)
  head            not judged: layer was never called during calibration

== Input-weight equalization: input_weight_equalization_detector, threshold 0.5 ==
  s_c = sqrt(weight range_c / weight range) / sqrt(input range_c / input range)
  a channel benefits if 0.5 <= s_c <= 2; equalize if >= 40% benefit
  2 layers: 1 would benefit from equalization, 1 not judged.
  fc     equalize: 2 of 3 channels benefit (67%), s_c 0.577 to 1.15, input axis -1
  conv1  not judged: the weight is constant (2): no range to compare

== Outliers in module inputs: outlier_detector, ratio threshold 3.5, percentile 0.975 ==
  ratio = channel max / its 0.975 percentile, averaged over batches; outlier if > 3.5
  2 modules: 1 with outlier channels, 1 with dead channels; 1 without findings not listed.
  linear.0 (Linear)  outliers in 1 of 4 channels (axis 1): 0
                     largest: channel 0, ratio 3.28e+08, max 3.28e+08
                     ratio from too few batches: 0 (27/30)
                     dead channels (zero in every batch, axis 1): 1
                     constant in some batches: 2 (up to 3 of 30 batches)
  Outlier ratios mean most for stationary inputs (see dynamic_vs_static_detector).
)";
  EXPECT_EQ(RenderReportText(Sample()), expected);
}

TEST(ReportTextTest, TheHeaderSaysHowManyThreadsCalibrated) {
  Report report = Sample();
  report.threads = 1;
  EXPECT_THAT(RenderReportText(report), StartsWith("qreport: model.pt, 30 calibration batches on "
                                                   "1 thread\n"));
  report.threads = 2;
  EXPECT_THAT(RenderReportText(report), StartsWith("qreport: model.pt, 30 calibration batches on "
                                                   "2 threads\n"));
}

TEST(ReportTextTest, IsDeterministicAndFitsTheTerminal) {
  const std::string text = RenderReportText(Sample());
  EXPECT_EQ(text, RenderReportText(Sample()));
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    EXPECT_LT(end - start, 100u) << text.substr(start, end - start);
    start = end + 1;
  }
}

// A 200-layer model: a long name gets a line of its own, long channel lists are cut.
TEST(ReportTextTest, LongNamesAndManyChannelsStayCompact) {
  Report report;
  report.model_path = "big.pt";
  report.batches = 1;
  DetectorReport out{"outlier_detector", {}, {}, {}};
  OutlierFinding o;
  o.fqn = "encoder.layers.11.self_attention.output_projection.dense";
  o.total_batches = 1;
  for (int c = 0; c < 20; ++c) {
    o.ratios.push_back(10.0 + c);
    o.outliers.push_back(true);
    o.dead_channels.push_back(false);
    o.sufficient_batches.push_back(true);
    o.batches_used.push_back(1);
    o.constant_batches.push_back(0);
    o.channel_max.push_back(5.0f);
  }
  out.findings.emplace_back(o);
  OutlierFinding short_name = o;
  short_name.fqn = "fc";
  out.findings.emplace_back(short_name);
  report.detectors.push_back(out);
  const std::string text = RenderReportText(report);
  EXPECT_THAT(text, HasSubstr("  encoder.layers.11.self_attention.output_projection.dense\n"
                              "                                        outliers in 20 of 20 "
                              "channels (axis 1): 0, 1, 2, 3, 4, 5, 6, 7 and 12 more\n"));
  EXPECT_THAT(text, HasSubstr("largest: channel 19, ratio 29, max 5\n"));
  EXPECT_THAT(text, HasSubstr("\n  fc                                    outliers in 20"));
}

TEST(ReportTextTest, AnUnboundedRatioSaysWhatItMeans) {
  Report report;
  report.batches = 8;
  DetectorReport out{"outlier_detector", {}, {}, {}};
  OutlierFinding o;
  o.fqn = "conv";
  o.total_batches = 8;
  o.ratios = {1.2, 4.25e37};
  o.outliers = {false, true};
  o.dead_channels = {false, false};
  o.sufficient_batches = {true, true};
  o.batches_used = {8, 8};
  o.constant_batches = {0, 0};
  o.channel_max = {1.0f, 0.5f};
  o.unbounded_batches = {0, 3};
  out.findings.emplace_back(o);
  report.detectors.push_back(out);
  const std::string text = RenderReportText(report);
  EXPECT_THAT(text, HasSubstr("largest: channel 1, ratio unbounded: percentile 0 in 3 of 8 "
                              "batches, max 0.5\n"));
  EXPECT_THAT(text, HasSubstr("unbounded ratio (the 0.975 percentile was 0 in some batch): 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("e+37")));
}

TEST(ReportTextTest, ModulesLeftOutOnPurposeAreNamed) {
  Report report;
  report.batches = 2;
  DetectorReport out{"outlier_detector", {}, {}, {}};
  out.not_observed = {{"bn1", "torch.nn.modules.batchnorm.BatchNorm2d", "folded into conv1"},
                      {"bn2", "", "folded into conv2"}};
  report.detectors.push_back(out);
  EXPECT_THAT(RenderReportText(report),
              HasSubstr("  Not observed: 2 modules whose input fusion removes\n"
                        "    bn1 (BatchNorm2d, folded into conv1), bn2 (folded into conv2)\n"));
  // Many: the first eight, in lines below 100 columns.
  out.not_observed.clear();
  for (int i = 0; i < 20; ++i) {
    out.not_observed.push_back({fmt::format("layer{}.0.bn1", i), "BatchNorm2d",
                                fmt::format("folded into layer{}.0.conv1", i)});
  }
  report.detectors = {out};
  const std::string text = RenderReportText(report);
  EXPECT_THAT(text, HasSubstr("layer7.0.bn1 (BatchNorm2d, folded into layer7.0.conv1), and 12 "
                              "more\n"));
  EXPECT_THAT(text, Not(HasSubstr("layer8.0.bn1")));
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) EXPECT_LT(line.size(), 100u) << line;
}

TEST(ReportTextTest, WeightsNoLayerAnalysesComeFirst) {
  Report report;
  report.batches = 1;
  report.unanalysed = {{"spare", "torch.nn.modules.linear.Linear", "spare.weight",
                        "no use of it found in forward's graph"}};
  EXPECT_EQ(RenderReportText(report),
            "qreport: <model>, 1 calibration batch\n"
            "Not analysed: 1 weight of Linear/Conv modules\n"
            "  spare.weight (Linear)\n"
            "    no use of it found in forward's graph\n"
            "No detectors ran.\n");
}

TEST(ReportTextTest, EmptyReports) {
  Report report;
  report.batches = 1;
  EXPECT_EQ(RenderReportText(report), "qreport: <model>, 1 calibration batch\nNo detectors ran.\n");
  DetectorReport none;
  none.detector = "fake_detector";
  report.detectors.push_back(none);
  EXPECT_EQ(RenderReportText(report),
            "qreport: <model>, 1 calibration batch\n\n== fake_detector ==\n"
            "  no modules to analyse.\n");
}

TEST(ReportTextTest, ProblemsAndNumbers) {
  Report report;
  DetectorReport out{"outlier_detector", {}, {}, {}};
  OutlierFinding never;
  never.fqn = "";
  never.module_type = "my.Block";
  never.problem = Problem{"module was never called during calibration"};
  out.findings.emplace_back(never);
  report.detectors.push_back(out);
  const std::string text = RenderReportText(report);
  EXPECT_THAT(text, HasSubstr("  <root> (Block)  not judged: module was never called"));
  EXPECT_THAT(text, HasSubstr("1 module: 0 with outlier channels, 1 not judged.\n"));
}

}  // namespace
}  // namespace qreport

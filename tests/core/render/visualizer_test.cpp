#include "qreport/core/render/visualizer.h"

#include <cmath>
#include <limits>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"
#include "qreport/core/render/text_table.h"

namespace qreport {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::ordered_json;

constexpr double kInf = std::numeric_limits<double>::infinity();

// fc1 -> relu -> fc2. The layer detectors see fc1 and fc2; the outlier detector every leaf
// module. fc2 was never called: the dynamic and outlier detectors say so in their own words.
Report SampleReport() {
  PerChannelFinding pc1{"fc1", Backend::kFbgemm, true, false, "default_qconfig", true};
  PerChannelFinding pc2{"fc2", Backend::kFbgemm, true, true, "--qconfig", true};

  DynamicStaticFinding ds1;
  ds1.fqn = "fc1";
  ds1.input_ratio = 0.25;
  ds1.output_ratio = 0.75;
  ds1.output_stationary = true;
  ds1.dynamic_supported = true;
  DynamicStaticFinding ds2;
  ds2.fqn = "fc2";
  ds2.dynamic_supported = true;
  ds2.problem = Problem{"fc2 was never called"};

  auto outlier = [](const std::string& fqn, const std::string& type, std::vector<double> ratios) {
    OutlierFinding f;
    f.fqn = fqn;
    f.module_type = type;
    const size_t n = ratios.size();
    f.ratios = std::move(ratios);
    f.batches_used.assign(n, 4);
    f.outliers.assign(n, false);
    f.sufficient_batches.assign(n, true);
    f.constant_batches.assign(n, 0);
    f.channel_max.assign(n, 2.0f);
    f.dead_channels.assign(n, false);
    f.unbounded_batches.assign(n, 0);
    f.total_batches = 4;
    return f;
  };
  OutlierFinding out1 = outlier("fc1", "torch.nn.modules.linear.Linear", {1.25, 4.0});
  out1.outliers = {false, true};
  OutlierFinding out_relu = outlier("relu", "torch.nn.modules.activation.ReLU", {1.5, kInf, 1});
  OutlierFinding out2 = outlier("fc2", "torch.nn.modules.linear.Linear", {});
  out2.problem = Problem{"fc2 had no input"};

  Report report{"model.pt", 4, {}};
  report.detectors = {{"per_channel_detector", {pc1, pc2}, {}, {}},
                      {"dynamic_vs_static_detector", {ds1, ds2}, {}, {}},
                      {"outlier_detector", {out1, out_relu, out2}, {}, {}}};
  return report;
}

std::vector<std::string> Fqns(const TensorTable& table) {
  std::vector<std::string> fqns;
  for (const auto& row : table.rows) fqns.push_back(row.fqn);
  return fqns;
}

std::string ErrorOf(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(VisualizerTest, ModulesMergeEveryDetectorsOrder) {
  const Visualizer visualizer(SampleReport());
  EXPECT_THAT(visualizer.ModuleFqns(), ElementsAre("fc1", "relu", "fc2"));
}

TEST(VisualizerTest, FeatureNamesAreSortedAndPlottableOnesHoldNumbers) {
  const Visualizer visualizer(SampleReport());
  const std::vector<std::string> plottable = visualizer.FeatureNames();
  EXPECT_TRUE(std::is_sorted(plottable.begin(), plottable.end()));
  EXPECT_THAT(plottable,
              AllOf(Contains("outlier_detection_percentile_ratios"),
                    Contains("input_activation_dynamic_static_comp_stat"), Not(Contains("backend")),
                    Not(Contains("outliers_detected")),
                    Not(Contains("per_channel_quantization_supported")), Not(Contains("problem"))));
  // Each detector's own "problem" for fc2 is kept: the later one under a qualified name.
  EXPECT_THAT(
      visualizer.FeatureNames(/*plottable_only=*/false),
      AllOf(Contains("backend"), Contains("problem"), Contains("problem [outlier_detector]")));
}

TEST(VisualizerTest, TensorTableHasARowPerModuleWithAnySelectedFeature) {
  const FilteredTables tables =
      Visualizer(SampleReport()).GenerateFilteredTables({"comp_stat", ""});
  EXPECT_THAT(tables.tensor.features, ElementsAre("input_activation_dynamic_static_comp_stat",
                                                  "output_activation_dynamic_static_comp_stat"));
  // fc2 has the keys, but null: nothing to show. relu has none of them.
  ASSERT_THAT(Fqns(tables.tensor), ElementsAre("fc1"));
  EXPECT_THAT(tables.tensor.rows[0].values, ElementsAre(TableValue{0.25}, TableValue{0.75}));
  EXPECT_TRUE(tables.channel.features.empty());
  EXPECT_TRUE(tables.channel.rows.empty());
}

TEST(VisualizerTest, ChannelTableHasARowPerModuleAndChannel) {
  const FilteredTables tables =
      Visualizer(SampleReport()).GenerateFilteredTables({"percentile_ratios", "relu"});
  EXPECT_TRUE(tables.tensor.rows.empty());
  EXPECT_THAT(tables.channel.features, ElementsAre("outlier_detection_percentile_ratios"));
  ASSERT_EQ(tables.channel.rows.size(), 3u);
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_EQ(tables.channel.rows[c].fqn, "relu");
    EXPECT_EQ(tables.channel.rows[c].channel, c);
  }
  EXPECT_EQ(tables.channel.rows[1].values[0], TableValue{kInf});  // "inf" in the JSON
}

TEST(VisualizerTest, TableCsv) {
  const Visualizer visualizer(SampleReport());
  EXPECT_EQ(
      TensorTableCsv(visualizer.GenerateFilteredTables({"per_channel_quantization", ""}).tensor),
      "idx,layer_fqn,per_channel_quantization_supported,per_channel_quantization_used\r\n"
      "0,fc1,true,false\r\n"
      "1,fc2,true,true\r\n");
  EXPECT_EQ(ChannelTableCsv(visualizer.GenerateFilteredTables({"ratios", ""}).channel),
            "idx,layer_fqn,channel,outlier_detection_percentile_ratios\r\n"
            "0,fc1,0,1.25\r\n"
            "1,fc1,1,4\r\n"
            "2,relu,0,1.5\r\n"
            "3,relu,1,inf\r\n"
            "4,relu,2,1\r\n");
  // Text with commas or quotes is quoted; absent cells are empty.
  TensorTable table{{"note", "x"}, {{"a,b", {TableValue{std::string("say \"hi\"")}, {}}}}};
  EXPECT_EQ(TensorTableCsv(table), "idx,layer_fqn,note,x\r\n0,\"a,b\",\"say \"\"hi\"\"\",\r\n");
}

TEST(VisualizerTest, RenderTables) {
  const Visualizer visualizer(SampleReport());
  EXPECT_EQ(visualizer.RenderTables({"comp_stat", ""}),
            "Tensor-level features (1 module)\n"
            "idx  layer_fqn  input_activation_dynamic_static_comp_stat  "
            "output_activation_dynamic_static_comp_stat\n"
            "---  ---------  -----------------------------------------  "
            "------------------------------------------\n"
            "  0  fc1                                             0.25  "
            "                                      0.75\n");
  EXPECT_EQ(visualizer.RenderTables({"ratios", "fc1"}),
            "Channel-level features (2 rows)\n"
            "idx  layer_fqn  channel  outlier_detection_percentile_ratios\n"
            "---  ---------  -------  -----------------------------------\n"
            "  0  fc1              0                                 1.25\n"
            "  1  fc1              1                                    4\n");
  EXPECT_THAT(visualizer.RenderTables({"no such feature", ""}), HasSubstr("Nothing matches"));
}

// A ratio saturated at FLT_MAX (its percentile was 0 in a batch) reads as what it means in
// the text table; the CSV and the values keep the reference's number.
TEST(VisualizerTest, UnboundedRatiosReadAsSuch) {
  Report report = SampleReport();
  auto& relu = std::get<OutlierFinding>(report.detectors[2].findings[1]);
  relu.ratios = {1.5, 8.507059e37, 1};
  relu.unbounded_batches = {0, 1, 0};
  const Visualizer visualizer(report);
  const std::string table = visualizer.RenderTables({"ratios", "relu"});
  EXPECT_THAT(table, HasSubstr("  1  relu             1           unbounded (1 of 4 batches)\n"));
  EXPECT_THAT(table, HasSubstr("  0  relu             0"));
  EXPECT_THAT(table, Not(HasSubstr("e+37")));
  EXPECT_THAT(ChannelTableCsv(visualizer.GenerateFilteredTables({"ratios", "relu"}).channel),
              HasSubstr("relu,1,8.507059"));
}

// Too wide for the terminal: blocks of columns, each with the module column again.
TEST(VisualizerTest, WideTablesAreSplitToFit) {
  const std::string text = Visualizer(SampleReport()).RenderTables({}, 80);
  size_t blocks = 0, pos = 0;
  while ((pos = text.find("idx  layer_fqn", pos)) != std::string::npos) ++blocks, ++pos;
  EXPECT_GT(blocks, 3u);
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    EXPECT_LE(DisplayWidth(text.substr(start, end - start)), 80u)
        << text.substr(start, end - start);
    start = end + 1;
  }
  EXPECT_THAT(text,
              AllOf(HasSubstr("per_channel_quantization_used"), HasSubstr("fc2 had no input")));
}

TEST(VisualizerTest, FormatTableValue) {
  EXPECT_EQ(FormatTableValue({}), "-");
  EXPECT_EQ(FormatTableValue(true), "yes");
  EXPECT_EQ(FormatTableValue(3.0), "3");
  EXPECT_EQ(FormatTableValue(-16384.0), "-16384");
  EXPECT_EQ(FormatTableValue(0.5), "0.5");
  EXPECT_EQ(FormatTableValue(0.123456), "0.1235");
  EXPECT_EQ(FormatTableValue(1234.5678), "1235");
  EXPECT_EQ(FormatTableValue(0.000123456), "1.235e-04");
  EXPECT_EQ(FormatTableValue(1e20), "1.000e+20");
  EXPECT_EQ(FormatTableValue(kInf), "inf");
  EXPECT_EQ(FormatTableValue(std::nan("")), "nan");
  EXPECT_EQ(FormatTableValue(std::string("stationary")), "stationary");
}

TEST(VisualizerTest, FromReportJsonIsTheSameAsFromTheReport) {
  const Report report = SampleReport();
  const Json json = Json::parse(ReportToJson(report).dump());
  const Visualizer saved = Visualizer::FromReportJson(json, "report.json");
  const Visualizer live(report);
  EXPECT_EQ(saved.ModuleFqns(), live.ModuleFqns());
  EXPECT_EQ(saved.RenderTables({}), live.RenderTables({}));
}

// "not_observed" is not a detector: the modules it names are not rows of the tables.
TEST(VisualizerTest, NotObservedModulesAreNoRows) {
  Report report = SampleReport();
  report.detectors.back().not_observed = {{"bn1", "BatchNorm2d", "folded into conv1"}};
  const Json json = Json::parse(ReportToJson(report).dump());
  const Visualizer saved = Visualizer::FromReportJson(json, "report.json");
  EXPECT_EQ(saved.ModuleFqns(), Visualizer(SampleReport()).ModuleFqns());
}

// A report.json edited or damaged into what qreport never writes is refused with a message.
TEST(VisualizerTest, FromReportJsonRejectsImpossibleContents) {
  const Json good = Json::parse(ReportToJson(SampleReport()).dump());
  Json negative = good;
  negative["outlier_detector"]["fc1"]["outlier_detection_batches_used"][0] = -4;
  EXPECT_THAT(ErrorOf([&] { Visualizer::FromReportJson(negative, "r.json"); }),
              HasSubstr("r.json: module 'fc1' under \"outlier_detector\": "
                        "\"outlier_detection_batches_used\" must hold counts"));
  Json nan_count = good;
  nan_count["outlier_detector"]["relu"]["constant_batch_counts"][1] = "nan";
  EXPECT_THAT(ErrorOf([&] { Visualizer::FromReportJson(nan_count, "r.json"); }),
              HasSubstr("\"constant_batch_counts\" must hold counts (whole numbers, not "
                        "negative), got \"nan\""));
  Json channels = good;
  channels["outlier_detector"]["fc1"]["outliers_detected"].erase(0);
  EXPECT_THAT(ErrorOf([&] { Visualizer::FromReportJson(channels, "r.json"); }),
              HasSubstr("\"outliers_detected\" has 1 channels but "
                        "\"outlier_detection_percentile_ratios\" has 2"));
  Json batches = good;
  batches["batches"] = 2.5;
  EXPECT_THAT(ErrorOf([&] { Visualizer::FromReportJson(batches, "r.json"); }),
              HasSubstr("r.json: \"batches\" must hold counts"));
  Json threads = good;
  threads["threads"] = 0;
  EXPECT_THAT(ErrorOf([&] { Visualizer::FromReportJson(threads, "r.json"); }),
              HasSubstr("\"threads\" must be a positive count or null"));
}

TEST(VisualizerTest, FromReportJsonRejectsOtherShapes) {
  EXPECT_THAT(ErrorOf([] { Visualizer::FromReportJson(Json::array(), "r.json"); }),
              HasSubstr("r.json: expected a JSON object (report.json), got array"));
  EXPECT_THAT(ErrorOf([] {
                Visualizer::FromReportJson(Json{{"schema_version", 7}}, "r.json");
              }),
              HasSubstr("r.json: expected \"schema_version\": 1"));
  EXPECT_THAT(ErrorOf([] {
                Visualizer::FromReportJson(Json{{"model", "m.pt"}}, "r.json");
              }),
              HasSubstr("got none"));
  EXPECT_THAT(
      ErrorOf([] {
        Visualizer::FromReportJson(Json{{"schema_version", 1}, {"outlier_detector", 3}}, "r.json");
      }),
      HasSubstr("r.json: expected \"outlier_detector\" to map module names"));
  EXPECT_THAT(ErrorOf([] {
                Visualizer::FromReportJson(
                    Json{{"schema_version", 1}, {"outlier_detector", {{"fc", "x"}}}}, "r.json");
              }),
              HasSubstr("findings of module 'fc' under \"outlier_detector\""));
}

TEST(VisualizerTest, PlotAcrossChannelsDrawsALinePerModule) {
  const std::string svg = Visualizer(SampleReport()).PlotAcrossChannels({"percentile_ratios", ""});
  EXPECT_THAT(svg, AllOf(HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""),
                         HasSubstr(">fc1</text>"), HasSubstr(">relu</text>"),
                         HasSubstr("outlier_detection_percentile_ratios across channels"),
                         HasSubstr("</svg>")));
  // fc2 has no channels; its lines would be empty, so it has no legend entry.
  EXPECT_THAT(svg, Not(HasSubstr(">fc2</text>")));
}

TEST(VisualizerTest, PlotAcrossModulesSummarisesChannels) {
  const Visualizer visualizer(SampleReport());
  const std::string channels = visualizer.PlotAcrossModules({"percentile_ratios", ""});
  EXPECT_THAT(channels, AllOf(HasSubstr("mean over channels"), HasSubstr("max over channels")));
  const std::string scalar =
      visualizer.PlotAcrossModules({"input_activation_dynamic_static_comp_stat", ""});
  // fc2 has no ratio (it was never called): it is left out, not drawn as zero.
  EXPECT_THAT(scalar, AllOf(HasSubstr(">fc1</text>"), Not(HasSubstr(">fc2</text>")),
                            Not(HasSubstr("mean over channels"))));
}

TEST(VisualizerTest, HistogramCountsEveryFiniteValue) {
  const std::string svg = Visualizer(SampleReport()).Histogram({"percentile_ratios", ""}, 3);
  // 1.25, 4, 1.5, 1 (inf left out) in [1, 2), [2, 3), [3, 4].
  EXPECT_THAT(svg,
              AllOf(HasSubstr("(4 values)"), HasSubstr("<title>[1, 2): 3</title>"),
                    HasSubstr("<title>[2, 3): 0</title>"), HasSubstr("<title>[3, 4): 1</title>")));
}

TEST(VisualizerTest, PlotsNeedOneFeatureWithValues) {
  const Visualizer visualizer(SampleReport());
  EXPECT_THAT(ErrorOf([&] {
                visualizer.PlotAcrossChannels({"comp_stat", ""});
              }),
              AllOf(HasSubstr("feature 'comp_stat' matches several plottable features"),
                    HasSubstr("input_activation_dynamic_static_comp_stat, "
                              "output_activation_dynamic_static_comp_stat")));
  EXPECT_THAT(ErrorOf([&] {
                visualizer.Histogram({"backend", ""});
              }),
              HasSubstr("matches no plottable features; pick one of: "));
  EXPECT_THAT(ErrorOf([&] {
                visualizer.PlotAcrossChannels({"percentile_ratios", "conv"});
              }),
              HasSubstr("no module matching 'conv' has per-channel values of "
                        "'outlier_detection_percentile_ratios'"));
  EXPECT_THAT(ErrorOf([&] {
                visualizer.Histogram({"percentile_ratios", ""}, 0);
              }),
              HasSubstr("at least one bin"));
}

}  // namespace
}  // namespace qreport

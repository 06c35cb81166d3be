#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/report.h"
#include "qreport/core/error.h"
#include "qreport/core/render/visualizer.h"
#include "testing/sample_report.h"

namespace qreport {
namespace {

using qreport::testing::SampleReport;
using ::testing::ElementsAre;
using Json = nlohmann::ordered_json;

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::string> Keys(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

TEST(ReportJsonTest, TopLevel) {
  const Json json = ReportToJson(SampleReport());
  EXPECT_THAT(Keys(json), ElementsAre("schema_version", "model", "batches", "threads",
                                      "per_channel_detector", "dynamic_vs_static_detector",
                                      "input_weight_equalization_detector", "outlier_detector"));
  EXPECT_EQ(json["schema_version"], 1);
  EXPECT_EQ(json["model"], "model.pt");
  EXPECT_EQ(json["batches"], 30);
  EXPECT_TRUE(json["threads"].is_null());  // not known: a report from a saved state
  Report run = SampleReport();
  run.threads = 4;
  EXPECT_EQ(ReportToJson(run)["threads"], 4);
}

// Modules a detector left out on purpose come after the detectors, by detector; a report
// without any has no such key.
TEST(ReportJsonTest, NotObservedModules) {
  Report report = SampleReport();
  EXPECT_FALSE(ReportToJson(report).contains("not_observed"));
  report.detectors.back().not_observed = {
      {"bn1", "torch.nn.modules.batchnorm.BatchNorm2d", "folded into conv1"}};
  const Json json = ReportToJson(report);
  EXPECT_EQ(Keys(json).back(), "not_observed");
  EXPECT_EQ(json["not_observed"].dump(),
            R"({"outlier_detector":{"bn1":{"module_type":"torch.nn.modules.batchnorm.)"
            R"(BatchNorm2d","reason":"folded into conv1"}}})");
  EXPECT_FALSE(json["outlier_detector"].contains("bn1"));
}

// Weights no layer analyses are keyed by weight path, with their module and why.
TEST(ReportJsonTest, NotAnalysedWeights) {
  Report report = SampleReport();
  EXPECT_FALSE(ReportToJson(report).contains("not_analysed"));
  report.unanalysed = {{"attn", "torch.nn.modules.activation.MultiheadAttention",
                        "attn.in_proj_weight", "used by aten::_native_multi_head_attention"}};
  EXPECT_EQ(ReportToJson(report)["not_analysed"].dump(),
            R"({"attn.in_proj_weight":{"module_type":"torch.nn.modules.activation.)"
            R"(MultiheadAttention","module":"attn","reason":"used by )"
            R"(aten::_native_multi_head_attention"}})");
  const Json json = Json::parse(ReportToJson(report).dump());
  EXPECT_EQ(Visualizer::FromReportJson(json, "r.json").ModuleFqns(),
            Visualizer(SampleReport()).ModuleFqns());
}

TEST(ReportJsonTest, PerChannel) {
  const Json json = ReportToJson(SampleReport())["per_channel_detector"];
  EXPECT_EQ(json, Json::parse(R"({"block.conv": {
      "per_channel_quantization_supported": true,
      "per_channel_quantization_used": false,
      "backend": "qnnpack",
      "configuration_source": "default_qconfig"}})"));
  EXPECT_THAT(Keys(json["block.conv"]),
              ElementsAre("per_channel_quantization_supported", "per_channel_quantization_used",
                          "backend", "configuration_source"));
}

TEST(ReportJsonTest, DynamicStatic) {
  const Json json = ReportToJson(SampleReport())["dynamic_vs_static_detector"];
  EXPECT_EQ(json, Json::parse(R"({"fc": {
      "dynamic_static_tolerance": 0.5,
      "dynamic_recommended": false,
      "input_activation_dynamic_static_comp_stat": 0.25,
      "input_activation_dynamic_static_data_classification": "non-stationary",
      "output_activation_dynamic_static_comp_stat": 0.75,
      "output_activation_dynamic_static_data_classification": "stationary",
      "is_dynamic_supported": true}})"));
}

TEST(ReportJsonTest, DynamicStaticWithoutRatiosCarriesTheProblem) {
  Report report = SampleReport();
  auto& finding = std::get<DynamicStaticFinding>(report.detectors[1].findings[0]);
  finding.input_ratio.reset();
  finding.output_ratio.reset();
  finding.problem = Problem{"fc was never called during calibration"};
  const Json json = ReportToJson(report)["dynamic_vs_static_detector"]["fc"];
  EXPECT_TRUE(json["input_activation_dynamic_static_comp_stat"].is_null());
  EXPECT_TRUE(json["input_activation_dynamic_static_data_classification"].is_null());
  EXPECT_TRUE(json["output_activation_dynamic_static_data_classification"].is_null());
  EXPECT_EQ(json["problem"], "fc was never called during calibration");
}

TEST(ReportJsonTest, Equalization) {
  const Json json = ReportToJson(SampleReport())["input_weight_equalization_detector"];
  EXPECT_EQ(json, Json::parse(R"({"fc": {
      "input_weight_equalization_recommended": [true, false],
      "input_weight_channel_comparison_metrics": [0.5, 2.5],
      "input_weight_threshold": 0.5,
      "input_weight_channel_axis": -1,
      "input_activation_per_channel_max": [4.0, 1.0],
      "input_activation_per_channel_min": [0.0, 0.0],
      "input_activation_global_max": 4.0,
      "input_activation_global_min": 0.0,
      "weight_per_channel_max": [2.0, 0.0],
      "weight_per_channel_min": [1.0, -1.0],
      "weight_global_max": 2.0,
      "weight_global_min": -1.0,
      "module_equalization_recommended": true}})"));
  EXPECT_FALSE(json["fc"].contains("problem"));
}

TEST(ReportJsonTest, Outlier) {
  const Json json = ReportToJson(SampleReport())["outlier_detector"];
  EXPECT_EQ(json, Json::parse(R"({"relu": {
      "outlier_detection_channel_axis": 1,
      "outlier_detection_reference_percentile": 0.975,
      "outlier_detection_ratio_threshold": 3.5,
      "outlier_detection_percentile_ratios": [1.5, "inf"],
      "outlier_detection_batches_used": [30, 0],
      "outliers_detected": [false, false],
      "outlier_detection_is_sufficient_batches": [true, false],
      "constant_batch_counts": [0, 30],
      "input_activation_per_channel_max": [3.5, 0.0],
      "dead_channels": [false, true],
      "module_type": "torch.nn.modules.activation.ReLU",
      "outlier_detection_total_batches": 30,
      "outlier_detection_unbounded_ratio_batches": [0, 0]}})"));
}

TEST(ReportJsonTest, NonFiniteNumbersAreStrings) {
  Report report = SampleReport();
  auto& eq = std::get<EqualizationFinding>(report.detectors[2].findings[0]);
  eq.comparison = {std::nan(""), -kInf, kInf, 1.0};
  eq.input_global_max = std::numeric_limits<float>::infinity();
  auto& dyn = std::get<DynamicStaticFinding>(report.detectors[1].findings[0]);
  dyn.output_ratio = std::nan("");
  const Json json = ReportToJson(report);
  const Json& fc = json["input_weight_equalization_detector"]["fc"];
  EXPECT_EQ(fc["input_weight_channel_comparison_metrics"],
            Json::parse(R"(["nan", "-inf", "inf", 1.0])"));
  EXPECT_EQ(fc["input_activation_global_max"], "inf");
  EXPECT_EQ(json["dynamic_vs_static_detector"]["fc"]["output_activation_dynamic_static_comp_stat"],
            "nan");
  // The document is valid JSON that parses back.
  EXPECT_EQ(Json::parse(json.dump()), json);
}

TEST(ReportJsonTest, ModulesInTheReportsOrder) {
  Report report = SampleReport();
  DynamicStaticFinding second = std::get<DynamicStaticFinding>(report.detectors[1].findings[0]);
  second.fqn = "a_later_module";
  report.detectors[1].findings.push_back(second);
  EXPECT_THAT(Keys(ReportToJson(report)["dynamic_vs_static_detector"]),
              ElementsAre("fc", "a_later_module"));
}

TEST(ReportJsonTest, EmptyReport) {
  Report report;
  report.model_path = "m.pt";
  report.detectors = {{"outlier_detector", {}, {}, {}}};
  EXPECT_EQ(ReportToJson(report), Json::parse(R"({"schema_version": 1, "model": "m.pt",
                                                  "batches": 0, "threads": null,
                                                  "outlier_detector": {}})"));
}

TEST(ReportJsonTest, DuplicatesAreInternalErrors) {
  Report report = SampleReport();
  report.detectors.push_back(report.detectors[0]);
  EXPECT_THROW(ReportToJson(report), Error);
  report = SampleReport();
  report.detectors[0].findings.push_back(report.detectors[0].findings[0]);
  EXPECT_THROW(ReportToJson(report), Error);
}

}  // namespace
}  // namespace qreport

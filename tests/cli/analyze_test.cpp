// `qreport analyze`: the report on stdout, the output files, and its errors.
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_support.h"

namespace qreport::cli_testing {
namespace {

using ::testing::HasSubstr;

const char* const kDetectors[] = {"per_channel_detector", "dynamic_vs_static_detector",
                                  "input_weight_equalization_detector", "outlier_detector"};
const char* const kOutputs[] = {"report.json", "qconfig_mapping.json", "qconfig_mapping.py",
                                "equalization_mapping.json"};

nlohmann::json ReadJson(const std::string& path) { return nlohmann::json::parse(ReadFile(path)); }

TEST(CliAnalyzeTest, ReportsAllFourDetectorsAndWritesTheOutputs) {
  const std::string dir = ScratchDir("analyze_all") + "/out";
  const std::string model = Fixture("conv_bn_relu.pt");
  const CliRun run =
      Qreport("analyze '" + model + "' -q --input-shape 2,3,8,8 --batches 3 --out " + dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* heading : {"per_channel_detector", "dynamic_vs_static_detector",
                              "input_weight_equalization_detector", "outlier_detector"}) {
    EXPECT_THAT(run.out, HasSubstr(heading));
  }
  for (const char* file : kOutputs) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + file)) << file;
    EXPECT_FALSE(std::filesystem::exists(dir + "/" + file + ".tmp")) << file;
  }
  // Every layer inspect lists appears under each per-layer detector of report.json.
  const CliRun inspect = Qreport("inspect --json '" + model + "'");
  ASSERT_EQ(inspect.exit_code, 0);
  const nlohmann::json layers = nlohmann::json::parse(inspect.out)["layers"];
  const nlohmann::json report = ReadJson(dir + "/report.json");
  EXPECT_EQ(report["batches"], 3);
  for (const char* detector : kDetectors) ASSERT_TRUE(report.contains(detector)) << detector;
  for (const auto& layer : layers) {
    const std::string fqn = layer["fqn"];
    EXPECT_TRUE(report["per_channel_detector"].contains(fqn)) << fqn;
    EXPECT_TRUE(report["dynamic_vs_static_detector"][fqn].contains("dynamic_recommended")) << fqn;
    EXPECT_TRUE(report["input_weight_equalization_detector"][fqn].contains(
        "input_weight_channel_comparison_metrics"))
        << fqn;
  }
  const nlohmann::json mapping = ReadJson(dir + "/qconfig_mapping.json");
  EXPECT_EQ(mapping["schema_version"], 1);
}

// Statistics saved by 'calibrate' give the very report 'analyze' computes from the data.
TEST(CliAnalyzeTest, StateFromCalibrateGivesTheSameReport) {
  const std::string dir = ScratchDir("analyze_state");
  const std::string model = "'" + Fixture("mlp.pt") + "'";
  const std::string data = " --input-shape 4,16 --batches 4 --seed 3";
  ASSERT_EQ(
      Qreport("calibrate " + model + " -q" + data + " --state " + dir + "/s.qstate").exit_code, 0);
  const CliRun live = Qreport("analyze " + model + " -q" + data + " --out " + dir + "/live");
  const CliRun saved =
      Qreport("analyze " + model + " --state " + dir + "/s.qstate --out " + dir + "/saved");
  ASSERT_EQ(live.exit_code, 0) << live.err;
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  EXPECT_EQ(ReadFile(dir + "/saved/report.json"), ReadFile(dir + "/live/report.json"));

  // Other detector options need other observers: a clear error, not a silent mix.
  const CliRun other =
      Qreport("analyze " + model + " --state " + dir + "/s.qstate --outlier-percentile 0.5");
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_THAT(other.err, HasSubstr("s.qstate: the state has no observer for"));
  EXPECT_EQ(Lines(other.err), 1u);
}

TEST(CliAnalyzeTest, CurrentConfigurationDecidesWhatIsAlreadyPerChannel) {
  const std::string dir = ScratchDir("analyze_qconfig");
  std::ofstream(dir + "/current.json")
      << R"({"schema_version": 1, "global": {"activation": "static", "weight": "per_channel"}})";
  const CliRun run = Qreport("analyze '" + Fixture("mlp.pt") +
                             "' -q --input-shape 4,16 --batches 2 --detectors per_channel "
                             "--qconfig " +
                             dir + "/current.json --out " + dir + "/out");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = ReadJson(dir + "/out/report.json");
  ASSERT_FALSE(report["per_channel_detector"].empty());
  for (const auto& [fqn, finding] : report["per_channel_detector"].items()) {
    EXPECT_EQ(finding["per_channel_quantization_used"], true) << fqn;
  }
}

TEST(CliAnalyzeTest, BadInputsAreExitCodeTwoAndWriteNothing) {
  const std::string dir = ScratchDir("analyze_bad");
  const std::string model = "'" + Fixture("mlp.pt") + "'";
  std::ofstream(dir + "/bad.json") << R"({"global": {"weight": "sideways"}})";
  struct Case {
    std::string args, message;
  } cases[] = {
      {" --input-shape 4,16 --qconfig " + dir + "/bad.json", "bad.json: global.weight"},
      {" --input-shape 4,16 --detectors outlier,nonsense", "unknown detector 'nonsense'"},
      {" --input-shape 4,16 --outlier-percentile 1.5", "percentile"},
      {"", "analyze needs data"},
      {" --input-shape 4,3", "mlp.pt: the model rejected the input"},
  };
  for (const Case& c : cases) {
    const CliRun run = Qreport("analyze " + model + " -q" + c.args + " --out " + dir + "/out");
    EXPECT_EQ(run.exit_code, 2) << c.args;
    EXPECT_THAT(run.err, HasSubstr(c.message)) << c.args;
    EXPECT_EQ(Lines(run.err), 1u) << run.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/out/report.json")) << c.args;
  }
}

}  // namespace
}  // namespace qreport::cli_testing

// `qreport analyze`: the report on stdout, the output files, and its errors.
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../../tools/thread_policy.h"
#include "cli/cli_support.h"

namespace qreport::cli_testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char* const kDetectors[] = {"per_channel_detector", "dynamic_vs_static_detector",
                                  "input_weight_equalization_detector", "outlier_detector"};
const char* const kOutputs[] = {"report.json", "qconfig_mapping.json", "qconfig_mapping.py",
                                "equalization_mapping.json"};

nlohmann::json ReadJson(const std::string& path) { return nlohmann::json::parse(ReadFile(path)); }

// A weight read by an op that is no linear or conv call: the report, report.json and inspect
// name it with the op (the run still succeeds on the layer it can analyse).
TEST(CliAnalyzeTest, WeightsNoLayerAnalysesAreNamedInEveryView) {
  const std::string dir = ScratchDir("analyze_unanalysed") + "/out";
  const std::string model = Fixture("einsum_weight.pt");
  const CliRun run =
      Qreport("analyze '" + model + "' -q --input-shape 2,8 --batches 2 --out " + dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Not analysed: 1 weight of Linear/Conv modules\n"
                                 "  proj.weight (Linear)\n"
                                 "    used by aten::einsum"));
  const nlohmann::json report = ReadJson(dir + "/report.json");
  EXPECT_EQ(report["not_analysed"]["proj.weight"]["module"], "proj");
  const CliRun inspect = Qreport("inspect --json '" + model + "'");
  ASSERT_EQ(inspect.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(inspect.out)["not_analysed"].size(), 1u);
}

// A MultiheadAttention traced on its fast path is analysed in full: both projections are
// layers of the report, and nothing is listed as not analysed.
TEST(CliAnalyzeTest, ATracedAttentionFastPathIsAnalysed) {
  const std::string dir = ScratchDir("analyze_attention") + "/out";
  const CliRun run = Qreport("analyze '" + Fixture("attention_fast_path_traced.pt") +
                             "' -q --input-shape 2,5,16 --batches 2 --out " + dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, Not(HasSubstr("Not analysed")));
  const nlohmann::json report = ReadJson(dir + "/report.json");
  EXPECT_FALSE(report.contains("not_analysed") && !report["not_analysed"].empty());
  const std::string text = report.dump();
  EXPECT_THAT(text, HasSubstr("\"attn.out_proj\""));
  EXPECT_THAT(text, HasSubstr("\"attn\""));
}

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
  // The same statistics; only the thread count of a calibration run elsewhere is not known.
  nlohmann::json live_report = ReadJson(dir + "/live/report.json");
  nlohmann::json saved_report = ReadJson(dir + "/saved/report.json");
  EXPECT_GE(live_report["threads"].get<int>(), 1);
  EXPECT_TRUE(saved_report["threads"].is_null());
  live_report.erase("threads");
  saved_report.erase("threads");
  EXPECT_EQ(saved_report, live_report);

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

// The thread count: every CPU the process may run on unless the user says otherwise, and the
// count in effect written down.
TEST(CliAnalyzeTest, ThreadsComeFromTheFlagTheEnvironmentOrTheAffinity) {
  const std::string dir = ScratchDir("analyze_threads");
  const std::string model = "'" + Fixture("mlp.pt") + "'";
  const std::string data = " -q --input-shape 4,16 --batches 2";
  struct Case {
    std::string name, prefix, flag;
    int threads;
  } cases[] = {
      {"default", "", "", cli::UsableCpus()},
      {"one_cpu", "taskset -c 0", "", 1},
      {"omp", "OMP_NUM_THREADS=3 MKL_NUM_THREADS=5", "", 3},
      {"mkl", "MKL_NUM_THREADS=2", "", 2},
      {"flag", "OMP_NUM_THREADS=3", " --threads 2", 2},
  };
  for (const Case& c : cases) {
    const std::string out = dir + "/" + c.name;
    const CliRun run = Qreport("analyze " + model + data + c.flag + " --out " + out, c.prefix);
    ASSERT_EQ(run.exit_code, 0) << c.name << ": " << run.err;
    EXPECT_EQ(ReadJson(out + "/report.json")["threads"], c.threads) << c.name;
    EXPECT_THAT(run.out,
                HasSubstr(c.threads == 1 ? "on 1 thread\n"
                                         : "on " + std::to_string(c.threads) + " threads\n"))
        << c.name;
  }
  const CliRun calibrate =
      Qreport("calibrate " + model + data + " --state " + dir + "/s.qstate", "OMP_NUM_THREADS=3");
  ASSERT_EQ(calibrate.exit_code, 0) << calibrate.err;
  EXPECT_THAT(calibrate.out, HasSubstr("on 3 thread(s)"));

  const CliRun bad =
      Qreport("analyze " + model + data + " --out " + dir + "/bad", "OMP_NUM_THREADS=many");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("OMP_NUM_THREADS is 'many'; expected a positive thread count"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad"));
  const CliRun zero = Qreport("analyze " + model + data + " --threads 0");
  EXPECT_EQ(zero.exit_code, 2);
}

}  // namespace
}  // namespace qreport::cli_testing

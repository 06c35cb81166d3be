// `qreport view` and the visual outputs of `qreport analyze --out`: report.html and the CSV
// tables, and rebuilding them from a saved report.json.
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli_support.h"

namespace qreport::cli_testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace fs = std::filesystem;

// One analyze run shared by the tests of this process: the report they all view.
const std::string& AnalyzedDir() {
  static const std::string dir = [] {
    const std::string out = ScratchDir("view") + "/analyzed";
    const CliRun run = Qreport("analyze '" + Fixture("conv_bn_relu.pt") +
                               "' -q --input-shape 2,3,8,8 --batches 3 --out " + out);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return out;
  }();
  return dir;
}

TEST(CliViewTest, AnalyzeWritesTheHtmlReportAndTheTables) {
  const std::string dir = AnalyzedDir();
  for (const char* file : {"report.html", "tensor_table.csv", "channel_table.csv"}) {
    EXPECT_TRUE(fs::exists(dir + "/" + file)) << file;
    EXPECT_FALSE(fs::exists(dir + "/" + file + ".tmp")) << file;
  }
  EXPECT_THAT(ReadFile(dir + "/report.html"),
              AllOf(StartsWith("<!DOCTYPE html>"), HasSubstr("\"outlier_detector\"")));
  EXPECT_THAT(ReadFile(dir + "/tensor_table.csv"), StartsWith("idx,layer_fqn,backend,"));
  EXPECT_THAT(ReadFile(dir + "/channel_table.csv"), StartsWith("idx,layer_fqn,channel,"));
}

// view reads back what analyze wrote and builds the very same page.
TEST(CliViewTest, ViewRebuildsTheSamePage) {
  const std::string dir = ScratchDir("view_same");
  const CliRun run = Qreport("view " + AnalyzedDir() + "/report.json --out " + dir + "/again.html");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("wrote " + dir + "/again.html"));
  EXPECT_EQ(ReadFile(dir + "/again.html"), ReadFile(AnalyzedDir() + "/report.html"));

  // Without the mappings beside it, the page says they are not available.
  fs::copy_file(AnalyzedDir() + "/report.json", dir + "/report.json");
  ASSERT_EQ(Qreport("view " + dir + "/report.json -o " + dir + "/alone.html").exit_code, 0);
  EXPECT_THAT(ReadFile(dir + "/alone.html"), HasSubstr("\"qconfig_mapping\":null"));
}

TEST(CliViewTest, PrintsFilteredTablesAndLists) {
  const std::string report = AnalyzedDir() + "/report.json";
  const CliRun tables = Qreport("view " + report + " --feature dynamic_static");
  ASSERT_EQ(tables.exit_code, 0) << tables.err;
  EXPECT_THAT(tables.out, AllOf(StartsWith("Tensor-level features"),
                                HasSubstr("input_activation_dynamic_static_comp_stat"),
                                HasSubstr("stationary")));
  const CliRun list = Qreport("view " + report + " --list");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, AllOf(StartsWith("modules:\n"), HasSubstr("plottable features:\n"),
                              HasSubstr("  outlier_detection_percentile_ratios\n")));
}

TEST(CliViewTest, WritesCsvAndPlots) {
  const std::string dir = ScratchDir("view_outputs");
  const std::string report = AnalyzedDir() + "/report.json";
  ASSERT_EQ(Qreport("view " + report + " --feature ratios --csv " + dir + "/csv").exit_code, 0);
  EXPECT_THAT(ReadFile(dir + "/csv/channel_table.csv"),
              StartsWith("idx,layer_fqn,channel,outlier_detection_percentile_ratios\r\n0,"));
  EXPECT_EQ(ReadFile(dir + "/csv/tensor_table.csv"), "idx,layer_fqn\r\n");

  for (const char* kind : {"channels", "modules", "histogram"}) {
    const std::string svg = dir + "/" + kind + ".svg";
    const CliRun run = Qreport("view " + report + " --plot " + kind +
                               " --feature outlier_detection_percentile_ratios --svg " + svg);
    ASSERT_EQ(run.exit_code, 0) << kind << ": " << run.err;
    EXPECT_THAT(ReadFile(svg), AllOf(StartsWith("<svg "), HasSubstr("</svg>"))) << kind;
  }
}

TEST(CliViewTest, BadInputsAreExitCodeTwoAndWriteNothing) {
  const std::string dir = ScratchDir("view_bad");
  std::ofstream(dir + "/broken.json") << "{\"schema_version\": 1,";
  std::ofstream(dir + "/other.json") << R"({"layers": []})";
  const std::string report = AnalyzedDir() + "/report.json";
  const std::string outputs = " --out " + dir + "/r.html --svg " + dir + "/p.svg";
  struct Case {
    std::string args, message;
  } cases[] = {
      {dir + "/none.json --out " + dir + "/r.html", "none.json: cannot read: no such file"},
      {dir + "/broken.json --out " + dir + "/r.html", "broken.json: expected JSON"},
      {dir + "/other.json --out " + dir + "/r.html", "other.json: expected \"schema_version\": 1"},
      {report + " --plot channels", "--plot and --svg go together"},
      {report + " --plot modules --feature comp_stat" + outputs,
       "feature 'comp_stat' matches several plottable features"},
      {report + " --plot channels --feature percentile_ratios --module nothing" + outputs,
       "no module matching 'nothing' has per-channel values"},
      {report + " --plot sideways --svg " + dir + "/p.svg", "--plot"},
  };
  for (const Case& c : cases) {
    const CliRun run = Qreport("view " + c.args);
    EXPECT_EQ(run.exit_code, 2) << c.args;
    EXPECT_THAT(run.err, HasSubstr(c.message)) << c.args;
    EXPECT_EQ(Lines(run.err), 1u) << run.err;
    EXPECT_FALSE(fs::exists(dir + "/r.html")) << c.args;
    EXPECT_FALSE(fs::exists(dir + "/p.svg")) << c.args;
  }
}

}  // namespace
}  // namespace qreport::cli_testing

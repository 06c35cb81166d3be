// Archives that call custom ops: a library given with --ops-library, torchvision's found
// beside LibTorch without it, and torchvision's scripted detection models end to end.
#include <glob.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_support.h"

namespace qreport::cli_testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The first path matching a glob pattern, or "".
std::string FirstMatch(const std::string& pattern) {
  glob_t found{};
  std::string first;
  if (!pattern.empty() && ::glob(pattern.c_str(), 0, nullptr, &found) == 0 && found.gl_pathc > 0) {
    first = found.gl_pathv[0];
  }
  ::globfree(&found);
  return first;
}

// The ops library of a torchvision built for this build's LibTorch, where CMake expects one
// (tests/CMakeLists.txt), or "" when there is none.
std::string TorchvisionOpsLibrary() { return FirstMatch(QREPORT_TORCHVISION_OPS_GLOB); }

// Ends the test when no torchvision is built for this LibTorch: a skip saying so, except on
// Debian's LibTorch, where python3-torchvision is a test dependency and its absence a failure.
#ifdef QREPORT_SYSTEM_LIBTORCH
#define QREPORT_REQUIRE_TORCHVISION_OPS(library) \
  ASSERT_FALSE((library).empty()) << "python3-torchvision is a test dependency of this build"
#else
#define QREPORT_REQUIRE_TORCHVISION_OPS(library)                                                \
  if ((library).empty())                                                                        \
  GTEST_SKIP() << "no torchvision is built for this build's LibTorch ("                         \
               << (std::string(QREPORT_TORCHVISION_OPS_GLOB).empty()                            \
                       ? std::string("its LibTorch is in no layout with a known place for one") \
                       : "nothing matches " + std::string(QREPORT_TORCHVISION_OPS_GLOB))        \
               << "), so archives calling torchvision's ops cannot run here"
#endif

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

TEST(CustomOpsTest, AnOpNoLibraryRegistersIsNamedWithItsNamespaceAndTheOption) {
  const CliRun run = Qreport("inspect " + Quoted(Fixture("calls_custom_op.pt")));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("calls_custom_op.pt: the model calls qreport_custom::twice"));
  EXPECT_THAT(run.err, HasSubstr("registers the 'qreport_custom' ops"));
  EXPECT_THAT(run.err, HasSubstr("--ops-library PATH"));
  EXPECT_THAT(run.err, Not(HasSubstr("torchvision")));
  EXPECT_EQ(Lines(run.err), 1u);
}

TEST(CustomOpsTest, AnOpsLibraryThatDoesNotLoadIsAnError) {
  const CliRun run =
      Qreport("analyze --ops-library /etc/hostname " + Quoted(Fixture("calls_nms.pt")) +
              " -q --input-shape 16,4 --batches 1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("/etc/hostname: cannot load it as an ops library"));
}

// Without --ops-library, torchvision's library built for this LibTorch is found and loaded,
// and stderr says which (unless -q); where there is none, the error says where qreport looked.
TEST(CustomOpsTest, TorchvisionsLibraryIsFoundBesideLibTorch) {
  const std::string model = Fixture("calls_nms.pt");
  const std::string library = TorchvisionOpsLibrary();
  const CliRun run = Qreport("inspect " + Quoted(model));
  if (library.empty()) {
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_THAT(run.err, HasSubstr("the model calls torchvision::nms"));
    EXPECT_THAT(run.err, HasSubstr("--ops-library PATH"));
    EXPECT_THAT(run.err, HasSubstr("beside this LibTorch"));
  }
  QREPORT_REQUIRE_TORCHVISION_OPS(library);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("score"));
  EXPECT_THAT(run.err, HasSubstr(model + " calls torchvision's ops: loaded " + library +
                                 ", found beside this LibTorch"));
  const CliRun quiet = Qreport("inspect -q " + Quoted(model));
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
}

// A library given explicitly is used: qreport looks for none (and says nothing about one).
TEST(CustomOpsTest, TheLibraryGivenWins) {
  const std::string library = TorchvisionOpsLibrary();
  QREPORT_REQUIRE_TORCHVISION_OPS(library);
  const std::string model = Fixture("calls_nms.pt");
  const std::string state = ScratchDir("ops_library") + "/nms.qstate";
  const CliRun calibrate = Qreport("calibrate " + Quoted(model) + " --ops-library " + library +
                                   " --input-shape 16,4 --batches 2 --state " + state);
  ASSERT_EQ(calibrate.exit_code, 0) << calibrate.err;
  EXPECT_THAT(calibrate.err, Not(HasSubstr("found beside")));
  const CliRun analyze = Qreport("analyze " + Quoted(model) + " --ops-library " + library +
                                 " --ops-library " + library + " -q --state " + state);
  ASSERT_EQ(analyze.exit_code, 0) << analyze.err;
  EXPECT_THAT(analyze.out, HasSubstr("score"));
}

// torchvision's scripted detection models: forward(images: List[Tensor], targets=None)
// returning (losses, detections), calling torchvision::nms.
class DetectionModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Model() const { return Fixture(GetParam() + ".pt"); }

  // The Linear/Conv modules forward hooks saw called in Python (export_models.py).
  std::set<std::string> CalledLayers() const {
    const auto expected = nlohmann::json::parse(ReadFile(Fixture(GetParam() + ".expected.json")));
    std::set<std::string> called;
    for (const auto& layer : expected["layers"]) {
      if (layer["call_sites"].is_number() && layer["call_sites"].get<int>() > 0) {
        called.insert(layer["fqn"].get<std::string>());
      }
    }
    return called;
  }

  // --input-shape for the example images: the batch the model's list of images is split from.
  std::string InputShape() const {
    const auto expected = nlohmann::json::parse(ReadFile(Fixture(GetParam() + ".expected.json")));
    const auto& input = expected["inputs"].at(0);
    EXPECT_TRUE(input.value("list", false)) << "the example input should be a list of images";
    std::string shape;
    for (const auto& size : input["shape"]) {
      shape += (shape.empty() ? "" : ",") + std::to_string(size.get<int64_t>());
    }
    return shape;
  }
};

TEST_P(DetectionModelTest, InspectNamesEveryLayerForwardCalls) {
  const std::string library = TorchvisionOpsLibrary();
  QREPORT_REQUIRE_TORCHVISION_OPS(library);
  const CliRun run = Qreport("inspect --json -q " + Quoted(Model()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = nlohmann::json::parse(run.out);
  std::set<std::string> found;
  for (const auto& layer : json["layers"]) found.insert(layer["fqn"].get<std::string>());
  const std::set<std::string> called = CalledLayers();
  EXPECT_GT(called.size(), 50u);
  EXPECT_EQ(found, called);
  EXPECT_EQ(json.value("not_analysed", nlohmann::json::array()).size(), 0u) << json["not_analysed"];
}

TEST_P(DetectionModelTest, AnalyzeRunsToAReportWithTheLibraryFoundOrGiven) {
  const std::string library = TorchvisionOpsLibrary();
  QREPORT_REQUIRE_TORCHVISION_OPS(library);
  const std::set<std::string> called = CalledLayers();
  for (const std::string& option : std::vector<std::string>{"", " --ops-library " + library}) {
    SCOPED_TRACE(option.empty() ? "found" : "given");
    const std::string dir = ScratchDir("detection_" + GetParam()) + "/out";
    const CliRun run = Qreport("analyze " + Quoted(Model()) + option + " --input-shape " +
                               InputShape() + " --batches 1 --out " + dir);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err.find("found beside this LibTorch") != std::string::npos, option.empty())
        << run.err;
    ASSERT_TRUE(std::filesystem::exists(dir + "/report.json"));
    const auto report = nlohmann::json::parse(ReadFile(dir + "/report.json"));
    EXPECT_EQ(report["batches"], 1);
    std::set<std::string> reported;
    for (const auto& [fqn, findings] : report["per_channel_detector"].items()) {
      reported.insert(fqn);
    }
    EXPECT_EQ(reported, called);
  }
}

INSTANTIATE_TEST_SUITE_P(Torchvision, DetectionModelTest,
                         ::testing::Values("ssdlite320_mobilenet_v3_large",
                                           "fasterrcnn_mobilenet_v3_large_320_fpn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace qreport::cli_testing

// Archives that call custom ops: a library given with --ops-library, and torchvision's found
// beside LibTorch without it.
#include <glob.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
#define QREPORT_REQUIRE_TORCHVISION_OPS(library)                                    \
  if ((library).empty())                                                            \
  GTEST_SKIP() << "no torchvision is built for this build's LibTorch (looked for '" \
               << QREPORT_TORCHVISION_OPS_GLOB                                      \
               << "'), so archives calling torchvision's ops cannot run here"
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

}  // namespace
}  // namespace qreport::cli_testing

// What the CLI does with the paths it writes: devices and FIFOs are written through, never
// replaced; links keep pointing where they did; and an output that cannot be written is
// found before calibration, not after.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli_support.h"
#include "qreport/core/observe/observer_bank.h"

namespace qreport::cli_testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

bool IsCharacterDevice(const char* path) {
  struct stat info {};
  return ::lstat(path, &info) == 0 && S_ISCHR(info.st_mode);
}

std::string Calibrate(const std::string& state) {
  return "calibrate '" + Fixture("mlp.pt") + "' -q --input-shape 2,16 --batches 2 --state " + state;
}

TEST(CliOutputFilesTest, StateToDevNullIsDiscardedAndDevNullStays) {
  const CliRun run = Qreport(Calibrate("/dev/null"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(IsCharacterDevice("/dev/null"));
}

TEST(CliOutputFilesTest, StateToAFullDeviceFailsAndTheDeviceStays) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const CliRun run = Qreport(Calibrate("/dev/full"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("/dev/full: cannot write: No space left on device"));
  EXPECT_EQ(Lines(run.err), 1u) << run.err;
  EXPECT_THAT(run.out, Not(HasSubstr("state written")));
  EXPECT_TRUE(IsCharacterDevice("/dev/full"));
}

TEST(CliOutputFilesTest, StateThroughALinkWritesWhereItPoints) {
  const std::string dir = ScratchDir("state_link");
  fs::create_symlink("target.qstate", dir + "/link.qstate");
  const CliRun run = Qreport(Calibrate(dir + "/link.qstate"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(fs::is_symlink(dir + "/link.qstate"));
  EXPECT_EQ(qreport::ObserverBank::Load(dir + "/target.qstate").batches(), 2);
}

TEST(CliOutputFilesTest, ADirectoryAsStateIsRefusedBeforeCalibrating) {
  const std::string dir = ScratchDir("state_dir");
  const CliRun run = Qreport(Calibrate(dir));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, StartsWith("qreport: error: " + dir + ": is a directory"));
  EXPECT_TRUE(run.out.empty()) << "nothing was calibrated: " << run.out;
  EXPECT_TRUE(fs::is_directory(dir));
}

// Before: every batch calibrated and the whole report printed, then the failure.
TEST(CliOutputFilesTest, AnOutDirectoryThatCannotBeMadeFailsBeforeCalibrating) {
  const std::string dir = ScratchDir("out_blocked");
  std::ofstream(dir + "/file") << "a file where a directory would go\n";
  const CliRun run = Qreport("analyze '" + Fixture("mlp.pt") +
                             "' -q --input-shape 2,16 --batches 2 --out " + dir + "/file/report");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr(dir + "/file/report: cannot create the output directory: " + dir +
                                 "/file is a file"));
  EXPECT_TRUE(run.out.empty()) << "the report was printed before the failure: " << run.out;
  EXPECT_EQ(Lines(run.err), 1u) << run.err;
}

TEST(CliOutputFilesTest, AnOutFileThatIsADirectoryFailsBeforeCalibratingAndWritesNothing) {
  const std::string dir = ScratchDir("out_file_dir");
  fs::create_directories(dir + "/report/report.html");
  const CliRun run = Qreport("analyze '" + Fixture("mlp.pt") +
                             "' -q --input-shape 2,16 --batches 2 --out " + dir + "/report");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr(dir + "/report/report.html: is a directory"));
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_FALSE(fs::exists(dir + "/report/report.json")) << "all or nothing";
}

TEST(CliOutputFilesTest, MergeChecksItsOutputFirst) {
  const std::string dir = ScratchDir("merge_out");
  const CliRun run = Qreport("merge " + dir + "/missing.qstate --out " + dir + "/no/such/dir/m");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr(dir + "/no/such/dir/m: cannot create a file in " + dir +
                                 "/no/such/dir: No such file or directory"));
}

}  // namespace
}  // namespace qreport::cli_testing

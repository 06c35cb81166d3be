// Runs the qreport binary as a user would and checks exit codes, stdout and stderr.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Paths compiled in by CMake; environment variables of the same names override them.
std::string Setting(const char* name, const char* built_in) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : built_in;
}

std::string Fixture(const std::string& file) {
  return Setting("QREPORT_FIXTURES", QREPORT_FIXTURE_DIR) + "/" + file;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs `qreport ARGS` with stdout captured through a pipe and stderr through a file.
CliRun Qreport(const std::string& args) {
  const std::string err_path =
      ::testing::TempDir() + "qreport_cli_stderr_" + std::to_string(::getpid()) + ".txt";
  const std::string command = "COLUMNS=200 '" + Setting("QREPORT_BIN", QREPORT_BIN_PATH) + "' " +
                              args + " 2>'" + err_path + "'";
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = ReadFile(err_path);
  std::remove(err_path.c_str());
  return run;
}

size_t Lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(CliTest, HelpTeachesTheCommands) {
  const CliRun run = Qreport("--help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("inspect"));
  EXPECT_THAT(run.out, HasSubstr("--version"));
  EXPECT_EQ(run.err, "");
}

TEST(CliTest, InspectHelpHasExamples) {
  const CliRun run = Qreport("inspect --help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("--json"));
  EXPECT_THAT(run.out, HasSubstr("--no-fusion"));
  EXPECT_THAT(run.out, HasSubstr("qreport inspect resnet18.pt"));
}

TEST(CliTest, VersionNamesLibTorch) {
  const CliRun run = Qreport("--version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, StartsWith("qreport 0.1.0 (LibTorch 1.13"));
}

TEST(CliTest, BadUsageIsExitCodeTwoWithOneLine) {
  for (const char* args : {"", "frobnicate", "inspect", "inspect --bogus x.pt"}) {
    const CliRun run = Qreport(args);
    EXPECT_EQ(run.exit_code, 2) << args;
    EXPECT_THAT(run.err, StartsWith("qreport: error: ")) << args;
    EXPECT_EQ(Lines(run.err), 1u) << args << ": " << run.err;
    EXPECT_EQ(run.out, "") << args;
  }
}

struct BadInput {
  std::string file;
  std::string says;
};

class CliBadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInputTest, ExitCodeTwoAndASpecificLine) {
  const CliRun run = Qreport("inspect '" + Fixture(GetParam().file) + "'");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, StartsWith("qreport: error: "));
  EXPECT_THAT(run.err, HasSubstr(GetParam().says));
  EXPECT_EQ(Lines(run.err), 1u) << run.err;
  EXPECT_EQ(run.out, "");
}

void PrintTo(const BadInput& input, std::ostream* out) { *out << input.file; }

INSTANTIATE_TEST_SUITE_P(Fixtures, CliBadInputTest,
                         ::testing::Values(BadInput{"missing.pt", "no such file"},
                                           BadInput{"empty.pt", "empty"},
                                           BadInput{"truncated.pt", "damaged or truncated"},
                                           BadInput{"torch_save_module.pt", "torch.save archive"},
                                           BadInput{"torch_save_legacy.pt", "torch.save pickle"},
                                           BadInput{"not_a_model.txt", "not a TorchScript"},
                                           BadInput{"newer_version.pt", "newer PyTorch"},
                                           BadInput{"no_forward.pt", "no forward method"}));

TEST(CliTest, InspectPrintsATable) {
  const CliRun run = Qreport("inspect '" + Fixture("conv_bn_relu.pt") + "'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("fqn"));
  EXPECT_THAT(run.out, HasSubstr("conv1  Conv2d  nn.Conv2d"));
  EXPECT_THAT(run.out, HasSubstr("input \u2192 relu (bn folded)"));
  EXPECT_THAT(run.out, HasSubstr("4 quantizable layer(s): 2 Linear, 2 Conv2d; fusion on"));
  EXPECT_EQ(run.err, "");
}

TEST(CliTest, InspectJsonListsEveryLayer) {
  const CliRun run = Qreport("inspect --json '" + Fixture("resnet18.pt") + "'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = nlohmann::json::parse(run.out);
  const auto expected = nlohmann::json::parse(ReadFile(Fixture("resnet18.expected.json")));
  ASSERT_EQ(json["layers"].size(), expected["layers"].size());
  for (size_t i = 0; i < json["layers"].size(); ++i) {
    EXPECT_EQ(json["layers"][i]["fqn"], expected["layers"][i]["fqn"]);
  }
  EXPECT_EQ(json["fusion"], true);
}

TEST(CliTest, NoFusionSwitchesFusionOff) {
  const CliRun run = Qreport("inspect --json --no-fusion '" + Fixture("conv_bn_relu.pt") + "'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = nlohmann::json::parse(run.out);
  EXPECT_EQ(json["fusion"], false);
  for (const auto& layer : json["layers"]) {
    EXPECT_EQ(layer["fusion"]["batch_norm"], nullptr);
    EXPECT_EQ(layer["fusion"]["relu"], false);
  }
}

}  // namespace

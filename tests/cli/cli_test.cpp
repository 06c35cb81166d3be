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
#include "qreport/core/observer_bank.h"

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

std::string Python() { return Setting("QREPORT_PYTHON", QREPORT_PYTHON_PATH); }

std::string ScratchDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "qreport_cli_" + name;
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  return dir;
}

// Numbers equal up to the rounding of summing in another order.
void ExpectSameJson(const nlohmann::json& a, const nlohmann::json& b, const std::string& where) {
  if (a.is_number_float() || b.is_number_float()) {
    const double x = a.get<double>(), y = b.get<double>();
    EXPECT_NEAR(x, y, 1e-9 * std::max(1.0, std::abs(y))) << where;
  } else if (a.is_object() || a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string key = a.is_object() ? it.key() : "";
      const auto& other =
          a.is_object() ? b.at(it.key()) : b.at(static_cast<size_t>(std::distance(a.begin(), it)));
      ExpectSameJson(*it, other, where + "/" + key);
    }
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

TEST(CliCalibrateTest, SplitCalibrationMergesToTheSameState) {
  const std::string dir = ScratchDir("merge");
  const std::string make_batches =
      "'" + Python() +
      "' -c \"import numpy as np; r = np.random.default_rng(7); "
      "[np.save('" +
      dir +
      "/' + n + '.npy', r.standard_normal((4, 16)).astype(np.float32)) "
      "for n in ('a1', 'a2', 'b1', 'b2')]\"";
  ASSERT_EQ(std::system(make_batches.c_str()), 0);
  const std::string model = "'" + Fixture("mlp.pt") + "'";
  auto calibrate = [&](const std::string& files, const std::string& state) {
    const CliRun run =
        Qreport("calibrate " + model + " -q --data " + files + " --state " + dir + "/" + state);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("state written to"));
  };
  calibrate(dir + "/a1.npy " + dir + "/a2.npy", "a.qstate");
  calibrate(dir + "/b1.npy " + dir + "/b2.npy", "b.qstate");
  calibrate(dir + "/a1.npy " + dir + "/a2.npy " + dir + "/b1.npy " + dir + "/b2.npy", "ab.qstate");
  const CliRun merge =
      Qreport("merge " + dir + "/a.qstate " + dir + "/b.qstate --out " + dir + "/merged.qstate");
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  EXPECT_THAT(merge.out, HasSubstr("merged 2 state(s), 4 batch(es)"));

  const auto merged = qreport::ObserverBank::Load(dir + "/merged.qstate");
  const auto sequential = qreport::ObserverBank::Load(dir + "/ab.qstate");
  ASSERT_EQ(merged.size(), sequential.size());
  EXPECT_EQ(merged.batches(), 4);
  for (size_t slot = 0; slot < merged.size(); ++slot) {
    ExpectSameJson(merged.state(slot).ToJson(), sequential.state(slot).ToJson(),
                   qreport::ToString(merged.key(slot)));
  }
}

TEST(CliCalibrateTest, StatesOfAnotherModelDoNotMerge) {
  const std::string dir = ScratchDir("other_model");
  ASSERT_EQ(Qreport("calibrate '" + Fixture("mlp.pt") +
                    "' -q --input-shape 2,16 --batches 1 "
                    "--state " +
                    dir + "/mlp.qstate")
                .exit_code,
            0);
  ASSERT_EQ(Qreport("calibrate '" + Fixture("conv_bn_relu.pt") +
                    "' -q --input-shape 1,3,8,8 "
                    "--batches 1 --state " +
                    dir + "/cnn.qstate")
                .exit_code,
            0);
  const CliRun run =
      Qreport("merge " + dir + "/mlp.qstate " + dir + "/cnn.qstate --out " + dir + "/x.qstate");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("cannot merge states of different models"));
  EXPECT_EQ(Lines(run.err), 1u);
  std::ifstream out(dir + "/x.qstate");
  EXPECT_FALSE(out.good()) << "no output file on failure";
}

TEST(CliCalibrateTest, InputTheModelRejectsIsExitCodeTwo) {
  const std::string dir = ScratchDir("bad_input");
  const CliRun run = Qreport("calibrate '" + Fixture("mlp.pt") + "' -q --input-shape 2,3 --state " +
                             dir + "/s.qstate");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("mlp.pt: the model rejected the input"));
  EXPECT_THAT(run.err, HasSubstr("mat1 and mat2 shapes cannot be multiplied"));
  EXPECT_EQ(Lines(run.err), 1u);
  std::ifstream out(dir + "/s.qstate");
  EXPECT_FALSE(out.good()) << "no state file on failure";
}

TEST(CliCalibrateTest, NeedsData) {
  const CliRun run = Qreport("calibrate '" + Fixture("mlp.pt") + "' --state x.qstate");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("calibrate needs data"));
}

}  // namespace

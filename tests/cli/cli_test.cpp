// Runs the qreport binary as a user would and checks exit codes, stdout and stderr.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include "cli/cli_support.h"
#include "qreport/core/error.h"
#include "qreport/core/observe/observer_bank.h"
#include "testing/json_near.h"

namespace qreport::cli_testing {
namespace {

using qreport::testing::JsonNear;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The states at two paths hold the same points and statistics: equal, or within `tolerance`
// (sums added in another order) when it is given.
void ExpectSameStates(const std::string& path_a, const std::string& path_b, double tolerance = 0) {
  const auto a = qreport::ObserverBank::Load(path_a);
  const auto b = qreport::ObserverBank::Load(path_b);
  EXPECT_EQ(a.batches(), b.batches());
  ASSERT_EQ(a.size(), b.size());
  for (size_t slot = 0; slot < a.size(); ++slot) {
    if (tolerance == 0) {
      EXPECT_EQ(a.state(slot).ToJson(), b.state(slot).ToJson()) << qreport::ToString(a.key(slot));
    } else {
      EXPECT_TRUE(JsonNear(a.state(slot).ToJson(), b.state(slot).ToJson(), tolerance))
          << qreport::ToString(a.key(slot));
    }
  }
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

TEST(CliTest, EverySubcommandTakesQuiet) {
  for (const char* command : {"inspect", "analyze", "calibrate", "merge", "view"}) {
    const CliRun run = Qreport(std::string(command) + " --help");
    EXPECT_EQ(run.exit_code, 0) << command;
    EXPECT_THAT(run.out, HasSubstr("-q,--quiet")) << command;
  }
  const CliRun inspect = Qreport("inspect -q '" + Fixture("mlp.pt") + "'");
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
}

TEST(CliTest, VersionNamesLibTorch) {
  const CliRun run = Qreport("--version");
  EXPECT_EQ(run.exit_code, 0);
  // The version CMake found, so a binary built against one LibTorch never reports another.
  EXPECT_THAT(run.out, StartsWith("qreport 0.1.0 (LibTorch " QREPORT_EXPECTED_LIBTORCH));
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
  auto calibrate = [&](const std::string& files, const std::string& state,
                       const std::string& flags = "") {
    const CliRun run = Qreport("calibrate " + model + " -q --data " + files + " --state " + dir +
                               "/" + state + flags);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("state written to"));
  };
  calibrate(dir + "/a1.npy " + dir + "/a2.npy", "a.qstate");
  calibrate(dir + "/b1.npy " + dir + "/b2.npy", "b.qstate");
  // Under glibc's own heap policy: where freed memory goes changes no statistic.
  calibrate(dir + "/a1.npy " + dir + "/a2.npy " + dir + "/b1.npy " + dir + "/b2.npy", "ab.qstate",
            " --return-freed-memory");
  // --quiet as on every subcommand.
  const CliRun merge = Qreport("merge " + dir + "/a.qstate " + dir + "/b.qstate --out " + dir +
                               "/merged.qstate --quiet");
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  EXPECT_THAT(merge.out, HasSubstr("merged 2 state(s), 4 batch(es)"));

  EXPECT_EQ(qreport::ObserverBank::Load(dir + "/merged.qstate").batches(), 4);
  ExpectSameStates(dir + "/merged.qstate", dir + "/ab.qstate", 1e-9);
}

// --shard I/N: N runs over the same data, merged, equal one run over all of it; a shard past
// the last batch is an empty run and an error, not a silent empty state.
TEST(CliCalibrateTest, ShardsMergeToTheWholeRun) {
  const std::string dir = ScratchDir("shard");
  const std::string model = "'" + Fixture("mlp.pt") + "'";
  const std::string data = " -q --input-shape 3,16 --batches 7 --seed 5";
  ASSERT_EQ(Qreport("calibrate " + model + data + " --state " + dir + "/all.qstate").exit_code, 0);
  std::string parts;
  for (int i = 0; i < 3; ++i) {
    const std::string part = dir + "/part" + std::to_string(i) + ".qstate";
    const CliRun run = Qreport("calibrate " + model + data + " --shard " + std::to_string(i) +
                               "/3 --state " + part);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    // 7 batches in 3 shards: 3, 2 and 2.
    EXPECT_THAT(run.out, HasSubstr("calibrated " + std::to_string(i == 0 ? 3 : 2) + " batch(es)"));
    parts += " " + part;
  }
  ASSERT_EQ(Qreport("merge" + parts + " -q --out " + dir + "/merged.qstate").exit_code, 0);
  EXPECT_EQ(qreport::ObserverBank::Load(dir + "/merged.qstate").batches(), 7);
  ExpectSameStates(dir + "/merged.qstate", dir + "/all.qstate", 1e-12);
  for (const char* bad : {"3/3", "-1/3", "1", "a/b", "0/0"}) {
    const CliRun run = Qreport("calibrate " + model + data + " --shard " + bad + " --state " + dir +
                               "/bad.qstate");
    EXPECT_EQ(run.exit_code, 2) << bad;
    EXPECT_THAT(run.err, HasSubstr("--shard " + std::string(bad) + ": expected I/N")) << bad;
  }
  const CliRun beyond = Qreport("calibrate " + model + " -q --input-shape 3,16 --batches 2 " +
                                "--shard 3/4 --state " + dir + "/none.qstate");
  EXPECT_EQ(beyond.exit_code, 2);
  EXPECT_THAT(beyond.err, HasSubstr("no calibration batches were read"));
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

// Starts `qreport calibrate` on mlp.pt's synthetic data in a child process; stdout discarded.
pid_t StartCalibration(const std::string& state, const std::string& batches,
                       const std::string& checkpoint_every, bool resume) {
  const std::string bin = Setting("QREPORT_BIN", QREPORT_BIN_PATH);
  const std::string model = Fixture("mlp.pt");
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    ::execl(bin.c_str(), "qreport", "calibrate", model.c_str(), "-q", "--input-shape", "4,16",
            "--batches", batches.c_str(), "--checkpoint-every", checkpoint_every.c_str(), "--state",
            state.c_str(), resume ? "--resume" : "--quiet", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Kill -9 at a random moment, several times over, each run resuming the last one's
// checkpoint: every checkpoint left is whole, and the final state is exactly that of a run
// that was never interrupted.
TEST(CliCalibrateTest, KilledRunsResumeFromTheirCheckpoints) {
  const std::string dir = ScratchDir("kill");
  const std::string state = dir + "/run.qstate";
  const unsigned seed = static_cast<unsigned>(std::random_device{}());
  std::mt19937 random(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  int64_t saved = 0;
  for (int round = 0; round < 4; ++round) {
    const pid_t pid = StartCalibration(state, "10000000", "50", /*resume=*/round > 0);
    ASSERT_GE(pid, 0);
    // Wait for a checkpoint beyond the last one, then kill at a random moment after it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    auto batches_in_state = [&]() -> int64_t {
      try {
        return qreport::ObserverBank::Load(state).batches();
      } catch (const ::qreport::Error&) {
        return 0;  // not written yet
      }
    };
    while (batches_in_state() <= saved && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(1, 400)(random)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the run ended before the kill";

    const int64_t now = qreport::ObserverBank::Load(state).batches();  // whole, or this throws
    EXPECT_EQ(now % 50, 0) << "only whole checkpoints are ever visible";
    EXPECT_GT(now, saved) << "round " << round;
    saved = now;
  }
  // A writer killed between writing and renaming leaves its hidden temporary file; the state
  // itself is never one.
  const std::string total = std::to_string(saved + 120);
  const CliRun resumed =
      Qreport("calibrate '" + Fixture("mlp.pt") + "' -q --input-shape 4,16 --batches " + total +
              " --checkpoint-every 50 --resume --state " + state);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("resumed from " + std::to_string(saved) + " batch(es) in " +
                                     state + "; ran 120 more"));
  const CliRun straight =
      Qreport("calibrate '" + Fixture("mlp.pt") + "' -q --input-shape 4,16 --batches " + total +
              " --state " + dir + "/straight.qstate");
  ASSERT_EQ(straight.exit_code, 0) << straight.err;

  EXPECT_EQ(qreport::ObserverBank::Load(state).batches(), saved + 120);
  ExpectSameStates(state, dir + "/straight.qstate");
}

// Two runs checkpointing into one --state at once: the file is always one run's complete
// state, never a mix of both.
TEST(CliCalibrateTest, ConcurrentWritersLeaveOneCompleteState) {
  const std::string dir = ScratchDir("concurrent");
  const std::string state = dir + "/shared.qstate";
  const pid_t first = StartCalibration(state, "300", "1", /*resume=*/false);
  const pid_t second = StartCalibration(state, "301", "1", /*resume=*/false);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  int loads = 0;
  for (;;) {
    int status = 0;
    const bool first_done = ::waitpid(first, &status, WNOHANG) != 0;
    if (first_done) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    if (std::ifstream(state).good()) {
      const int64_t batches = qreport::ObserverBank::Load(state).batches();  // throws if mixed
      EXPECT_GT(batches, 0);
      ++loads;
    }
    if (first_done) break;
  }
  int status = 0;
  ::waitpid(second, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const int64_t final_batches = qreport::ObserverBank::Load(state).batches();
  EXPECT_TRUE(final_batches == 300 || final_batches == 301) << final_batches;
  EXPECT_GT(loads, 0);
  // Each writer's temporary files were its own, and are gone.
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"shared.qstate"});
}

TEST(CliCalibrateTest, ResumingFromAnotherModelsStateIsRefused) {
  const std::string dir = ScratchDir("resume_other");
  ASSERT_EQ(Qreport("calibrate '" + Fixture("conv_bn_relu.pt") +
                    "' -q --input-shape 1,3,8,8 --batches 1 --state " + dir + "/s.qstate")
                .exit_code,
            0);
  const CliRun run = Qreport("calibrate '" + Fixture("mlp.pt") +
                             "' -q --input-shape 2,16 --resume --state " + dir + "/s.qstate");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr(dir + "/s.qstate: cannot resume from states of different models"));
  EXPECT_EQ(Lines(run.err), 1u);
}

// NaN or Inf in an activation is counted and reported for the point, not folded in.
TEST(CliCalibrateTest, NonFiniteActivationsAreReportedPerPoint) {
  const std::string dir = ScratchDir("nan");
  const std::string make_batch = "'" + Python() +
                                 "' -c \"import numpy as np; a = np.ones((4, 16), np.float32); "
                                 "a[1, 3] = np.nan; a[2, 5] = np.inf; np.save('" +
                                 dir + "/nan.npy', a)\"";
  ASSERT_EQ(std::system(make_batch.c_str()), 0);
  const CliRun run = Qreport("calibrate '" + Fixture("mlp.pt") + "' -q --data " + dir +
                             "/nan.npy --state " + dir + "/s.qstate");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err,
              HasSubstr("warning: fc1 (pre): 2 NaN/Inf value(s) left out of the statistics\n"));
  const auto bank = qreport::ObserverBank::Load(dir + "/s.qstate");
  EXPECT_EQ(bank.Find(qreport::PointKey{"fc1", qreport::ObservationPosition::kPre})
                ->issues()
                .nonfinite_values,
            2);
}

TEST(CliCalibrateTest, NeedsData) {
  const CliRun run = Qreport("calibrate '" + Fixture("mlp.pt") + "' --state x.qstate");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("calibrate needs data"));
}

// --- calibration data forms (tests/fixtures/export_data.py) --------------------------------

std::string DataFixture(const std::string& file) {
  return Setting("QREPORT_DATA_FIXTURES", QREPORT_DATA_FIXTURE_DIR) + "/" + file;
}

struct DataForm {
  std::string model;
  std::string data;  // --data entries (and options), relative to the data fixtures
  int batches;
};

void PrintTo(const DataForm& form, std::ostream* out) { *out << form.model << " " << form.data; }

class CliDataFormTest : public ::testing::TestWithParam<DataForm> {};

TEST_P(CliDataFormTest, CalibratesAndCountsTheBatches) {
  const DataForm& form = GetParam();
  const std::string dir = ScratchDir("data_form");
  std::string data;
  std::istringstream words(form.data);
  for (std::string word; words >> word;) {
    const bool option_or_number =
        word.rfind("--", 0) == 0 || word.find_first_not_of("0123456789") == std::string::npos;
    data += option_or_number ? " " + word : " '" + DataFixture(word) + "'";
  }
  const CliRun run = Qreport("calibrate '" + Fixture(form.model) + "' -q --data" + data +
                             " --state " + dir + "/s.qstate");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("calibrated " + std::to_string(form.batches) + " batch(es)"));
  EXPECT_EQ(qreport::ObserverBank::Load(dir + "/s.qstate").batches(), form.batches);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, CliDataFormTest,
    ::testing::Values(DataForm{"mlp.pt", "f64.npy", 1}, DataForm{"mlp.pt", "f16.npy f32.npy", 2},
                      DataForm{"mlp.pt", "dir", 3},
                      DataForm{"mlp.pt", "rows10.npy --batch-size 4", 3},
                      DataForm{"mlp.pt", "rows10.npz --batch-size 5", 2},
                      DataForm{"mlp.pt", "container_list.pt:inputs", 2},
                      DataForm{"mlp.pt", "container_tensor.pt:inputs --batch-size 4", 2},
                      DataForm{"mlp.pt", "f32.npy dir container_list.pt:inputs", 6},
                      DataForm{"multi_input.pt", "by_order.npz", 1},
                      DataForm{"multi_input.pt", "by_name.npz by_name_compressed.npz", 2},
                      DataForm{"multi_input.pt", "container_tuples.pt:inputs", 3}));

// Runs calibrate on `model` with `data` and expects exit code 2, one error line holding every
// one of `says`, and no state file.
void ExpectCalibrateError(const std::string& model, const std::string& data,
                          const std::vector<std::string>& says) {
  const std::string dir = ScratchDir("data_error");
  const CliRun run = Qreport("calibrate '" + Fixture(model) + "' -q --data " + data + " --state " +
                             dir + "/s.qstate");
  EXPECT_EQ(run.exit_code, 2) << data;
  EXPECT_THAT(run.err, StartsWith("qreport: error: "));
  for (const std::string& text : says) EXPECT_THAT(run.err, HasSubstr(text));
  EXPECT_EQ(Lines(run.err), 1u) << run.err;
  std::ifstream out(dir + "/s.qstate");
  EXPECT_FALSE(out.good()) << "no state file on failure";
}

TEST(CliDataTest, TorchSaveFileIsExitCodeTwoWithTheFix) {
  const std::string path = DataFixture("torch_save_tensor.pt");
  ExpectCalibrateError("mlp.pt", path,
                       {"qreport: error: " + path + ": this is a torch.save archive",
                        "LibTorch 1.13 cannot read torch.save files", "np.save('x.npy', t.numpy())",
                        "torch.jit.script(m).save('x.pt')"});
}

TEST(CliDataTest, RejectedInputNamesTheFileAndTheInput) {
  // The first file is fine; the second has 3 features where mlp's fc1 takes 16.
  const std::string bad = DataFixture("wrong_features.npy");
  ExpectCalibrateError(
      "mlp.pt", DataFixture("f32.npy") + " " + bad,
      {"qreport: error: " + bad + ": input 'x' (float32 [4,3]): ", "the model rejected the input",
       "mat1 and mat2 shapes cannot be multiplied"});
}

TEST(CliDataTest, WrongInputCountNamesForwardsArguments) {
  ExpectCalibrateError("multi_input.pt", DataFixture("f32.npy"),
                       {DataFixture("f32.npy") + ": 1 input(s), but forward(a, b) takes 2"});
  ExpectCalibrateError("multi_input.pt", DataFixture("missing_name.npz"),
                       {"no array for input 'b' of forward(a, b)"});
}

TEST(CliDataTest, EmptyDataIsExitCodeTwo) {
  ExpectCalibrateError("mlp.pt", DataFixture("empty_dir"), {"holds no .npy or .npz files"});
  ExpectCalibrateError("mlp.pt", DataFixture("no_rows.npy"), {"is empty (shape [0,16])"});
  ExpectCalibrateError("mlp.pt", DataFixture("nope.npy"), {"no such file or directory"});
}

// An input shape beyond any memory is the user's request, not a bug: one line naming the
// shape and the bytes, exit code 2.
TEST(CliDataTest, ImpossibleInputShapeIsAUserError) {
  const CliRun run =
      Qreport("analyze '" + Fixture("conv_bn_relu.pt") + "' -q --input-shape 100000000,1000,8,8");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("input shape 100000000,1000,8,8: a float32 batch of it needs "
                                 "25.6 TB (23.3 TiB), more than this machine's memory"));
  EXPECT_EQ(Lines(run.err), 1u) << run.err;
  EXPECT_THAT(run.err, Not(HasSubstr("bug")));
}

// Images saved as uint8 come in as int64; the model's error names the option that casts and
// scales them, and with it they calibrate exactly as the same images saved as float32.
TEST(CliDataTest, IntegerImagesAreCastAndScaledOnRequest) {
  const std::string u8 = DataFixture("images_u8.npy");
  ExpectCalibrateError("mlp.pt", u8,
                       {u8 + ": input 'x' (int64 [4,16])", "the model rejected the input",
                        "--input-dtype float32 --input-scale 1/255"});
  const std::string dir = ScratchDir("u8");
  const CliRun cast =
      Qreport("calibrate '" + Fixture("mlp.pt") + "' -q --data " + u8 +
              " --input-dtype float32 --input-scale 1/255 --state " + dir + "/cast.qstate");
  ASSERT_EQ(cast.exit_code, 0) << cast.err;
  const CliRun floats =
      Qreport("calibrate '" + Fixture("mlp.pt") + "' -q --data " +
              DataFixture("images_u8_as_f32.npy") + " --state " + dir + "/f32.qstate");
  ASSERT_EQ(floats.exit_code, 0) << floats.err;
  ExpectSameStates(dir + "/cast.qstate", dir + "/f32.qstate");
  const CliRun bad_scale = Qreport("calibrate '" + Fixture("mlp.pt") + "' -q --data " + u8 +
                                   " --input-scale 1/0 --state " + dir + "/x.qstate");
  EXPECT_EQ(bad_scale.exit_code, 2);
  EXPECT_THAT(bad_scale.err, HasSubstr("--input-scale 1/0: expected a finite, non-zero factor"));
}

TEST(CliDataTest, HelpDocumentsTheDataForms) {
  const CliRun run = Qreport("calibrate --help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("--batch-size"));
  EXPECT_THAT(run.out, HasSubstr("ARCHIVE.pt:ATTR"));
  const CliRun without_data = Qreport("calibrate '" + Fixture("mlp.pt") +
                                      "' --input-shape 2,16 --batch-size 4 --state x.qstate");
  EXPECT_EQ(without_data.exit_code, 2) << "--batch-size splits --data files only";
  EXPECT_THAT(without_data.err, HasSubstr("--batch-size"));
}

}  // namespace
}  // namespace qreport::cli_testing

#include "calibrate_command.h"

#include <iostream>

#include "progress.h"
#include "qreport/core/error.h"
#include "qreport/core/observer_bank.h"
#include "qreport/torchscript/calibration_data.h"
#include "qreport/torchscript/prepared_model.h"

namespace qreport::cli {

CLI::App* AddCalibrateCommand(CLI::App& app, CalibrateOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Run calibration batches through MODEL and save the observers' statistics to a state "
      "file, without reporting. States of the same model merge with 'qreport merge'.");
  cmd->add_option("model", options.model_path, "TorchScript archive")
      ->required()
      ->type_name("MODEL.pt");
  auto* data = cmd->add_option("--data", options.data,
                               "Calibration batches: .npy files (one input each) or .npz files "
                               "(one array per model input, in order); one file per batch")
                   ->type_name("FILE...");
  auto* shape = cmd->add_option("--input-shape", options.input_shapes,
                                "Synthetic data of this shape instead (repeat for several "
                                "inputs), e.g. --input-shape 8,3,224,224")
                    ->type_name("N,C,...");
  data->excludes(shape);
  cmd->add_option("--batches", options.batches, "Number of synthetic batches")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", options.seed, "Seed of the synthetic data")->capture_default_str();
  cmd->add_option("--distribution", options.distribution, "Synthetic values: normal or uniform")
      ->check(CLI::IsMember({"normal", "uniform"}))
      ->capture_default_str();
  cmd->add_option("--state", options.state_path, "Where to write the state (written atomically)")
      ->required()
      ->type_name("OUT");
  cmd->add_flag("--no-fusion", options.no_fusion,
                "Observe raw layer outputs (no BatchNorm folding or ReLU fusion)");
  cmd->add_flag("--quiet,-q", options.quiet, "No progress line");
  cmd->footer(
      "\nExamples:\n"
      "  qreport calibrate model.pt --data calib/*.npy --state part1.qstate\n"
      "  qreport calibrate resnet18.pt --input-shape 8,3,224,224 --batches 32 --state s.qstate\n");
  return cmd;
}

CLI::App* AddMergeCommand(CLI::App& app, MergeOptions& options) {
  CLI::App* cmd =
      app.add_subcommand("merge",
                         "Combine calibration states of the same model into one, exactly as if all "
                         "their batches had run in one process.");
  cmd->add_option("states", options.inputs, "State files written by 'qreport calibrate'")
      ->required()
      ->type_name("STATE...");
  cmd->add_option("--out,-o", options.out, "The merged state (written atomically)")
      ->required()
      ->type_name("STATE");
  cmd->footer("\nExample:\n  qreport merge part1.qstate part2.qstate --out all.qstate\n");
  return cmd;
}

void RunCalibrate(const CalibrateOptions& options) {
  QREPORT_CHECK(!options.data.empty() || !options.input_shapes.empty(),
                "calibrate needs data: --data FILE... or --input-shape N,C,...");
  const auto model = torchscript::Model::Load(options.model_path);
  torchscript::PrepareOptions prepare;
  prepare.graph.fusion = !options.no_fusion;
  auto prepared = torchscript::PreparedModel::Prepare(model, prepare);

  std::unique_ptr<torchscript::CalibrationData> data;
  if (!options.data.empty()) {
    data = torchscript::NumpyData(options.data);
  } else {
    torchscript::SyntheticOptions synthetic;
    for (const std::string& shape : options.input_shapes) {
      synthetic.input_shapes.push_back(torchscript::ParseShape(shape));
    }
    synthetic.batches = options.batches;
    synthetic.seed = options.seed;
    synthetic.distribution = options.distribution == "uniform"
                                 ? torchscript::SyntheticOptions::Distribution::kUniform
                                 : torchscript::SyntheticOptions::Distribution::kNormal;
    data = torchscript::SyntheticData(synthetic);
  }

  ProgressBar progress("calibrating", data->size(), options.quiet);
  int64_t done = 0;
  while (auto batch = data->Next()) {
    prepared.Forward(std::move(*batch));
    progress.Update(++done);
  }
  progress.Finish();
  QREPORT_CHECK_KIND(done > 0, ErrorKind::kBadData, "no calibration batches were read");
  prepared.bank().Save(options.state_path);
  std::cout << fmt::format(
      "calibrated {} batch(es) at {} observation points of {} layer(s); "
      "state written to {}\n",
      done, prepared.bank().size(), prepared.layers().size(), options.state_path);
}

void RunMerge(const MergeOptions& options) {
  ObserverBank merged = ObserverBank::Load(options.inputs.front());
  for (size_t i = 1; i < options.inputs.size(); ++i) {
    try {
      merged.Merge(ObserverBank::Load(options.inputs[i]));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kInvalidArgument) throw;
      throw MakeError(ErrorKind::kInvalidArgument, "{}: {}", options.inputs[i], e.what());
    }
  }
  merged.Save(options.out);
  std::cout << fmt::format("merged {} state(s), {} batch(es) in all; written to {}\n",
                           options.inputs.size(), merged.batches(), options.out);
}

}  // namespace qreport::cli

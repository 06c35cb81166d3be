#include "calibrate_command.h"

#include <iostream>

#include <fmt/ranges.h>

#include "ops_library.h"
#include "progress.h"
#include "qreport/core/error.h"
#include "qreport/core/io/output_file.h"
#include "qreport/core/observe/observer_bank.h"
#include "qreport/torchscript/calibrate.h"
#include "qreport/torchscript/calibration_data.h"
#include "qreport/torchscript/model_report.h"
#include "qreport/torchscript/prepared_model.h"

namespace qreport::cli {
namespace {

// Values and batches the observers could not use, one line per point, so a NaN in an
// activation never hides silently in the statistics.
void WarnAboutObserverIssues(const ObserverBank& bank) {
  for (size_t slot = 0; slot < bank.size(); ++slot) {
    const ObserverIssues& issues = bank.state(slot).issues();
    if (issues.empty()) continue;
    std::vector<std::string> what;
    if (issues.nonfinite_values > 0) {
      what.push_back(
          fmt::format("{} NaN/Inf value(s) left out of the statistics", issues.nonfinite_values));
    }
    if (issues.empty_batches > 0) {
      what.push_back(fmt::format("{} batch(es) without a finite value", issues.empty_batches));
    }
    if (issues.missing_axis_batches > 0) {
      what.push_back(fmt::format("{} batch(es) without the channel axis {}",
                                 issues.missing_axis_batches,
                                 bank.state(slot).options().channel_axis));
    }
    if (issues.channel_mismatch_batches > 0) {
      what.push_back(fmt::format("{} batch(es) with a different channel count",
                                 issues.channel_mismatch_batches));
    }
    std::cerr << fmt::format("warning: {}: {}\n", ToString(bank.key(slot)), fmt::join(what, "; "));
  }
}

}  // namespace

CLI::App* AddCalibrateCommand(CLI::App& app, CalibrateOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Run calibration batches through MODEL and save the observers' statistics to a state "
      "file, without reporting. States of the same model merge with 'qreport merge'.");
  cmd->add_option("model", options.model_path, "TorchScript archive")
      ->required()
      ->type_name("MODEL.pt");
  AddDataOptions(cmd, options.data);
  AddDetectorOptions(cmd, options.detectors);
  cmd->add_option("--state", options.state_path, "Where to write the state (written atomically)")
      ->required()
      ->type_name("OUT");
  cmd->add_option("--checkpoint-every", options.checkpoint_every,
                  "Rewrite the state (atomically) every N batches, so a killed run loses at "
                  "most N batches; 0: only at the end")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->type_name("N");
  cmd->add_flag("--resume", options.resume,
                "Continue from the state a killed run left at --state: its batches are kept "
                "and skipped in the data (give the same data, in the same order)");
  cmd->add_option("--shard", options.shard,
                  "Calibrate on every N-th batch starting at batch I (counted from 0): N runs "
                  "with I = 0 .. N-1 (a job array, or any scheduler) see every batch once, and "
                  "'qreport merge' combines their states exactly")
      ->type_name("I/N");
  cmd->add_flag("--no-fusion", options.no_fusion,
                "Observe raw layer outputs: no BatchNorm folding or ReLU fusion (a folded "
                "BatchNorm's input is not observed, as fusion removes it; with this flag it is)");
  AddOpsLibraryOption(cmd, options.ops_libraries);
  AddQuietFlag(cmd, options.quiet);
  cmd->footer(
      "\nExamples:\n"
      "  qreport calibrate model.pt --data calib/*.npy --state part1.qstate\n"
      "  qreport calibrate resnet18.pt --input-shape 8,3,224,224 --batches 32 --state s.qstate\n"
      "  qreport calibrate model.pt --data calib/ --state run.qstate --resume   # after a kill\n"
      "  qreport calibrate model.pt --data calib/ --shard 2/4 --state part2.qstate  # 1 of 4 "
      "jobs\n");
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
  AddQuietFlag(cmd, options.quiet);
  cmd->footer("\nExample:\n  qreport merge part1.qstate part2.qstate --out all.qstate\n");
  return cmd;
}

void RunCalibrate(const CalibrateOptions& options) {
  // Found now, not after the last batch.
  CheckCanWrite(options.state_path);
  std::optional<std::pair<int64_t, int64_t>> shard;
  if (!options.shard.empty()) shard = torchscript::ParseShard(options.shard);
  ApplyHeapPolicy(HeapPolicyOf(options.data));
  const int threads = UseThreads(options.data);
  const auto model = LoadModel(options.model_path, options.ops_libraries, options.quiet);
  auto data = MakeData(options.data, model, "calibrate");
  if (shard) data = torchscript::Shard(std::move(data), shard->first, shard->second);
  // The detectors decide what is observed, so 'qreport analyze --state' can report from the
  // result with the same detectors and options.
  torchscript::ModelReportOptions report_options;
  report_options.graph.fusion = !options.no_fusion;
  torchscript::ModelReport model_report(model, MakeDetectors(options.detectors), report_options);
  torchscript::PreparedModel& prepared = model_report.PrepareDetailedCalibration();

  ProgressBar progress("calibrating", data->size(), options.quiet);
  torchscript::CalibrationOptions run;
  run.checkpoint_path = options.state_path;
  run.checkpoint_every = options.checkpoint_every;
  run.resume = options.resume;
  run.on_batch = [&](int64_t done, std::optional<int64_t>) { progress.Update(done); };
  const torchscript::CalibrationSummary summary = torchscript::Calibrate(prepared, *data, run);
  progress.Finish();
  const int64_t done = summary.total();
  WarnAboutObserverIssues(prepared.bank());
  if (summary.resumed_batches > 0) {
    std::cout << fmt::format("resumed from {} batch(es) in {}; ran {} more\n",
                             summary.resumed_batches, options.state_path, summary.new_batches);
  }
  std::cout << fmt::format(
      "calibrated {} batch(es) at {} observation points of {} layer(s) on {} thread(s); "
      "state written to {}\n",
      done, prepared.bank().size(), prepared.layers().size(), threads, options.state_path);
}

void RunMerge(const MergeOptions& options) {
  CheckCanWrite(options.out);
  const int64_t count = static_cast<int64_t>(options.inputs.size());
  ProgressBar progress("merging", count, options.quiet);
  ObserverBank merged = ObserverBank::Load(options.inputs.front());
  progress.Update(1);
  for (int64_t i = 1; i < count; ++i) {
    try {
      merged.Merge(ObserverBank::Load(options.inputs[i]));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kInvalidArgument) throw;
      throw MakeError(ErrorKind::kInvalidArgument, "{}: {}", options.inputs[i], e.what());
    }
    progress.Update(i + 1);
  }
  progress.Finish();
  merged.Save(options.out);
  std::cout << fmt::format("merged {} state(s), {} batch(es) in all; written to {}\n",
                           options.inputs.size(), merged.batches(), options.out);
}

}  // namespace qreport::cli

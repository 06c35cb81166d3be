#include "analyze_command.h"

#include <iostream>

#include <fmt/ranges.h>

#include "ops_library.h"
#include "output_files.h"
#include "progress.h"
#include "qreport/core/detect/report.h"
#include "qreport/core/error.h"
#include "qreport/core/render/html_report.h"
#include "qreport/torchscript/calibrate.h"
#include "qreport/torchscript/model_report.h"

namespace qreport::cli {
namespace {

// What --out holds, in the order the files are written and named.
const std::vector<std::string> kOutFiles = {"report.json",
                                            "report.html",
                                            "qconfig_mapping.json",
                                            "qconfig_mapping.py",
                                            "equalization_mapping.json",
                                            "tensor_table.csv",
                                            "channel_table.csv"};

}  // namespace

CLI::App* AddAnalyzeCommand(CLI::App& app, AnalyzeOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Calibrate MODEL, then say layer by layer how to quantize it: per-channel or per-tensor "
      "weights, dynamic or static activations, where input-weight equalization helps and "
      "where activation outliers will hurt. Writes the recommended configuration with --out.");
  cmd->add_option("model", options.model_path, "TorchScript archive")
      ->required()
      ->type_name("MODEL.pt");
  AddDataOptions(cmd, options.data);
  cmd->add_option("--state", options.state_path,
                  "Report from statistics saved by 'qreport calibrate' (same detectors and "
                  "options) instead of calibrating")
      ->type_name("STATE");
  AddDetectorOptions(cmd, options.detectors);
  cmd->add_option("--qconfig", options.qconfig_path,
                  "The configuration you quantize with today (JSON, see the README); default: "
                  "PyTorch's default_qconfig (static activations, per-tensor weights)")
      ->type_name("FILE");
  cmd->add_option("--out,-o", options.out_dir,
                  "Write report.json, report.html, qconfig_mapping.json, qconfig_mapping.py, "
                  "equalization_mapping.json, tensor_table.csv and channel_table.csv here (all "
                  "or none)")
      ->type_name("DIR");
  cmd->add_flag("--no-fusion", options.no_fusion,
                "Analyse raw layers: no BatchNorm folding or ReLU fusion (a folded BatchNorm's "
                "input is not observed, as fusion removes it; with this flag it is)");
  AddOpsLibraryOption(cmd, options.ops_libraries);
  AddQuietFlag(cmd, options.quiet);
  cmd->footer(
      "\nExamples:\n"
      "  qreport analyze resnet18.pt --input-shape 8,3,224,224 --batches 16 --out report/\n"
      "  qreport analyze model.pt --data calib/ --detectors outlier,dynamic_static\n"
      "  qreport analyze model.pt --state all.qstate --qconfig current.json --out report/\n");
  return cmd;
}

void RunAnalyze(const AnalyzeOptions& options) {
  QREPORT_CHECK(options.state_path.empty() || options.data.empty(),
                "give either calibration data or --state, not both");
  // Found now, not after calibrating every batch.
  if (!options.out_dir.empty()) CheckOutputFiles(options.out_dir, kOutFiles);
  const auto model = LoadModel(options.model_path, options.ops_libraries, options.quiet);
  torchscript::ModelReportOptions report_options;
  report_options.graph.fusion = !options.no_fusion;
  if (!options.qconfig_path.empty()) {
    report_options.current = QConfigMapping::FromJsonFile(options.qconfig_path);
  }
  torchscript::ModelReport model_report(model, MakeDetectors(options.detectors), report_options);

  int threads = 0;  // not known for a state calibrated elsewhere
  if (!options.state_path.empty()) {
    try {
      model_report.UseState(ObserverBank::Load(options.state_path));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kInvalidArgument) throw;
      throw MakeError(e.kind(), "{}: {}", options.state_path, e.what());
    }
  } else {
    ApplyHeapPolicy(HeapPolicyOf(options.data));
    threads = UseThreads(options.data);
    auto data = MakeData(options.data, model, "analyze");
    torchscript::PreparedModel& prepared = model_report.PrepareDetailedCalibration();
    ProgressBar progress("calibrating", data->size(), options.quiet);
    torchscript::CalibrationOptions run;
    run.on_batch = [&](int64_t done, std::optional<int64_t>) { progress.Update(done); };
    torchscript::Calibrate(prepared, *data, run);
    progress.Finish();
  }

  Report report = model_report.GenerateModelReport(/*remove_inserted_observers=*/true);
  report.threads = threads;
  std::cout << RenderReportText(report);
  if (options.out_dir.empty()) return;
  const QConfigMapping mapping = model_report.GenerateQConfigMapping();
  const ReportDocuments documents{ReportToJson(report), mapping.ToJson(),
                                  model_report.GenerateEqualizationMapping()};
  std::vector<OutputFile> files = {
      {"report.json", documents.report.dump(2) + "\n"},
      {"report.html", RenderHtmlReport(documents)},
      {"qconfig_mapping.json", documents.qconfig_mapping->dump(2) + "\n"},
      {"qconfig_mapping.py", ToPython(mapping)},
      {"equalization_mapping.json", documents.equalization_mapping->dump(2) + "\n"}};
  for (OutputFile& table : TableCsvFiles(model_report.GenerateVisualizer())) {
    files.push_back(std::move(table));
  }
  std::vector<std::string> names;
  for (const OutputFile& file : files) names.push_back(file.name);
  QREPORT_ASSERT(names == kOutFiles, "--out writes files its check did not look at");
  WriteOutputFiles(options.out_dir, files);
  std::cout << fmt::format("\nwrote {} to {}\n", fmt::join(kOutFiles, ", "), options.out_dir);
}

}  // namespace qreport::cli

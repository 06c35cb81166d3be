#include "view_command.h"

#include <filesystem>
#include <iostream>

#include "output_files.h"
#include "progress.h"
#include "qreport/core/error.h"
#include "qreport/core/render/html_report.h"
#include "qreport/core/render/visualizer.h"
#include "terminal.h"

namespace qreport::cli {
namespace {

// One file as (directory, name), for WriteOutputFiles.
std::pair<std::string, std::string> Split(const std::string& path) {
  const std::filesystem::path p(path);
  QREPORT_CHECK(p.has_filename(), "{}: expected a file name, not a directory", path);
  const std::string directory = p.parent_path().string();
  return {directory.empty() ? "." : directory, p.filename().string()};
}

std::string Plot(const Visualizer& visualizer, const ViewOptions& options) {
  const TableFilter filter{options.feature, options.module};
  if (options.plot == "channels") return visualizer.PlotAcrossChannels(filter);
  if (options.plot == "modules") return visualizer.PlotAcrossModules(filter);
  return visualizer.Histogram(filter, options.bins);
}

}  // namespace

CLI::App* AddViewCommand(CLI::App& app, ViewOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "view",
      "Show a saved report.json: its tables in the terminal (one row per module, or per module "
      "and channel), as CSV, as SVG plots, or as the HTML page 'analyze --out' writes.");
  cmd->add_option("report", options.report_path, "report.json written by 'qreport analyze --out'")
      ->required()
      ->type_name("REPORT.json");
  cmd->add_option("--out,-o", options.html_path,
                  "Write the HTML report here (with qconfig_mapping.json and "
                  "equalization_mapping.json from beside REPORT.json when present)")
      ->type_name("FILE.html");
  cmd->add_option("--csv", options.csv_dir,
                  "Write tensor_table.csv and channel_table.csv (filtered) into this directory")
      ->type_name("DIR");
  cmd->add_option("--feature", options.feature,
                  "Only features whose name contains this text (one feature for --plot)")
      ->type_name("TEXT");
  cmd->add_option("--module", options.module, "Only modules whose name contains this text")
      ->type_name("TEXT");
  cmd->add_option("--plot", options.plot,
                  "Plot --feature: across the channels of each module, across modules, or as a "
                  "histogram; written to --svg")
      ->check(CLI::IsMember({"channels", "modules", "histogram"}))
      ->type_name("channels|modules|histogram");
  cmd->add_option("--svg", options.svg_path, "Where --plot writes its SVG")->type_name("FILE.svg");
  cmd->add_option("--bins", options.bins, "Bins of --plot histogram")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_flag("--list", options.list, "List the modules and the plottable features");
  AddQuietFlag(cmd, options.quiet);
  cmd->footer(
      "\nWithout --out, --csv, --svg or --list, prints the tables, filtered, fitted to the "
      "terminal.\n\nExamples:\n"
      "  qreport view report/report.json --out report/report.html\n"
      "  qreport view report/report.json --feature per_channel_max --module body.1\n"
      "  qreport view report/report.json --plot channels --feature percentile_ratios "
      "--module head.0 --svg ratios.svg\n");
  return cmd;
}

void RunView(const ViewOptions& options) {
  QREPORT_CHECK(options.plot.empty() == options.svg_path.empty(),
                "--plot and --svg go together: --plot says what to draw, --svg where");
  const ReportDocuments documents = LoadReportDocuments(options.report_path);
  const Visualizer visualizer = Visualizer::FromReportJson(documents.report, options.report_path);

  // Everything is computed first, so a bad filter leaves no file behind.
  std::vector<std::pair<std::string, OutputFile>> outputs;
  if (!options.html_path.empty()) {
    const auto [directory, name] = Split(options.html_path);
    outputs.push_back({directory, {name, RenderHtmlReport(documents)}});
  }
  if (!options.svg_path.empty()) {
    const auto [directory, name] = Split(options.svg_path);
    outputs.push_back({directory, {name, Plot(visualizer, options)}});
  }
  if (!options.csv_dir.empty()) {
    for (OutputFile& file : TableCsvFiles(visualizer, {options.feature, options.module})) {
      outputs.push_back({options.csv_dir, std::move(file)});
    }
  }

  if (options.list) {
    std::cout << "modules:\n";
    for (const std::string& fqn : visualizer.ModuleFqns()) {
      std::cout << "  " << (fqn.empty() ? "<root>" : fqn) << "\n";
    }
    std::cout << "plottable features:\n";
    for (const std::string& name : visualizer.FeatureNames(/*plottable_only=*/true)) {
      std::cout << "  " << name << "\n";
    }
  } else if (outputs.empty()) {
    std::cout << visualizer.RenderTables({options.feature, options.module}, StdoutWidth());
  }
  for (const auto& [directory, file] : outputs) {
    WriteOutputFiles(directory, {file});
    std::cout << "wrote " << (std::filesystem::path(directory) / file.name).string() << "\n";
  }
}

}  // namespace qreport::cli

// `qreport view REPORT.json`: a saved report as tables in the terminal, CSV, SVG plots, or the
// HTML page analyze writes (rebuilt from the JSON, with the mappings saved beside it).
#ifndef QREPORT_TOOLS_VIEW_COMMAND_H_
#define QREPORT_TOOLS_VIEW_COMMAND_H_

#include <string>

#include <CLI/CLI.hpp>

namespace qreport::cli {

struct ViewOptions {
  std::string report_path;
  std::string html_path;  // --out: write the HTML page here
  std::string csv_dir;    // --csv: write the two tables here
  std::string feature;    // --feature: substring of the features shown or plotted
  std::string module;     // --module: substring of the modules shown or plotted
  std::string plot;       // --plot channels|modules|histogram, written to svg_path
  std::string svg_path;
  int bins = 10;
  bool list = false;   // --list: the modules and plottable features
  bool quiet = false;  // accepted as on every subcommand; view draws no progress line
};

CLI::App* AddViewCommand(CLI::App& app, ViewOptions& options);

// Throws qreport::Error on bad input; every output is computed before any file is written.
void RunView(const ViewOptions& options);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_VIEW_COMMAND_H_

// `qreport inspect MODEL.pt`: the quantizable layers of a model.
#ifndef QREPORT_TOOLS_INSPECT_COMMAND_H_
#define QREPORT_TOOLS_INSPECT_COMMAND_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace qreport::cli {

struct InspectOptions {
  std::string model_path;
  bool json = false;
  bool no_fusion = false;
  bool quiet = false;  // no progress line to draw; hides the note on an ops library found
  std::vector<std::string> ops_libraries;  // --ops-library, loaded before the model
};

// Adds the subcommand to `app`; `options` receives its arguments.
CLI::App* AddInspectCommand(CLI::App& app, InspectOptions& options);

// Runs it: prints the table (or JSON) to stdout. Throws qreport::Error on bad input.
void RunInspect(const InspectOptions& options);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_INSPECT_COMMAND_H_

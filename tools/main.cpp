// The qreport command line. Subcommands live in their own files; this one wires them up and
// is the one place where errors become exit codes:
//   0  success
//   1  internal error (a bug in qreport)
//   2  bad usage or bad input (unknown option, missing or unreadable file, not a model, ...)
#include <iostream>

#include <c10/util/Exception.h>
#include <torch/csrc/api/include/torch/version.h>
#include <CLI/CLI.hpp>

#include "analyze_command.h"
#include "calibrate_command.h"
#include "inspect_command.h"
#include "qreport/core/error.h"
#include "qreport/torchscript/torch_errors.h"
#include "qreport/version.h"
#include "view_command.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;

std::string VersionText() {
  return fmt::format("qreport {} (LibTorch {}.{}.{})", QREPORT_VERSION, TORCH_VERSION_MAJOR,
                     TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

int Fail(int code, const std::string& message) {
  std::cerr << "qreport: error: " << message << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "qreport analyses a neural network before it is quantized and says, layer by layer, "
      "what to do.",
      "qreport");
  app.set_version_flag("--version", VersionText(), "Print the version and exit");
  app.require_subcommand(1);
  app.footer("\nRun 'qreport COMMAND --help' for a command's options.");

  qreport::cli::InspectOptions inspect_options;
  CLI::App* inspect = qreport::cli::AddInspectCommand(app, inspect_options);
  qreport::cli::AnalyzeOptions analyze_options;
  CLI::App* analyze = qreport::cli::AddAnalyzeCommand(app, analyze_options);
  qreport::cli::CalibrateOptions calibrate_options;
  CLI::App* calibrate = qreport::cli::AddCalibrateCommand(app, calibrate_options);
  qreport::cli::MergeOptions merge_options;
  CLI::App* merge = qreport::cli::AddMergeCommand(app, merge_options);
  qreport::cli::ViewOptions view_options;
  CLI::App* view = qreport::cli::AddViewCommand(app, view_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    return Fail(kExitBadInput, std::string(e.what()) + " (see 'qreport --help')");
  }

  try {
    if (inspect->parsed()) qreport::cli::RunInspect(inspect_options);
    if (analyze->parsed()) qreport::cli::RunAnalyze(analyze_options);
    if (calibrate->parsed()) qreport::cli::RunCalibrate(calibrate_options);
    if (merge->parsed()) qreport::cli::RunMerge(merge_options);
    if (view->parsed()) qreport::cli::RunView(view_options);
    return kExitOk;
  } catch (const qreport::Error& e) {
    return Fail(e.kind() == qreport::ErrorKind::kInternal ? kExitInternal : kExitBadInput,
                e.what());
  } catch (const c10::Error& e) {
    if (auto error = qreport::torchscript::UserErrorOf(e))
      return Fail(kExitBadInput, error->what());
    // LibTorch errors that qreport did not turn into its own; without the C++ backtrace.
    return Fail(kExitInternal,
                std::string("unexpected error (a bug in qreport, please report it): ") + e.msg());
  } catch (const std::exception& e) {
    if (auto error = qreport::torchscript::UserErrorOf(e))
      return Fail(kExitBadInput, error->what());
    return Fail(kExitInternal,
                std::string("unexpected error (a bug in qreport, please report it): ") + e.what());
  }
}

// --ops-library PATH on every subcommand that loads a model: shared libraries registering
// custom TorchScript ops (torchvision::nms, ...), loaded before the model.
#ifndef QREPORT_TOOLS_OPS_LIBRARY_H_
#define QREPORT_TOOLS_OPS_LIBRARY_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace qreport::cli {

void AddOpsLibraryOption(CLI::App* cmd, std::vector<std::string>& paths);

// Loads each, in order. Throws qreport::Error naming the library that failed.
void LoadOpsLibraries(const std::vector<std::string>& paths);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_OPS_LIBRARY_H_

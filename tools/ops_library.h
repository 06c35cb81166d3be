// --ops-library PATH on every subcommand that loads a model: shared libraries registering
// custom TorchScript ops (torchvision::nms, ...), loaded before the model.
#ifndef QREPORT_TOOLS_OPS_LIBRARY_H_
#define QREPORT_TOOLS_OPS_LIBRARY_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "qreport/torchscript/model.h"

namespace qreport::cli {

void AddOpsLibraryOption(CLI::App* cmd, std::vector<std::string>& paths);

// Loads each of `ops_libraries`, in order, then the model at `model_path`. When the model
// loaded torchvision's ops library itself (Model::found_ops_library), says which on stderr
// unless `quiet`. Throws qreport::Error naming the library or the model that failed.
torchscript::Model LoadModel(const std::string& model_path,
                             const std::vector<std::string>& ops_libraries, bool quiet);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_OPS_LIBRARY_H_

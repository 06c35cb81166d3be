#include "ops_library.h"

#include "qreport/torchscript/model.h"

namespace qreport::cli {

void AddOpsLibraryOption(CLI::App* cmd, std::vector<std::string>& paths) {
  cmd->add_option("--ops-library", paths,
                  "Load this shared library of custom TorchScript ops before the model, as "
                  "torch.ops.load_library does (repeatable); for torchvision::nms and the other "
                  "torchvision ops, torchvision's _C*.so built for this LibTorch")
      ->type_name("PATH")
      ->allow_extra_args(false);
}

void LoadOpsLibraries(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) torchscript::LoadOpsLibrary(path);
}

}  // namespace qreport::cli

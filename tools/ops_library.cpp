#include "ops_library.h"

#include <iostream>

#include <fmt/format.h>

namespace qreport::cli {

void AddOpsLibraryOption(CLI::App* cmd, std::vector<std::string>& paths) {
  cmd->add_option("--ops-library", paths,
                  "Load this shared library of custom TorchScript ops before the model, as "
                  "torch.ops.load_library does (repeatable). For torchvision::nms and the other "
                  "torchvision ops, torchvision's _C*.so built for this LibTorch; without the "
                  "option qreport looks for it beside LibTorch")
      ->type_name("PATH")
      ->allow_extra_args(false);
}

torchscript::Model LoadModel(const std::string& model_path,
                             const std::vector<std::string>& ops_libraries, bool quiet) {
  for (const std::string& path : ops_libraries) torchscript::LoadOpsLibrary(path);
  torchscript::Model model = torchscript::Model::Load(model_path);
  if (!quiet && !model.found_ops_library().empty()) {
    std::cerr << fmt::format(
        "qreport: {} calls torchvision's ops: loaded {}, found beside this LibTorch "
        "(--ops-library PATH loads another)\n",
        model_path, model.found_ops_library());
  }
  return model;
}

}  // namespace qreport::cli

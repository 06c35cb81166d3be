// A project outside qreport's tree, built against the installed package.
#include <iostream>

#include "qreport/core/model/module_types.h"
#include "qreport/torchscript/layer_graph.h"
#include "qreport/version.h"

int main() {
  auto info = qreport::ClassifyModuleType("torch.nn.modules.conv.Conv2d");
  if (!info || info->kind != qreport::LayerKind::kConv2d) return 1;
  // Referencing the front-end makes the link step prove qreport::torchscript is usable.
  auto build = &qreport::torchscript::LayerGraph::Build;
  std::cout << "qreport " << QREPORT_VERSION << " " << (build != nullptr ? "ok" : "?") << "\n";
  return 0;
}

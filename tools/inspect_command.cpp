#include "inspect_command.h"

#include <iostream>

#include "ops_library.h"
#include "progress.h"
#include "qreport/core/render/inventory.h"
#include "qreport/torchscript/layer_graph.h"
#include "qreport/torchscript/model.h"
#include "terminal.h"

namespace qreport::cli {

CLI::App* AddInspectCommand(CLI::App& app, InspectOptions& options) {
  CLI::App* inspect = app.add_subcommand(
      "inspect",
      "List the quantizable layers of a TorchScript model: every Linear and Conv1d/2d/3d the "
      "forward pass calls, the module that owns it, its weight shape, how often it is called, "
      "and where qreport would observe it.");
  inspect
      ->add_option("model", options.model_path,
                   "TorchScript archive (torch.jit.script(m).save(path) or "
                   "torch.jit.trace(m, x).save(path))")
      ->required()
      ->type_name("MODEL.pt");
  inspect->add_flag("--json", options.json,
                    "Print JSON instead of a table (schema in README.md, 'inspect --json')");
  inspect->add_flag("--no-fusion", options.no_fusion,
                    "Observe each layer's raw output: do not fold a following BatchNorm into "
                    "the weight or observe after a following ReLU, as PyTorch's fusion would");
  AddOpsLibraryOption(inspect, options.ops_libraries);
  AddQuietFlag(inspect, options.quiet);
  inspect->footer(
      "\nExamples:\n"
      "  qreport inspect resnet18.pt\n"
      "  qreport inspect model.pt --json > layers.json\n");
  return inspect;
}

void RunInspect(const InspectOptions& options) {
  const auto model = LoadModel(options.model_path, options.ops_libraries, options.quiet);
  torchscript::LayerGraphOptions graph_options;
  graph_options.fusion = !options.no_fusion;
  const auto graph = torchscript::LayerGraph::Build(model, graph_options);
  const LayerInventory inventory{options.model_path, graph_options.fusion, graph.layers(),
                                 graph.unattributed(), graph.unanalysed()};
  if (options.json) {
    std::cout << InventoryToJson(inventory).dump(2) << "\n";
  } else {
    std::cout << RenderInventoryTable(inventory, StdoutWidth());
  }
}

}  // namespace qreport::cli

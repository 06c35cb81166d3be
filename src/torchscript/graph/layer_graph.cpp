#include "qreport/torchscript/layer_graph.h"

#include <torch/csrc/jit/ir/ir.h>

#include "graph/attention_kernels.h"
#include "graph/encoder_layer_kernels.h"
#include "graph/layer_finder.h"
#include "graph/module_finder.h"
#include "graph_utils.h"
#include "qreport/core/error.h"

namespace qreport::torchscript {

LayerGraph LayerGraph::Build(const Model& model, const LayerGraphOptions& options) {
  std::shared_ptr<torch::jit::Graph> graph;
  try {
    graph = internal::InlinedForwardGraph(model.module());
    internal::UnfuseEncoderLayers(graph);
    internal::UnfuseMultiHeadAttention(graph);
  } catch (const c10::Error& e) {
    throw MakeError(ErrorKind::kBadModel, "{}: cannot analyse forward: {}", model.path(),
                    internal::ConciseTorchError(e));
  }
  internal::GraphLayers found = internal::FindLayers(*graph, model.module(), options);
  std::vector<internal::LeafModuleCalls> calls = internal::FindLeafModules(graph, model.module());
  internal::DropFoldedCalls(calls, found.folded_inputs);
  std::vector<LeafModule> leaves;
  for (auto& leaf : calls) leaves.push_back(std::move(leaf.module));
  return LayerGraph(std::move(found.layers), std::move(found.unattributed), std::move(leaves),
                    std::move(found.unanalysed));
}

const LayerDescription* LayerGraph::Find(std::string_view fqn) const {
  for (const LayerDescription& layer : layers_) {
    if (layer.fqn == fqn) return &layer;
  }
  return nullptr;
}

}  // namespace qreport::torchscript

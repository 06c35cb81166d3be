// Private: the layer analysis on a graph the caller owns, with the IR values of each call's
// observation points, so PreparedModel can instrument the very graph it analysed.
#ifndef QREPORT_SRC_TORCHSCRIPT_GRAPH_LAYER_FINDER_H_
#define QREPORT_SRC_TORCHSCRIPT_GRAPH_LAYER_FINDER_H_

#include <string>
#include <unordered_map>
#include <vector>

#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include "qreport/core/model/layer.h"
#include "qreport/torchscript/layer_graph.h"

namespace qreport::torchscript::internal {

// One call site of a layer in the analysed graph.
struct ObservedValues {
  torch::jit::Node* call = nullptr;   // the aten::linear / conv node
  torch::jit::Value* pre = nullptr;   // its input activation
  torch::jit::Value* post = nullptr;  // its output, after fused BatchNorm/ReLU when fused
};

struct GraphLayers {
  std::vector<LayerDescription> layers;
  std::vector<std::vector<ObservedValues>> values;  // values[i]: the call sites of layers[i]
  std::vector<UnattributedCall> unattributed;
  // The input of each BatchNorm call folded into a layer (fusion on), and that layer's fqn:
  // a value the fused model no longer computes.
  std::unordered_map<const torch::jit::Value*, std::string> folded_inputs;
  // Linear/Conv weights (and MultiheadAttention projections) that are not layers, with why.
  std::vector<UnanalysedWeight> unanalysed;
};

// REQUIRES: `graph` is an inlined forward graph of `root` (InlinedForwardGraph or the same
// passes applied in place). The values point into `graph`.
GraphLayers FindLayers(torch::jit::Graph& graph, const torch::jit::Module& root,
                       const LayerGraphOptions& options);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_GRAPH_LAYER_FINDER_H_

// Private: every leaf module forward calls, found in an inlined graph through the nodes'
// inlined call stacks, with the tensors each call receives. Detectors that look at the input
// of every module (outliers) are served from here.
#ifndef QREPORT_SRC_TORCHSCRIPT_GRAPH_MODULE_FINDER_H_
#define QREPORT_SRC_TORCHSCRIPT_GRAPH_MODULE_FINDER_H_

#include <string>
#include <unordered_map>
#include <vector>

#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include "qreport/core/model/model_description.h"

namespace qreport::torchscript::internal {

// One call of a leaf module: where its inlined code starts and the tensors it reads that
// were computed outside it (parameters and constants excluded), in order of first use.
struct ModuleInvocation {
  torch::jit::Node* first = nullptr;
  std::vector<torch::jit::Value*> inputs;
};

struct LeafModuleCalls {
  LeafModule module;
  std::vector<ModuleInvocation> invocations;
};

// Leaf modules (no child modules; observers and fake-quants excluded) in named_modules()
// order, each with at least one invocation. A module whose forward computes nothing (an
// Identity) leaves no nodes and is not listed.
// REQUIRES: `graph` is an inlined forward graph of `root`.
std::vector<LeafModuleCalls> FindLeafModules(const std::shared_ptr<torch::jit::Graph>& graph,
                                             const torch::jit::Module& root);

// Removes the calls whose input is a value fusion folds away (`folded_inputs`: value -> the
// layer it folds into, GraphLayers::folded_inputs). A module left with no call is marked
// folded_into that layer; it stays listed, so that reports can say it was left out.
void DropFoldedCalls(
    std::vector<LeafModuleCalls>& leaves,
    const std::unordered_map<const torch::jit::Value*, std::string>& folded_inputs);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_GRAPH_MODULE_FINDER_H_

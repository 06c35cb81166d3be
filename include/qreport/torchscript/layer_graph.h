// The quantizable layers of a TorchScript model: which Linear/Conv modules its forward calls,
// where, and what the backend's fusion would merge into each.
//
// LayerGraph inlines a copy of `forward` and finds every aten::linear, aten::conv1d/2d/3d,
// aten::_convolution call, and the aten::addmm / aten::matmul forms older traces of Linear
// produce. A layer is named after the module that owns its weight parameter (the
// prim::GetAttr chain of the weight, or the nearest parameter it is computed from for QAT
// fake-quantized weights), so a module called twice is one layer with two call sites.
//
//   auto model = qreport::torchscript::Model::Load("resnet18.pt");
//   auto graph = qreport::torchscript::LayerGraph::Build(model);
//   for (const auto& layer : graph.layers()) std::cout << layer.fqn << "\n";
#ifndef QREPORT_TORCHSCRIPT_LAYER_GRAPH_H_
#define QREPORT_TORCHSCRIPT_LAYER_GRAPH_H_

#include <string_view>
#include <vector>

#include "qreport/core/model/layer.h"
#include "qreport/core/model/model_description.h"
#include "qreport/torchscript/model.h"

namespace qreport::torchscript {

struct LayerGraphOptions {
  // Treat a BatchNorm right after a layer as folded into its weight, and observe a layer's
  // output after a ReLU that directly follows it, as PyTorch's prepare step does.
  bool fusion = true;
};

class LayerGraph {
 public:
  // Analyses `model`'s forward. Never modifies the model.
  // Throws qreport::Error(kBadModel) if forward's graph cannot be inlined.
  static LayerGraph Build(const Model& model, const LayerGraphOptions& options = {});

  // The layers in model order: the order of named_modules(), then of parameter names.
  const std::vector<LayerDescription>& layers() const { return layers_; }

  // Linear/conv calls whose weight is not a module attribute.
  const std::vector<UnattributedCall>& unattributed() const { return unattributed_; }

  // Every leaf module forward calls (layers included), in named_modules() order.
  const std::vector<LeafModule>& leaf_modules() const { return leaf_modules_; }

  // Linear/Conv weights (and MultiheadAttention projections) no layer analyses, with why: the
  // ops that consume them, or that no use was found. In module order.
  const std::vector<UnanalysedWeight>& unanalysed() const { return unanalysed_; }

  // The layer whose module is `fqn`, or nullptr. With several functional layers in one
  // module, the first.
  const LayerDescription* Find(std::string_view fqn) const;

 private:
  LayerGraph(std::vector<LayerDescription> layers, std::vector<UnattributedCall> unattributed,
             std::vector<LeafModule> leaf_modules, std::vector<UnanalysedWeight> unanalysed)
      : layers_(std::move(layers)),
        unattributed_(std::move(unattributed)),
        leaf_modules_(std::move(leaf_modules)),
        unanalysed_(std::move(unanalysed)) {}

  std::vector<LayerDescription> layers_;
  std::vector<UnattributedCall> unattributed_;
  std::vector<LeafModule> leaf_modules_;
  std::vector<UnanalysedWeight> unanalysed_;
};

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_LAYER_GRAPH_H_

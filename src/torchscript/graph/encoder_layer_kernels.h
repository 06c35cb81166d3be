// Private to the TorchScript front-end: PyTorch's fused nn.TransformerEncoderLayer inference
// kernel, taken apart into the ATen kernels it is made of, so that its Linear layers become
// calls the layer finder sees and observers can read, at the fused path's speed.
#ifndef QREPORT_SRC_TORCHSCRIPT_GRAPH_ENCODER_LAYER_KERNELS_H_
#define QREPORT_SRC_TORCHSCRIPT_GRAPH_ENCODER_LAYER_KERNELS_H_

#include <torch/csrc/jit/ir/ir.h>

#include <memory>
#include <set>
#include <string>

namespace qreport::torchscript::internal {

// Replaces every aten::_transformer_encoder_layer_fwd in `graph` (inlined, with constant
// attributes folded) by the kernels ATen's own implementation runs, in its order and on its
// memory layout: the packed q/k/v projection, _transform_bias_rescale_qkv, batched matrix
// products, the (masked) softmax in place, the output projection, the residual sums, the layer
// norms and the feed-forward Linear layers. Each projection is an aten::linear on the
// module's own weight and bias (the packed q/k/v one as a bias-free call and an add, as ATen
// sums it), so it is found and observed like any Linear. The result is bit for bit what the
// fused kernel returns (tested on post-norm ReLU layers with a bool key padding mask and
// without one, on a pre-norm GELU layer with a float mask, and on traces, d_model 768 among
// them).
//
// The layer-by-layer path is slower (70 against 62 ms a batch on the bench transformer): its
// attention transposes and copies q, k and v and allocates the scores twice.
//
// A call whose activation or layer-norm placement is not a constant is left fused. Returns
// the module paths of the encoder layers whose calls were replaced, so that their fast-path
// guards can be left as they are (see TakeLayerByLayerPaths).
std::set<std::string> UnfuseEncoderLayers(const std::shared_ptr<torch::jit::Graph>& graph);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_GRAPH_ENCODER_LAYER_KERNELS_H_

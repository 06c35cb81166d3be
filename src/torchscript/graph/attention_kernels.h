// Private to the TorchScript front-end: PyTorch's fused nn.MultiheadAttention inference kernel
// (aten::_native_multi_head_attention, which a model traced for inference records instead of
// its projections) taken apart into the ATen kernels it runs, so that the in and out
// projections are calls the layer finder sees and observers can read.
#ifndef QREPORT_SRC_TORCHSCRIPT_GRAPH_ATTENTION_KERNELS_H_
#define QREPORT_SRC_TORCHSCRIPT_GRAPH_ATTENTION_KERNELS_H_

#include <torch/csrc/jit/ir/ir.h>

#include <memory>
#include <set>
#include <string>

namespace qreport::torchscript::internal {

// Replaces the self-attention calls of aten::_native_multi_head_attention in `graph` (query,
// key and value one tensor, as nn.MultiheadAttention's fast path requires) by the kernels
// ATen's CPU implementation runs, in its order: the packed q/k/v product, its bias,
// _transform_bias_rescale_qkv, the batched products, the (masked) softmax in place, the
// context written over q, and the output projection. The in projection is an aten::linear on
// the module's in_proj_weight without bias, followed by the add of in_proj_bias, which the
// layer finder takes as the Linear's output (see SeparateBiasAdd); the out projection is an
// aten::linear on out_proj's weight and bias. Outputs are bit for bit the fused op's, the
// attention weights included, and no weights tensor where need_weights is false (tested on
// LibTorch 1.13 and 2.13, with and without masks, traced and scripted).
//
// A call outside any branch (a trace) is replaced when its query, key and value are one
// value; one with distinct values is left fused, and its weights are listed as not analysed.
// A call inside a branch (a scripted nn.MultiheadAttention's fast path, behind its guard) is
// replaced by a choice made as it runs: the kernels when query, key and value are one tensor,
// else the fused op. Returns the module paths of those guarded calls, whose fast-path guards
// can then be left to decide as they would (see TakeLayerByLayerPaths).
std::set<std::string> UnfuseMultiHeadAttention(const std::shared_ptr<torch::jit::Graph>& graph);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_GRAPH_ATTENTION_KERNELS_H_

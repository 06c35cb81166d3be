// Private to the TorchScript front-end: rewrites of the prepared clone's forward graph that
// make calibration cheaper without changing a single value the model computes.
#ifndef QREPORT_SRC_TORCHSCRIPT_GRAPH_CALIBRATION_GRAPH_H_
#define QREPORT_SRC_TORCHSCRIPT_GRAPH_CALIBRATION_GRAPH_H_

#include <torch/csrc/jit/ir/ir.h>

#include <memory>
#include <set>
#include <string>

namespace qreport::torchscript::internal {

// PyTorch's fused inference kernels (nn.TransformerEncoderLayer and nn.MultiheadAttention
// "fast paths") run instead of the Linear layers when grad is disabled, so the layers' own
// code, and our observers, would never run. Their guards test torch.is_grad_enabled():
// answering "enabled" takes the layer-by-layer path, as training or a grad-enabled run does,
// while calibration itself still runs without autograd. Guards in the modules named in
// `keep_fast_path` (encoder layers and attention modules whose fused kernels
// UnfuseEncoderLayers and UnfuseMultiHeadAttention took apart, so their fast path is
// observable and faster) are left to decide as they would.
void TakeLayerByLayerPaths(const std::shared_ptr<torch::jit::Graph>& graph,
                           const std::set<std::string>& keep_fast_path);

// Dropouts that do not train: in eval mode aten::dropout and its variants return their input
// itself, so observing a dropout's output is observing its input, and the two points can
// share one observer (a Linear's fused ReLU output and, after nn.Dropout, the next Linear's
// input). `training` attributes count as false: the prepared clone is in eval mode; in a
// graph that assigns one, only constant flags count.
class EvalDropouts {
 public:
  // REQUIRES: `graph` is the inlined forward graph of a module in eval mode.
  explicit EvalDropouts(const std::shared_ptr<torch::jit::Graph>& graph);

  // The value a chain of such dropouts ending in `value` starts from (`value` if none).
  torch::jit::Value* SourceOf(torch::jit::Value* value) const;

 private:
  bool FalseWhenRun(const torch::jit::Value* flag) const;

  bool training_assigned_ = false;
};

// Turns relu(x) into relu_(x) where x is a fresh result (Linear, convolution, batch norm)
// that nothing else reads, in the same block: the fused kernels PyTorch's inference fast
// paths use apply the ReLU in place too. Saves a tensor's allocation, first-touch page faults
// and a pass over memory; the values are identical. Run after the taps are in the graph, so
// that an observed x counts as read.
void RunReluInPlace(const std::shared_ptr<torch::jit::Graph>& graph);

// Computes max_pool2d (dilation 1, no ceil mode, constant window, padding under half of it)
// on floating tensors as running maxima of strided views of its input, along the width, then
// along the height. LibTorch 1.13's CPU max_pool2d also computes the argmax indices, which
// inference discards, in a scalar loop: on resnet18's stem pool (8x64x112x112) it takes 40 ms,
// the views 11 ms, of a forward of about 270 ms. The values are the same, infinities and NaN
// included (a zero's sign aside, which no comparison sees); other pools keep ATen's kernel.
void RunMaxPoolsWithoutIndices(const std::shared_ptr<torch::jit::Graph>& graph);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_GRAPH_CALIBRATION_GRAPH_H_

// Private: what one node of an inlined forward graph is, as far as finding layers goes.
#ifndef QREPORT_SRC_TORCHSCRIPT_GRAPH_OP_MATCH_H_
#define QREPORT_SRC_TORCHSCRIPT_GRAPH_OP_MATCH_H_

#include <cstdint>
#include <optional>

#include <torch/csrc/jit/ir/ir.h>

#include "qreport/core/model/layer.h"

namespace qreport::torchscript::internal {

// A call of a linear or conv operation, before we know which module it belongs to.
struct OpMatch {
  torch::jit::Node* node = nullptr;
  torch::jit::Value* input = nullptr;  // the activation the layer reads
  torch::jit::Value* weight =
      nullptr;  // the value used as weight (for addmm/matmul: the untransposed one)
  std::optional<LayerKind> kind;  // nullopt: decided by the weight's rank (aten::_convolution)
  std::optional<int64_t> groups;
  bool weight_must_be_attribute = false;  // addmm/matmul are only layers on a module weight
};

// The node as a linear or conv call (aten::linear, conv1d/2d/3d, _convolution, and the
// addmm/matmul forms of old traces), or nullopt.
std::optional<OpMatch> MatchOp(torch::jit::Node* node);

// Fake-quantization on an activation (the activation_post_process of an eager QAT model)
// is the identity on the data path as far as fusion is concerned.
bool IsFakeQuant(const torch::jit::Node* node);

// The single node that consumes `value` as data, ignoring shape/dim checks. A value returned
// from a prim::If branch continues as the If's output.
torch::jit::Node* SoleDataUser(torch::jit::Value* value);

// Whether a value can carry tensor data. Shapes and sizes (ints, int lists) feed weight
// slicing too (`w.split([E, 2 * E])` with E from the input's shape) without making the
// weight depend on the input's values.
bool CarriesTensorData(const c10::TypePtr& type);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_GRAPH_OP_MATCH_H_

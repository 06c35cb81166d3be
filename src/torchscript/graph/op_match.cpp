#include "graph/op_match.h"

#include <algorithm>
#include <iterator>

namespace qreport::torchscript::internal {
namespace {

using torch::jit::Node;
using torch::jit::Value;
namespace aten = c10::aten;
namespace prim = c10::prim;

std::optional<int64_t> ConstantInt(const Value* value) {
  auto constant = torch::jit::toIValue(value);
  if (constant && constant->isInt()) return constant->toInt();
  return std::nullopt;
}

// addmm(bias, x, w.t()) and matmul(x, w.t()) are how traces made before aten::linear existed
// spell a Linear layer; only the transposed-parameter form counts.
Value* UntransposedOperand(Value* value) {
  Node* node = value->node();
  if (node->kind() == aten::t || node->kind() == aten::transpose) return node->input(0);
  return nullptr;
}

bool IsMetadataUse(const Node* user) {
  static const c10::Symbol kMetadataOps[] = {
      aten::dim,       aten::size,    aten::len,
      prim::dtype,     prim::device,  aten::__is__,
      aten::__isnot__, prim::is_cuda, aten::is_floating_point};
  return std::find(std::begin(kMetadataOps), std::end(kMetadataOps), user->kind()) !=
         std::end(kMetadataOps);
}

}  // namespace

std::optional<OpMatch> MatchOp(Node* node) {
  OpMatch m;
  m.node = node;
  const auto kind = node->kind();
  if (kind == aten::linear) {
    m.input = node->input(0);
    m.weight = node->input(1);
    m.kind = LayerKind::kLinear;
  } else if (kind == aten::conv1d || kind == aten::conv2d || kind == aten::conv3d) {
    m.input = node->input(0);
    m.weight = node->input(1);
    m.kind = kind == aten::conv1d   ? LayerKind::kConv1d
             : kind == aten::conv2d ? LayerKind::kConv2d
                                    : LayerKind::kConv3d;
    if (node->inputs().size() > 6) m.groups = ConstantInt(node->input(6));
  } else if (kind == aten::_convolution) {
    auto transposed = torch::jit::toIValue(node->input(6));
    if (transposed && transposed->isBool() && transposed->toBool()) return std::nullopt;
    m.input = node->input(0);
    m.weight = node->input(1);
    m.groups = ConstantInt(node->input(8));
  } else if (kind == aten::addmm) {
    m.input = node->input(1);
    m.weight = UntransposedOperand(node->input(2));
    m.kind = LayerKind::kLinear;
    m.weight_must_be_attribute = true;
  } else if (kind == aten::matmul) {
    m.input = node->input(0);
    m.weight = UntransposedOperand(node->input(1));
    m.kind = LayerKind::kLinear;
    m.weight_must_be_attribute = true;
  } else {
    return std::nullopt;
  }
  // A weight that is prim::Uninitialized sits on a branch that cannot run (the separate
  // q/k/v projections of a MultiheadAttention that packs them): not a call.
  if (m.weight == nullptr || m.weight->node()->kind() == prim::Uninitialized) return std::nullopt;
  return m;
}

bool IsFakeQuant(const Node* node) {
  static const c10::Symbol kFakeQuantOps[] = {
      aten::fused_moving_avg_obs_fake_quant, aten::fake_quantize_per_tensor_affine,
      aten::fake_quantize_per_channel_affine, aten::_fake_quantize_learnable_per_tensor_affine,
      aten::_fake_quantize_learnable_per_channel_affine};
  return std::find(std::begin(kFakeQuantOps), std::end(kFakeQuantOps), node->kind()) !=
         std::end(kFakeQuantOps);
}

Node* SoleDataUser(Value* value) {
  for (int hops = 0; hops < 8; ++hops) {
    Node* found = nullptr;
    Value* returned_as = nullptr;
    int data_uses = 0;
    for (const torch::jit::Use& use : value->uses()) {
      if (IsMetadataUse(use.user)) continue;
      ++data_uses;
      Node* owner = use.user->owningBlock()->owningNode();
      if (use.user->kind() == prim::Return && owner != nullptr && owner->kind() == prim::If) {
        returned_as = owner->output(use.offset);
      } else {
        found = use.user;
      }
    }
    if (data_uses != 1) return nullptr;
    if (found != nullptr) return found;
    value = returned_as;
  }
  return nullptr;
}

bool CarriesTensorData(const c10::TypePtr& type) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType:
      return true;
    case c10::TypeKind::ListType:
    case c10::TypeKind::OptionalType:
      return CarriesTensorData(type->containedType(0));
    case c10::TypeKind::TupleType:
      for (const auto& element : type->containedTypes()) {
        if (CarriesTensorData(element)) return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace qreport::torchscript::internal

#include "graph/attention_kernels.h"

#include <map>
#include <optional>
#include <string>

#include "graph_utils.h"

namespace qreport::torchscript::internal {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// The fused op's arguments, in its schema's order (unchanged from LibTorch 1.13 to 2.13),
// and the kernels native_multi_head_attention_cpu runs on dense tensors. Where ATen adds the
// packed bias inside _transform_bias_rescale_qkv, the bias is added first and the kernel is
// given -0.0, which leaves every float as it is (x + -0.0 == x, for x = -0.0 too): the sum is
// then a value of its own, the in projection's output as a Linear computes it. A mask becomes
// bool as ATen's to(kBool) makes it (non-zero: masked, NaN included). A 2-D mask is
// spread over heads and queries explicitly (LibTorch 1.13's _masked_softmax takes only full
// masks); the kernel then sees the mask ATen's would. The softmax runs in place and the
// context is written over q's storage, as in ATen.
constexpr const char* kSelfAttentionSource = R"TS(
def self_attention(query: Tensor, key: Tensor, value: Tensor, embed_dim: int, num_head: int,
                   qkv_weight: Tensor, qkv_bias: Tensor, proj_weight: Tensor, proj_bias: Tensor,
                   mask: Optional[Tensor], need_weights: bool, average_attn_weights: bool,
                   mask_type: Optional[int]) -> Tuple[Tensor, Tensor]:
    B = query.size(0)
    T = query.size(1)
    E = embed_dim
    H = num_head
    D = E // H
    qkv = torch.linear(query, qkv_weight, None)
    qkv = torch.add(qkv, qkv_bias)
    q, k, v = torch._transform_bias_rescale_qkv(qkv, torch.full_like(qkv_bias, -0.0), H)
    q3 = q.view([B * H, T, D])
    scores = torch.bmm(q3, k.view([B * H, T, D]).transpose(2, 1)).view([B, H, T, T])
    if mask is None:
        scores = torch._softmax(scores, -1, False, out=scores)
    else:
        m = torch.ne(mask, 0)
        if m.dim() == 2:
            if mask_type is not None and mask_type == 1:
                m = m.view([B, 1, 1, T]).expand([B, H, T, T])
            else:
                m = m.view([1, 1, T, T]).expand([B, H, T, T])
            scores = torch._masked_softmax(scores, m, 3, 2)
        else:
            scores = torch._masked_softmax(scores, m, 3, mask_type)
    context = torch.bmm(scores.view([B * H, T, T]), v.view([B * H, T, D]), out=q3)
    context = context.view([B, H, T, D]).permute([0, 2, 1, 3]).contiguous().view([B * T, E])
    projected = torch.linear(context, proj_weight, proj_bias).view([B, T, E])
    if need_weights and average_attn_weights:
        scores = scores.sum(1).div_(H)
    return projected, scores
)TS";

std::optional<bool> ConstantBool(const Value* value) {
  const c10::optional<c10::IValue> constant = torch::jit::toIValue(value);
  if (constant && constant->isBool()) return constant->toBool();
  return std::nullopt;
}

bool CanReplace(const Node* node) {
  constexpr size_t kArguments = 13;  // query … mask_type
  if (node->inputs().size() != kArguments || node->outputs().size() != 2) return false;
  if (node->input(0) != node->input(1) || node->input(1) != node->input(2)) return false;
  // With need_weights false ATen returns no weights tensor; the replacement returns the
  // softmax, which nothing may then read.
  const std::optional<bool> need_weights = ConstantBool(node->input(10));
  return node->output(1)->uses().empty() || need_weights.value_or(false);
}

}  // namespace

int UnfuseMultiHeadAttention(const std::shared_ptr<torch::jit::Graph>& graph) {
  static const c10::Symbol kFused =
      c10::Symbol::fromQualString("aten::_native_multi_head_attention");
  std::map<std::string, std::shared_ptr<torch::jit::CompilationUnit>> compiled;
  int replaced = 0;
  for (Node* node : AllNodes(graph)) {
    if (node->kind() != kFused || !CanReplace(node)) continue;
    ReplaceWithScript(node, kSelfAttentionSource, "self_attention", compiled);
    ++replaced;
  }
  return replaced;
}

}  // namespace qreport::torchscript::internal

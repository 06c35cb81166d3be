#include "graph/attention_kernels.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

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
// context is written over q's storage, as in ATen. {body} is the computation, indented for
// where it stands.
constexpr const char* kAttentionSource = R"TS(
def attention(query: Tensor, key: Tensor, value: Tensor, embed_dim: int, num_head: int,
              qkv_weight: Tensor, qkv_bias: Tensor, proj_weight: Tensor, proj_bias: Tensor,
              mask: Optional[Tensor], need_weights: bool, average_attn_weights: bool,
              mask_type: Optional[int]) -> Tuple[Tensor, Tensor]:
{body})TS";

constexpr const char* kSelfAttentionBody = R"TS(B = query.size(0)
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

// Where the call's query, key and value are one value (a trace), the computation alone.
// Elsewhere (nn.MultiheadAttention's scripted fast path, whose guard has checked that they
// are one tensor, among much else) the same when they are one tensor as the call runs, and
// the fused op otherwise.
std::string AttentionSource(bool one_value) {
  std::string body;
  const char* indent = one_value ? "    " : "        ";
  std::string_view rest = kSelfAttentionBody;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    body += line.empty() ? "" : indent;
    body += std::string(line) + "\n";
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  if (!one_value) {
    body = "    if query is key and key is value:\n" + body +
           "    return torch._native_multi_head_attention(query, key, value, embed_dim, "
           "num_head, qkv_weight, qkv_bias, proj_weight, proj_bias, mask, need_weights, "
           "average_attn_weights, mask_type)\n";
  }
  return fmt::format(kAttentionSource, fmt::arg("body", body));
}

// ATen returns no weights tensor (an undefined one) when need_weights is false; the
// replacement returns the softmax, so where the weights are read and need_weights is not known
// to be true they pass through `need_weights ? weights : undefined`.
void GateWeights(Value* weights, Value* need_weights) {
  if (weights->uses().empty() || ConstantBool(need_weights).value_or(false)) return;
  torch::jit::Graph& graph = *weights->owningGraph();
  torch::jit::WithInsertPoint guard(weights->node()->next());
  Node* gate = graph.insertNode(graph.create(c10::prim::If, {need_weights}, 1));
  gate->output()->setType(weights->type());
  weights->replaceAllUsesWith(gate->output());
  gate->addBlock()->registerOutput(weights);
  torch::jit::Block* none = gate->addBlock();
  torch::jit::WithInsertPoint in_none(none);
  Node* undefined = graph.insertNode(graph.createAutogradZero());
  none->registerOutput(undefined->output());
  TakeOrigin(weights->node(), gate);
}

}  // namespace

std::set<std::string> UnfuseMultiHeadAttention(const std::shared_ptr<torch::jit::Graph>& graph) {
  static const c10::Symbol kFused =
      c10::Symbol::fromQualString("aten::_native_multi_head_attention");
  constexpr size_t kArguments = 13;  // query … mask_type
  std::map<std::string, std::shared_ptr<torch::jit::CompilationUnit>> compiled;
  std::set<std::string> guarded;
  for (Node* node : AllNodes(graph)) {
    if (node->kind() != kFused || node->inputs().size() != kArguments ||
        node->outputs().size() != 2) {
      continue;
    }
    const bool one_value = node->input(0) == node->input(1) && node->input(1) == node->input(2);
    const bool in_branch = node->owningBlock() != graph->block();
    if (!one_value && !in_branch) continue;  // a trace's cross-attention: left fused
    const std::optional<std::string> path = ModulePathOf(node);
    Value* const need_weights = node->input(10);
    const std::vector<Value*> outputs =
        ReplaceWithScript(node, AttentionSource(one_value), "attention", compiled);
    GateWeights(outputs[1], need_weights);
    if (in_branch && path) guarded.insert(*path);
  }
  return guarded;
}

}  // namespace qreport::torchscript::internal

#include "graph/encoder_layer_kernels.h"

#include <fmt/format.h>

#include <map>
#include <memory>

#include "graph_utils.h"

namespace qreport::torchscript::internal {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// Takes the fused operator's arguments, in its schema's order, and runs the kernels ATen's
// transformer_encoder_layer_forward runs on a dense CPU tensor, in its order. ATen's q/k/v
// product has no bias; _transform_bias_rescale_qkv adds it. Here the product's bias is added
// first, so that the sum is the in projection's observed output (see SeparateBiasAdd in
// layer_finder.cpp), and the kernel then adds -0.0, which leaves every float as it is. A
// projection computed with its bias (addmm) would round otherwise once BLAS splits the inner
// dimension into blocks (d_model 256 on MKL, 768 on OpenBLAS). As in ATen, the
// softmax runs in place, the attention's output reuses q's storage and the residuals are
// added into the projections' outputs in place: the slow path's extra temporaries are what
// made it slower. A layer output's observer is called right after the layer, so it reads the
// projection before the residual is added. {pre_norm}, {post_norm_1}, {norm_2_input},
// {post_norm_2} and {activation} depend on norm_first and use_gelu, which the layer fixes.
constexpr const char* kEncoderLayerSource = R"TS(
def encoder_layer(src: Tensor, embed_dim: int, num_heads: int, qkv_weight: Tensor,
                  qkv_bias: Tensor, proj_weight: Tensor, proj_bias: Tensor, use_gelu: bool,
                  norm_first: bool, eps: float, norm_weight_1: Tensor, norm_bias_1: Tensor,
                  norm_weight_2: Tensor, norm_bias_2: Tensor, ffn_weight_1: Tensor,
                  ffn_bias_1: Tensor, ffn_weight_2: Tensor, ffn_bias_2: Tensor,
                  mask: Optional[Tensor], mask_type: Optional[int]) -> Tensor:
    B = src.size(0)
    T = src.size(1)
    E = src.size(2)
    H = num_heads
    x = {pre_norm}
    qkv = torch.linear(x, qkv_weight, None)
    qkv = torch.add(qkv, qkv_bias)
    q, k, v = torch._transform_bias_rescale_qkv(qkv, torch.full_like(qkv_bias, -0.0), H)
    D = q.size(3)
    q3 = q.view([B * H, T, D])
    scores = torch.bmm(q3, k.view([B * H, T, D]).transpose(1, 2))
    if mask is None:
        scores = torch._softmax(scores, -1, False, out=scores)
    else:
        m = torch.ne(mask, 0)
        if m.dim() == 2:
            # A key padding mask [B, T]: ATen expands it over heads and queries.
            m = m.view([B, 1, 1, T]).expand([B, H, T, T])
            scores = torch._masked_softmax(scores.view([B, H, T, T]), m, 3, 2).view([B * H, T, T])
        else:
            scores = torch._masked_softmax(scores.view([B, H, T, T]), m, 3, mask_type).view([B * H, T, T])
    context = torch.bmm(scores, v.view([B * H, T, D]), out=q3)
    context = context.view([B, H, T, D]).permute([0, 2, 1, 3]).reshape([B, T, E])
    attended = torch.linear(context, proj_weight, proj_bias)
    y = {post_norm_1}
    z = {norm_2_input}
    hidden = {activation}(torch.linear(z, ffn_weight_1, ffn_bias_1))
    fed = torch.linear(hidden, ffn_weight_2, ffn_bias_2)
    return {post_norm_2}
)TS";

std::string EncoderLayerSource(bool use_gelu, bool norm_first) {
  using fmt::arg;
  if (norm_first) {
    return fmt::format(
        kEncoderLayerSource,
        arg("pre_norm", "torch.layer_norm(src, [E], norm_weight_1, norm_bias_1, eps)"),
        arg("post_norm_1", "attended.add_(src)"),
        arg("norm_2_input", "torch.layer_norm(y, [E], norm_weight_2, norm_bias_2, eps)"),
        arg("post_norm_2", "fed.add_(y)"),
        arg("activation", use_gelu ? "torch.gelu" : "torch.relu"));
  }
  return fmt::format(
      kEncoderLayerSource, arg("pre_norm", "src"),
      arg("post_norm_1",
          "torch.layer_norm(attended.add_(src), [E], norm_weight_1, norm_bias_1, eps)"),
      arg("norm_2_input", "y"),
      arg("post_norm_2", "torch.layer_norm(fed.add_(y), [E], norm_weight_2, norm_bias_2, eps)"),
      arg("activation", use_gelu ? "torch.gelu" : "torch.relu"));
}

}  // namespace

std::set<std::string> UnfuseEncoderLayers(const std::shared_ptr<torch::jit::Graph>& graph) {
  static const c10::Symbol kFused =
      c10::Symbol::fromQualString("aten::_transformer_encoder_layer_fwd");
  constexpr size_t kArguments = 20;  // src … mask_type
  std::set<std::string> unfused;
  std::map<std::string, std::shared_ptr<torch::jit::CompilationUnit>> compiled;
  for (Node* node : AllNodes(graph)) {
    if (node->kind() != kFused || node->inputs().size() != kArguments ||
        node->outputs().size() != 1) {
      continue;
    }
    const std::optional<bool> use_gelu = ConstantBool(node->input(7));
    const std::optional<bool> norm_first = ConstantBool(node->input(8));
    if (!use_gelu || !norm_first) continue;
    const std::optional<std::string> path = ModulePathOf(node);
    ReplaceWithScript(node, EncoderLayerSource(*use_gelu, *norm_first), "encoder_layer", compiled);
    if (path) unfused.insert(*path);
  }
  return unfused;
}

}  // namespace qreport::torchscript::internal

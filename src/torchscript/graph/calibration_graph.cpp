#include "graph/calibration_graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph_utils.h"

namespace qreport::torchscript::internal {
namespace {

c10::Symbol Aten(const char* name) {
  return c10::Symbol::fromQualString(std::string("aten::") + name);
}

// Two ints (height, width) from a constant int list of one or two entries; `fallback` for
// an empty list (max_pool2d's stride defaults to the kernel size).
std::optional<std::pair<int64_t, int64_t>> ConstantPair(
    const torch::jit::Value* value, std::optional<std::pair<int64_t, int64_t>> fallback) {
  const c10::optional<c10::IValue> constant = torch::jit::toIValue(value);
  if (!constant || !constant->isIntList()) return std::nullopt;
  const std::vector<int64_t> list = constant->toIntVector();
  if (list.empty()) return fallback;
  if (list.size() == 1) return std::make_pair(list[0], list[0]);
  if (list.size() == 2) return std::make_pair(list[0], list[1]);
  return std::nullopt;
}

// The running maximum over one spatial dimension (`axis` -1 for the width, -2 for the
// height) of window offsets -pad … kernel-1-pad, from `in` into a new tensor `out`, for
// `size` input and `out_size` output positions. Offset 0 is inside the input for every output
// position (2 * pad < kernel), so `out` starts as a copy of it; every other offset updates the
// output positions it is inside the input for, in place.
std::string SeparableMaxSource(const char* in, const char* out, int axis, int64_t kernel,
                               int64_t stride, int64_t pad, const char* size,
                               const char* out_size) {
  const std::string tail = axis == -1 ? "" : ", :";
  std::string code = fmt::format("    {} = {}[..., 0:({} - 1) * {} + 1:{}{}].clone()\n", out, in,
                                 out_size, stride, stride, tail);
  for (int64_t d = -pad; d < kernel - pad; ++d) {
    if (d == 0) continue;
    const int64_t lo = d < 0 ? (-d + stride - 1) / stride : 0;
    code += fmt::format("    hi = min({} - 1, ({} - 1 - ({})) // {})\n", out_size, size, d, stride);
    code += fmt::format("    if hi >= {}:\n", lo);
    const std::string update = fmt::format("{}[..., {}:hi + 1{}]", out, lo, tail);
    const std::string read = fmt::format("{}[..., {} * {} + ({}):hi * {} + ({}) + 1:{}{}]", in, lo,
                                         stride, d, stride, d, stride, tail);
    code += fmt::format("        torch.maximum({0}, {1}, out={0})\n", update, read);
  }
  return code;
}

// max_pool2d(x, kernel, stride, padding, dilation=1, ceil_mode=False) as running maxima,
// along the width, then along the height (max is separable). Integer inputs and output
// sizes below one go to ATen, which handles or rejects them.
std::string MaxPoolSource(std::pair<int64_t, int64_t> kernel, std::pair<int64_t, int64_t> stride,
                          std::pair<int64_t, int64_t> padding) {
  const auto [kh, kw] = kernel;
  const auto [sh, sw] = stride;
  const auto [ph, pw] = padding;
  return fmt::format(
             "def max_pool(x: Tensor, kernel_size: List[int], stride: List[int], "
             "padding: List[int],\n"
             "             dilation: List[int], ceil_mode: bool) -> Tensor:\n"
             "    H = x.size(-2)\n"
             "    W = x.size(-1)\n"
             "    Ho = (H + {} - {}) // {} + 1\n"
             "    Wo = (W + {} - {}) // {} + 1\n"
             "    if not x.is_floating_point() or Ho < 1 or Wo < 1:\n"
             "        return torch.max_pool2d(x, kernel_size, stride, padding, dilation, "
             "ceil_mode)\n",
             2 * ph, kh, sh, 2 * pw, kw, sw) +
         SeparableMaxSource("x", "r", -1, kw, sw, pw, "W", "Wo") +
         SeparableMaxSource("r", "o", -2, kh, sh, ph, "H", "Ho") + "    return o\n";
}

}  // namespace

void RunMaxPoolsWithoutIndices(const std::shared_ptr<torch::jit::Graph>& graph) {
  static const c10::Symbol kMaxPool = Aten("max_pool2d");
  std::map<std::string, std::shared_ptr<torch::jit::CompilationUnit>> compiled;
  for (torch::jit::Node* node : AllNodes(graph)) {
    if (node->kind() != kMaxPool || node->inputs().size() != 6) continue;
    const auto kernel = ConstantPair(node->input(1), std::nullopt);
    if (!kernel) continue;
    const auto stride = ConstantPair(node->input(2), kernel);
    const auto padding = ConstantPair(node->input(3), std::nullopt);
    const auto dilation = ConstantPair(node->input(4), std::nullopt);
    const c10::optional<c10::IValue> ceil_mode = torch::jit::toIValue(node->input(5));
    if (!stride || !padding || dilation != std::make_pair<int64_t, int64_t>(1, 1) || !ceil_mode ||
        !ceil_mode->isBool() || ceil_mode->toBool()) {
      continue;
    }
    // ATen rejects most of these, and its error is the one to give; a padding of exactly
    // half the window (kernel 2, padding 1) is valid but would leave offset 0 outside the
    // input for the last position, so it stays with ATen too.
    if (kernel->first < 1 || kernel->second < 1 || stride->first < 1 || stride->second < 1 ||
        padding->first < 0 || padding->second < 0 || 2 * padding->first >= kernel->first ||
        2 * padding->second >= kernel->second) {
      continue;
    }
    ReplaceWithScript(node, MaxPoolSource(*kernel, *stride, *padding), "max_pool", compiled);
  }
}

void TakeLayerByLayerPaths(const std::shared_ptr<torch::jit::Graph>& graph,
                           const std::set<std::string>& keep_fast_path) {
  static const c10::Symbol kIsGradEnabled = Aten("is_grad_enabled");
  for (torch::jit::Node* node : AllNodes(graph)) {
    if (node->kind() != kIsGradEnabled) continue;
    const std::optional<std::string> module = ModulePathOf(node);
    if (module && keep_fast_path.count(*module) > 0) continue;
    torch::jit::WithInsertPoint guard(node);
    node->output()->replaceAllUsesWith(graph->insertConstant(true));
  }
}

EvalDropouts::EvalDropouts(const std::shared_ptr<torch::jit::Graph>& graph) {
  for (const torch::jit::Node* node : AllNodes(graph)) {
    training_assigned_ |=
        node->kind() == c10::prim::SetAttr && node->s(c10::attr::name) == "training";
  }
}

bool EvalDropouts::FalseWhenRun(const torch::jit::Value* flag) const {
  // c10::optional: an empty one would convert to an engaged std::optional holding None.
  if (const c10::optional<c10::IValue> constant = torch::jit::toIValue(flag)) {
    return constant->isBool() && !constant->toBool();
  }
  const torch::jit::Node* node = flag->node();
  return !training_assigned_ && node->kind() == c10::prim::GetAttr &&
         node->s(c10::attr::name) == "training";
}

torch::jit::Value* EvalDropouts::SourceOf(torch::jit::Value* value) const {
  // (input, p, train) -> input when not training (ATen's _dropout_impl returns it as is).
  static const c10::Symbol kDropouts[] = {Aten("dropout"),
                                          Aten("dropout_"),
                                          Aten("feature_dropout"),
                                          Aten("feature_dropout_"),
                                          Aten("alpha_dropout"),
                                          Aten("alpha_dropout_"),
                                          Aten("feature_alpha_dropout"),
                                          Aten("feature_alpha_dropout_")};
  for (;;) {
    const torch::jit::Node* node = value->node();
    const bool dropout =
        std::find(std::begin(kDropouts), std::end(kDropouts), node->kind()) != std::end(kDropouts);
    if (!dropout || node->inputs().size() != 3 || !FalseWhenRun(node->input(2))) return value;
    value = node->input(0);
  }
}

void RunReluInPlace(const std::shared_ptr<torch::jit::Graph>& graph) {
  static const c10::Symbol kRelu = Aten("relu");
  static const c10::Symbol kReluInPlace = Aten("relu_");
  // Ops whose result is always a tensor of its own, never a view of an input.
  static const c10::Symbol kFresh[] = {Aten("linear"), Aten("conv1d"),       Aten("conv2d"),
                                       Aten("conv3d"), Aten("_convolution"), Aten("batch_norm"),
                                       Aten("addmm")};
  for (torch::jit::Node* node : AllNodes(graph)) {
    if (node->kind() != kRelu || node->inputs().size() != 1) continue;
    torch::jit::Value* input = node->input(0);
    const torch::jit::Node* producer = input->node();
    if (std::find(std::begin(kFresh), std::end(kFresh), producer->kind()) == std::end(kFresh) ||
        input->uses().size() != 1 || producer->owningBlock() != node->owningBlock()) {
      continue;
    }
    torch::jit::Node* in_place = graph->create(kReluInPlace, {input}, 1);
    in_place->output()->setType(node->output()->type());
    in_place->insertBefore(node);
    node->output()->replaceAllUsesWith(in_place->output());
    node->destroy();
  }
}

}  // namespace qreport::torchscript::internal

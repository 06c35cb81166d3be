#include "calibration_graph.h"

#include <algorithm>
#include <iterator>
#include <optional>

#include "graph_utils.h"

namespace qreport::torchscript::internal {
namespace {

c10::Symbol Aten(const char* name) {
  return c10::Symbol::fromQualString(std::string("aten::") + name);
}

}  // namespace

void TakeLayerByLayerPaths(const std::shared_ptr<torch::jit::Graph>& graph) {
  static const c10::Symbol kIsGradEnabled = Aten("is_grad_enabled");
  for (torch::jit::Node* node : AllNodes(graph)) {
    if (node->kind() != kIsGradEnabled) continue;
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

#include "graph/module_finder.h"

#include <algorithm>
#include <map>
#include <unordered_set>

#include "graph_utils.h"

namespace qreport::torchscript::internal {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// Observers and fake-quants are quantization machinery, not layers of the network.
bool IsQuantizationMachinery(const std::string& type) {
  return type.find("torch.ao.quantization.") == 0 || type.find("torch.quantization.") == 0;
}

bool IsTensor(const Value* value) { return value->type()->kind() == c10::TypeKind::TensorType; }

// Parameters, buffers and constants are part of the module, not what it is called with.
bool IsModuleState(const Value* value) {
  const auto kind = value->node()->kind();
  return kind == c10::prim::GetAttr || kind == c10::prim::Constant;
}

// Whether `node` sits in a block (an if branch, a loop body) of one of `call`'s nodes.
bool NestedIn(const Node* node, const std::unordered_set<const Node*>& call) {
  for (const Node* owner = node->owningBlock()->owningNode(); owner != nullptr;
       owner = owner->owningBlock()->owningNode()) {
    if (call.count(owner)) return true;
  }
  return false;
}

// Where the module was called from: the source positions of the calls that lead to its
// frame. Two calls of one module (fc(fc(x))) differ here even when their code is adjacent.
// Traces carry no positions; there calls are told apart only by code in between.
using CallKey = std::vector<std::pair<const void*, size_t>>;

CallKey CallKeyOf(const Node* node) {
  CallKey key;
  auto callstack = node->callstack();
  if (!callstack) return key;
  size_t module_frames = 0;
  const auto frames = (*callstack)->vec();
  for (const auto& frame : frames) {
    const auto& instance = std::get<2>(frame);
    if (instance && instance->instance_name() != "SELF") module_frames = key.size() + 1;
    const torch::jit::SourceRange& range = std::get<1>(frame);
    key.emplace_back(range.source().get(), range.start());
  }
  key.resize(module_frames);  // frames inside the module's own code do not matter
  return key;
}
}  // namespace

std::vector<LeafModuleCalls> FindLeafModules(const std::shared_ptr<torch::jit::Graph>& graph,
                                             const torch::jit::Module& root) {
  std::vector<LeafModuleCalls> leaves;
  std::map<std::string, size_t> index;
  for (const auto& named : root.named_modules()) {
    if (named.value.children().size() != 0) continue;
    const std::string type = PythonClassName(named.value.type());
    if (IsQuantizationMachinery(type)) continue;
    index.emplace(named.name, leaves.size());
    leaves.push_back({LeafModule{named.name, type, 0, ""}, {}});
  }

  // The nodes of one call are contiguous after inlining; a call ends where code of another
  // module or another call site begins. Constants and attribute reads (the caller fetching
  // the submodule) belong to nobody.
  LeafModuleCalls* current = nullptr;
  LeafModuleCalls* interrupted = nullptr;
  const torch::jit::Block* current_block = nullptr;
  CallKey current_key;
  std::unordered_set<const Node*> in_call;
  for (Node* node : AllNodes(graph)) {
    if (node->kind() == c10::prim::Constant || node->kind() == c10::prim::GetAttr) continue;
    const auto path = ModulePathOf(node);
    auto found = path ? index.find(*path) : index.end();
    LeafModuleCalls* owner = found == index.end() ? nullptr : &leaves[found->second];
    if (owner == nullptr) {
      // Some nodes of a call read as root code after inlining: they lost their call stack
      // (the prim::If and raise of BatchNorm's _check_input_dim) or keep only free-function
      // frames (F.batch_norm's _verify_batch_size). A call they interrupt goes on when the
      // same module continues at the same call site (root code cannot sit between two calls
      // of one site); code of another module ends it.
      if (!path || !path->empty()) {
        interrupted = nullptr;
      } else if (current != nullptr && !current_key.empty()) {
        interrupted = current;
      }
      current = nullptr;
      continue;
    }
    CallKey key = CallKeyOf(node);
    if (current == nullptr && interrupted == owner && key == current_key) current = owner;
    interrupted = nullptr;
    const bool same_call = owner == current && key == current_key &&
                           (node->owningBlock() == current_block || NestedIn(node, in_call));
    if (!same_call) {
      current_key = std::move(key);
      owner->invocations.push_back({node, {}});
      in_call.clear();
      current = owner;
      current_block = node->owningBlock();
    }
    ModuleInvocation& call = owner->invocations.back();

    in_call.insert(node);
    for (Value* input : node->inputs()) {
      if (!IsTensor(input) || IsModuleState(input) || in_call.count(input->node())) continue;
      if (std::find(call.inputs.begin(), call.inputs.end(), input) == call.inputs.end()) {
        call.inputs.push_back(input);
      }
    }
  }

  std::vector<LeafModuleCalls> called;
  for (LeafModuleCalls& leaf : leaves) {
    if (leaf.invocations.empty()) continue;
    leaf.module.tensor_inputs = static_cast<int>(leaf.invocations.front().inputs.size());
    called.push_back(std::move(leaf));
  }
  return called;
}

void DropFoldedCalls(
    std::vector<LeafModuleCalls>& leaves,
    const std::unordered_map<const torch::jit::Value*, std::string>& folded_inputs) {
  for (LeafModuleCalls& leaf : leaves) {
    std::string folded_into;
    auto& calls = leaf.invocations;
    calls.erase(std::remove_if(calls.begin(), calls.end(),
                               [&](const ModuleInvocation& call) {
                                 if (call.inputs.empty()) return false;
                                 auto found = folded_inputs.find(call.inputs.front());
                                 if (found == folded_inputs.end()) return false;
                                 folded_into = found->second;
                                 return true;
                               }),
                calls.end());
    if (calls.empty()) leaf.module.folded_into = folded_into;
  }
}

}  // namespace qreport::torchscript::internal

#include "graph/layer_finder.h"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "graph/module_finder.h"
#include "graph/op_match.h"
#include "graph_utils.h"
#include "qreport/core/error.h"
#include "qreport/core/model/module_types.h"

namespace qreport::torchscript::internal {
namespace {

using torch::jit::Node;
using torch::jit::Value;
namespace aten = c10::aten;
namespace prim = c10::prim;

// One call of a layer, with what follows it.
struct CallRecord {
  CallSite site;
  Fusion fusion;
  ObservationPoint post;
  internal::ObservedValues values;  // the fused post value; raw_post is the op's output
  Value* raw_post = nullptr;
  Value* batch_norm_input = nullptr;  // what a folded BatchNorm reads, when one is
};

class LayerFinder {
 public:
  LayerFinder(const torch::jit::Module& root, const LayerGraphOptions& options)
      : root_(root), options_(options) {}

  void Visit(torch::jit::Block* block);
  GraphLayers Finish();

 private:
  struct Attribution {
    std::optional<ResolvedAttribute> weight;
    std::vector<std::string> path;
    std::string reason;  // why not attributed, when weight is empty
  };

  Attribution Attribute(const OpMatch& match, int expected_rank) const;
  void AddCall(const OpMatch& match);
  CallRecord FollowOutput(const LayerDescription& layer, const OpMatch& match) const;
  std::optional<ModuleTypeInfo> TypeOfModule(const std::string& fqn) const;

  const torch::jit::Module& root_;
  LayerGraphOptions options_;
  std::map<std::string, LayerDescription> by_weight_;
  std::map<std::string, std::vector<CallRecord>> calls_;
  std::vector<UnattributedCall> unattributed_;
};

int ExpectedRank(const std::optional<LayerKind>& kind) {
  return kind ? SpatialDims(*kind) + 2 : -1;
}

bool RankFits(const c10::IValue& value, int expected_rank) {
  if (!value.isTensor()) return false;
  const int64_t rank = value.toTensor().dim();
  return expected_rank < 0 ? (rank >= 3 && rank <= 5) : rank == expected_rank;
}

LayerFinder::Attribution LayerFinder::Attribute(const OpMatch& match, int expected_rank) const {
  Attribution out;
  if (auto path = AttributePath(match.weight)) {
    auto resolved = ResolveAttribute(root_, *path);
    if (resolved && RankFits(resolved->value, expected_rank)) {
      out.weight = std::move(resolved);
      out.path = std::move(*path);
      return out;
    }
  }
  if (match.weight_must_be_attribute) return out;

  // The weight is computed (QAT fake-quantization, a BatchNorm-scaled weight, a slice of a
  // packed projection): search its inputs for the nearest tensor attribute that has the
  // shape of a weight, preferring parameters named "weight".
  const Value* self = match.weight->owningGraph()->inputs()[0];
  std::deque<Value*> queue{match.weight};
  std::unordered_set<const Value*> seen{match.weight};
  std::vector<std::pair<std::vector<std::string>, ResolvedAttribute>> candidates;
  bool from_inputs = false;
  constexpr size_t kSearchLimit = 4096;
  while (!queue.empty() && seen.size() < kSearchLimit) {
    Value* value = queue.front();
    queue.pop_front();
    Node* producer = value->node();
    if (producer->kind() == prim::GetAttr) {
      if (auto path = AttributePath(value)) {
        auto resolved = ResolveAttribute(root_, *path);
        if (resolved && RankFits(resolved->value, expected_rank)) {
          candidates.emplace_back(std::move(*path), std::move(*resolved));
        }
      }
      continue;
    }
    if (producer->kind() == prim::Param) {
      // The graph's own inputs are the activations; a block's parameters are loop state.
      if (value != self && producer == value->owningGraph()->param_node()) from_inputs = true;
      continue;
    }
    std::vector<Value*> next;
    if (producer->kind() == prim::If) {
      for (torch::jit::Block* block : producer->blocks()) {
        next.push_back(block->outputs()[value->offset()]);
      }
    } else if (producer->kind() != prim::Loop) {
      next.assign(producer->inputs().begin(), producer->inputs().end());
    }
    for (Value* input : next) {
      if (CarriesTensorData(input->type()) && seen.insert(input).second) queue.push_back(input);
    }
  }
  if (from_inputs) {
    out.reason = "the weight is computed from the model's inputs";
    return out;
  }
  auto best = std::find_if(candidates.begin(), candidates.end(), [](const auto& c) {
    return c.second.is_parameter && c.second.name == "weight";
  });
  if (best == candidates.end()) {
    best = std::find_if(candidates.begin(), candidates.end(),
                        [](const auto& c) { return c.second.is_parameter; });
  }
  if (best == candidates.end()) best = candidates.begin();
  if (best == candidates.end()) {
    out.reason = match.weight->node()->kind() == prim::Constant
                     ? "the weight is a constant (a frozen model?), not a module attribute"
                     : "the weight is not read from a module attribute";
    return out;
  }
  out.path = std::move(best->first);
  out.weight = std::move(best->second);
  return out;
}

std::optional<ModuleTypeInfo> LayerFinder::TypeOfModule(const std::string& fqn) const {
  auto module = SubmoduleAt(root_, fqn);
  if (!module) return std::nullopt;
  return ClassifyModuleType(PythonClassName(module->type()));
}

bool WithinModule(const std::string& node_fqn, const std::string& module_fqn) {
  if (module_fqn.empty()) return true;
  return node_fqn == module_fqn || node_fqn.rfind(module_fqn + ".", 0) == 0;
}

bool WithinLayer(const Node* node, const std::string& layer_fqn) {
  const auto fqn = ModulePathOf(node);
  return fqn && WithinModule(*fqn, layer_fqn);
}

// An eager QAT layer's activation_post_process runs in a forward hook, which TorchScript
// calls outside the layer's own call: the hook's call stack names the layer's parent, so the
// fake-quant's module path is "<parent>.activation_post_process".
bool IsOwnActivationFakeQuant(const Node* node, const std::string& layer_fqn) {
  const auto fqn = ModulePathOf(node);
  if (!fqn) return false;
  if (WithinModule(*fqn, layer_fqn)) return true;
  const size_t dot = layer_fqn.rfind('.');
  const std::string hook_path = dot == std::string::npos
                                    ? "activation_post_process"
                                    : layer_fqn.substr(0, dot) + ".activation_post_process";
  return *fqn == hook_path;
}

std::string OutputOf(const Node* node) {
  return std::string("output of ") + node->kind().toQualString();
}

bool IsNone(const Value* value) { return value->type()->kind() == c10::TypeKind::NoneType; }

bool IsConstantOne(const Value* value) {
  const c10::optional<c10::IValue> constant = torch::jit::toIValue(value);
  return constant && ((constant->isInt() && constant->toInt() == 1) ||
                      (constant->isDouble() && constant->toDouble() == 1.0));
}

// The aten::add that gives a bias-free aten::linear call its layer's bias, when the next
// op does just that: PyTorch's fused attention kernels add the packed q/k/v bias apart
// from the product, and taken apart (graph/*_kernels.cpp) that is linear(x, w) then
// add(·, b). The layer's output, as a Linear computes it, is the sum. The bias must be a
// vector of the module that owns the weight, with one element per output channel.
Node* SeparateBiasAdd(const LayerDescription& layer, const OpMatch& match,
                      const torch::jit::Module& root) {
  if (match.node->kind() != aten::linear || match.node->inputs().size() != 3 ||
      !IsNone(match.node->input(2))) {
    return nullptr;
  }
  Node* add = SoleDataUser(match.node->output());
  if (add == nullptr || add->kind() != aten::add || add->inputs().size() != 3 ||
      add->input(0) != match.node->output() || !IsConstantOne(add->input(2))) {
    return nullptr;
  }
  const auto path = AttributePath(add->input(1));
  const auto bias = path ? ResolveAttribute(root, *path) : std::nullopt;
  if (!bias || bias->owner_fqn != layer.fqn || !bias->value.isTensor()) return nullptr;
  const at::Tensor& tensor = bias->value.toTensor();
  const bool fits = tensor.dim() == 1 && !layer.weight_shape.empty() &&
                    tensor.size(0) == layer.weight_shape.front();
  return fits ? add : nullptr;
}

// Walks forward from the layer's output the way PyTorch's fusion patterns do: a BatchNorm
// that consumes it is folded, a ReLU that consumes it (or the BatchNorm) is fused, and for
// fused QAT modules (ConvBnReLU2d) everything up to the module's own output belongs to it.
// A bias added right after a bias-free call is part of the layer's own output, fusion or not.
CallRecord LayerFinder::FollowOutput(const LayerDescription& layer, const OpMatch& match) const {
  CallRecord record;
  record.post.position = ObservationPosition::kPost;
  record.post.value = OutputOf(match.node);
  Value* value = match.node->output();
  if (Node* bias_add = SeparateBiasAdd(layer, match, root_)) value = bias_add->output();
  record.values = {match.node, match.input, value};
  record.raw_post = value;
  if (!options_.fusion) return record;
  Fusion& fusion = record.fusion;
  for (int steps = 0; steps < 64; ++steps) {
    Node* user = SoleDataUser(value);
    if (user == nullptr || user->outputs().size() != 1) break;
    const auto kind = user->kind();
    if (kind == aten::batch_norm && user->input(0) == value && fusion.batch_norm_fqn.empty()) {
      auto mean_path = AttributePath(user->input(3));
      auto bn = mean_path ? ResolveAttribute(root_, *mean_path) : std::nullopt;
      auto bn_type = bn ? ClassifyModuleType(PythonClassName(bn->owner.type())) : std::nullopt;
      if (!bn_type || bn_type->role != ModuleRole::kBatchNorm) break;
      fusion.batch_norm_fqn = bn->owner_fqn;
      record.batch_norm_input = value;
      if (auto eps = torch::jit::toIValue(user->input(7)); eps && eps->isDouble()) {
        fusion.batch_norm_eps = eps->toDouble();
      }
      record.post.producer_fqn = bn->owner_fqn;
    } else if ((kind == aten::relu || kind == aten::relu_) && user->input(0) == value) {
      fusion.relu = true;
      const auto relu_fqn = ModulePathOf(user);
      if (relu_fqn && !relu_fqn->empty()) {
        const auto relu_type = TypeOfModule(*relu_fqn);
        if (relu_type && relu_type->role == ModuleRole::kReLU) fusion.relu_fqn = *relu_fqn;
      }
      record.post.producer_fqn = fusion.relu_fqn;
      record.post.value = OutputOf(user);
      record.values.post = user->output();
      break;
    } else if (IsFakeQuant(user) && user->input(0) == value &&
               IsOwnActivationFakeQuant(user, layer.fqn)) {
      // An eager QAT layer's own activation_post_process passes through: the observed value
      // is what the layer hands on. A fake-quant module of its own (prepare_qat_fx's
      // activation_post_process_N) is not the layer's: the reference observes before it.
    } else if (layer.family == ModuleFamily::kQatFused) {
      if (!WithinLayer(user, layer.fqn)) break;
    } else {
      break;
    }
    value = user->output();
    record.post.value = OutputOf(user);
    record.values.post = value;
  }
  return record;
}

void LayerFinder::AddCall(const OpMatch& match) {
  CallSite site{match.node->kind().toQualString(), CallLocation(match.node)};
  Attribution attribution = Attribute(match, ExpectedRank(match.kind));
  if (!attribution.weight) {
    if (match.weight_must_be_attribute) return;  // a product of activations, not a layer
    unattributed_.push_back({std::move(site), std::move(attribution.reason)});
    return;
  }
  const ResolvedAttribute& weight = *attribution.weight;
  const std::string weight_path = JoinPath(attribution.path);

  auto [it, inserted] = by_weight_.try_emplace(weight_path);
  LayerDescription& layer = it->second;
  if (inserted) {
    const at::Tensor tensor = weight.value.toTensor();
    layer.fqn = weight.owner_fqn;
    layer.weight_path = weight_path;
    if (match.kind) {
      layer.kind = *match.kind;
    } else {
      const LayerKind by_rank[] = {LayerKind::kConv1d, LayerKind::kConv2d, LayerKind::kConv3d};
      layer.kind = by_rank[tensor.dim() - 3];
    }
    layer.module_type = PythonClassName(weight.owner.type());
    const auto type = ClassifyModuleType(layer.module_type);
    layer.family = type && type->role == ModuleRole::kLayer ? type->family : ModuleFamily::kCustom;
    layer.weight_shape.assign(tensor.sizes().begin(), tensor.sizes().end());
    layer.groups = match.groups.value_or(1);
    layer.weight_channel_axis = 0;
    layer.input_channel_axis = layer.kind == LayerKind::kLinear ? -1 : 1;
    layer.observation_points = {
        {ObservationPosition::kPre, std::string("input of ") + site.op, ""}};
    const auto parent_end = layer.fqn.rfind('.');
    if (parent_end != std::string::npos) {
      const std::string parent = layer.fqn.substr(0, parent_end);
      auto parent_module = SubmoduleAt(root_, parent);
      if (parent_module) {
        const std::string parent_type = PythonClassName(parent_module->type());
        const auto info = ClassifyModuleType(parent_type);
        if (info && info->role == ModuleRole::kFusedContainer) {
          layer.fused_parent_fqn = parent;
          layer.fused_parent_type = parent_type;
        }
      }
    }
  }
  CallRecord record = FollowOutput(layer, match);
  record.site = site;
  layer.call_sites.push_back(std::move(site));
  calls_[weight_path].push_back(std::move(record));
}

void LayerFinder::Visit(torch::jit::Block* block) {
  for (Node* node : block->nodes()) {
    if (auto match = MatchOp(node)) AddCall(*match);
    for (torch::jit::Block* inner : node->blocks()) Visit(inner);
  }
}

GraphLayers LayerFinder::Finish() {
  std::unordered_map<std::string, size_t> module_order;
  for (const auto& named : root_.named_modules()) {
    module_order.emplace(named.name, module_order.size());
  }
  struct Entry {
    LayerDescription layer;
    std::vector<ObservedValues> values;
  };
  std::vector<Entry> entries;
  std::unordered_map<const Value*, std::string> folded_inputs;
  for (auto& [weight_path, layer] : by_weight_) {
    std::vector<CallRecord>& records = calls_[weight_path];
    // A module shared by call sites that fuse differently is not fused at all: one observer
    // serves all its calls, and only unfused outputs are comparable.
    const bool agree = std::all_of(records.begin(), records.end(), [&](const CallRecord& r) {
      return r.fusion == records.front().fusion;
    });
    if (agree) {
      layer.fusion = records.front().fusion;
      layer.observation_points.push_back(records.front().post);
    } else {
      layer.observation_points.push_back(
          {ObservationPosition::kPost, "output of " + layer.call_sites.front().op, ""});
      for (CallRecord& record : records) record.values.post = record.raw_post;
    }
    for (const CallRecord& record : records) {
      if (agree && record.batch_norm_input != nullptr) {
        folded_inputs.emplace(record.batch_norm_input, layer.fqn);
      }
    }
    Entry entry{std::move(layer), {}};
    for (const CallRecord& record : records) entry.values.push_back(record.values);
    entries.push_back(std::move(entry));
  }
  auto order_of = [&](const std::string& fqn) {
    auto found = module_order.find(fqn);
    return found == module_order.end() ? module_order.size() : found->second;
  };
  std::stable_sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
    const size_t oa = order_of(a.layer.fqn), ob = order_of(b.layer.fqn);
    return oa != ob ? oa < ob : a.layer.weight_path < b.layer.weight_path;
  });
  GraphLayers out;
  for (Entry& entry : entries) {
    out.layers.push_back(std::move(entry.layer));
    out.values.push_back(std::move(entry.values));
  }
  out.unattributed = std::move(unattributed_);
  out.folded_inputs = std::move(folded_inputs);
  return out;
}

// The weights a front-end must account for: every Linear/Conv module's (float, QAT, fused
// QAT) and a MultiheadAttention's packed projections. Path -> (owner fqn, owner class).
std::map<std::string, std::pair<std::string, std::string>> WeightsToAccountFor(
    const torch::jit::Module& root) {
  std::map<std::string, std::pair<std::string, std::string>> weights;
  for (const auto& named : root.named_modules()) {
    const std::string type = PythonClassName(named.value.type());
    const auto info = ClassifyModuleType(type);
    std::vector<std::string> names;
    if (info && info->role == ModuleRole::kLayer) {
      names = {"weight"};
    } else if (type.size() >= 18 && type.compare(type.size() - 18, 18, "MultiheadAttention") == 0) {
      names = {"in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"};
    }
    for (const std::string& name : names) {
      if (!named.value.hasattr(name) || !named.value.attr(name).isTensor()) continue;
      weights.emplace(JoinPath({named.name, name}), std::make_pair(named.name, type));
    }
  }
  return weights;
}

// The ops that take `node`'s output: a list or tuple built around a weight (aten::einsum's
// operands, aten::cat's inputs) is no consumer of its own; the ops reading it are.
void AddConsumers(const Node* node, std::vector<std::string>& ops, int depth = 0) {
  const bool container =
      node->kind() == prim::ListConstruct || node->kind() == prim::TupleConstruct;
  if (container && depth < 4 && !node->output()->uses().empty()) {
    for (const torch::jit::Use& use : node->output()->uses()) {
      AddConsumers(use.user, ops, depth + 1);
    }
    return;
  }
  const std::string op = node->kind().toQualString();
  if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
}

void CollectWeightUses(torch::jit::Block* block,
                       const std::map<std::string, std::pair<std::string, std::string>>& weights,
                       std::map<std::string, std::vector<std::string>>& uses) {
  for (Node* node : block->nodes()) {
    for (Value* input : node->inputs()) {
      if (input->node()->kind() != prim::GetAttr) continue;
      const auto path = AttributePath(input);
      if (!path) continue;
      const std::string weight = JoinPath(*path);
      if (weights.count(weight) == 0) continue;
      AddConsumers(node, uses[weight]);
    }
    for (torch::jit::Block* inner : node->blocks()) CollectWeightUses(inner, weights, uses);
  }
}

// Every weight to account for that no layer analyses, with the ops that consume it.
std::vector<UnanalysedWeight> FindUnanalysedWeights(torch::jit::Graph& graph,
                                                    const torch::jit::Module& root,
                                                    const std::vector<LayerDescription>& layers) {
  auto weights = WeightsToAccountFor(root);
  for (const LayerDescription& layer : layers) weights.erase(layer.weight_path);
  if (weights.empty()) return {};
  std::map<std::string, std::vector<std::string>> uses;
  CollectWeightUses(graph.block(), weights, uses);
  std::unordered_map<std::string, size_t> module_order;
  for (const auto& named : root.named_modules()) {
    module_order.emplace(named.name, module_order.size());
  }
  std::vector<UnanalysedWeight> out;
  for (const auto& [path, owner] : weights) {
    const auto used = uses.find(path);
    std::string reason = "no use of it found in forward's graph";
    if (used != uses.end()) {
      std::string ops;
      for (const std::string& op : used->second) ops += (ops.empty() ? "" : ", ") + op;
      reason = "used by " + ops + ", not by a linear or conv call";
    }
    out.push_back({owner.first, owner.second, path, std::move(reason)});
  }
  std::stable_sort(out.begin(), out.end(),
                   [&](const UnanalysedWeight& a, const UnanalysedWeight& b) {
                     return module_order[a.fqn] < module_order[b.fqn];
                   });
  return out;
}

}  // namespace

GraphLayers FindLayers(torch::jit::Graph& graph, const torch::jit::Module& root,
                       const LayerGraphOptions& options) {
  LayerFinder finder(root, options);
  finder.Visit(graph.block());
  GraphLayers found = finder.Finish();
  found.unanalysed = FindUnanalysedWeights(graph, root, found.layers);
  return found;
}

}  // namespace qreport::torchscript::internal

#include "qreport/torchscript/prepared_model.h"

#include <torch/csrc/jit/api/function_impl.h>

#include "calibrate/observer_tap.h"
#include "data/dtype_map.h"
#include "graph/attention_kernels.h"
#include "graph/calibration_graph.h"
#include "graph/encoder_layer_kernels.h"
#include "graph/layer_finder.h"
#include "graph/module_finder.h"
#include "graph_utils.h"
#include "libtorch_compat.h"
#include "qreport/core/error.h"

namespace qreport::torchscript {
namespace {

// Where a point's observer is called: the observed value at each call site of its layer, and
// the node before which the call goes (the layer's call for inputs, so an input used only in
// one branch is observed only when that branch runs; right after the output otherwise).
struct Tap {
  torch::jit::Value* value;
  torch::jit::Node* before;

  bool operator==(const Tap& o) const {
    return value == o.value && before->owningBlock() == o.before->owningBlock();
  }
  bool operator!=(const Tap& o) const { return !(*this == o); }
};

// A point is at a layer (fusion-aware input and output) or, for detectors that look at
// every module's input, at any leaf module forward calls (its first tensor input).
// Values an eval-mode dropout passes on are observed at its input: the same tensor.
std::vector<Tap> TapsOf(const PointKey& key, const internal::GraphLayers& found,
                        const std::vector<internal::LeafModuleCalls>& leaves,
                        const internal::EvalDropouts& dropouts, const std::string& model_path) {
  std::vector<Tap> taps;
  auto layer = std::find_if(found.layers.begin(), found.layers.end(),
                            [&](const LayerDescription& l) { return l.fqn == key.fqn; });
  if (layer != found.layers.end()) {
    for (const internal::ObservedValues& site :
         found.values[static_cast<size_t>(layer - found.layers.begin())]) {
      if (key.position == ObservationPosition::kPre) {
        taps.push_back({dropouts.SourceOf(site.pre), site.call});
      } else {
        taps.push_back({site.post, site.post->node()->next()});
      }
    }
    return taps;
  }
  auto leaf = std::find_if(leaves.begin(), leaves.end(), [&](const internal::LeafModuleCalls& l) {
    return l.module.fqn == key.fqn;
  });
  QREPORT_CHECK(leaf != leaves.end(), "{}: no layer or called leaf module named '{}'", model_path,
                key.fqn);
  QREPORT_CHECK(key.position == ObservationPosition::kPre,
                "{}: '{}' is not a Linear/Conv layer; only its input can be observed", model_path,
                key.fqn);
  for (const internal::ModuleInvocation& call : leaf->invocations) {
    QREPORT_CHECK(!call.inputs.empty(), "{}: module '{}' is called without a tensor input",
                  model_path, key.fqn);
    taps.push_back({dropouts.SourceOf(call.inputs.front()), call.first});
  }
  return taps;
}

// Points that observe the very same values (one layer's fused output is the next layer's
// input) need only one observer's work: they get one option set and the later ones mirror
// the first. Returns, per slot, the slot it mirrors (itself for leaders).
std::vector<size_t> ShareIdenticalPoints(std::vector<PointRequest>& requests,
                                         const std::vector<std::vector<Tap>>& taps) {
  std::vector<size_t> leader(requests.size());
  for (size_t slot = 0; slot < requests.size(); ++slot) {
    leader[slot] = slot;
    for (size_t earlier = 0; earlier < slot; ++earlier) {
      if (leader[earlier] != earlier || taps[earlier] != taps[slot] ||
          !CanShareObserver(requests[earlier].options, requests[slot].options)) {
        continue;
      }
      requests[earlier].options =
          UniteObserverOptions(requests[earlier].options, requests[slot].options);
      leader[slot] = earlier;
      break;
    }
  }
  for (size_t slot = 0; slot < requests.size(); ++slot) {
    requests[slot].options = requests[leader[slot]].options;
  }
  return leader;
}

// The clamp a node computes from its first input, if it is one with constant bounds: ReLU,
// ReLU6, hardtanh, clamp, clamp_min, clamp_max, each also in place.
std::optional<ClampMap> ClampOf(const torch::jit::Node* node) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // Input `i` as a bound: a constant number, or `none` for a constant None.
  const auto bound = [&](size_t i, float none) -> std::optional<float> {
    if (i >= node->inputs().size()) return std::nullopt;
    // c10::optional, not std::optional: an empty c10::optional<IValue> would convert to an
    // engaged std::optional holding None, and a bound computed at run time pass for none.
    const c10::optional<c10::IValue> value = torch::jit::toIValue(node->input(i));
    if (!value) return std::nullopt;
    if (value->isNone()) return none;
    if (value->isDouble()) return static_cast<float>(value->toDouble());
    if (value->isInt()) return static_cast<float>(value->toInt());
    return std::nullopt;
  };
  const auto made = [](std::optional<float> low, std::optional<float> high) {
    // clamp with low > high gives high everywhere, which no monotone map of rank matches.
    return low && high && *low <= *high ? std::optional<ClampMap>(ClampMap{*low, *high})
                                        : std::nullopt;
  };
  const std::string kind = node->kind().toQualString();
  const size_t arguments = node->inputs().size();
  if ((kind == "aten::relu" || kind == "aten::relu_") && arguments == 1) {
    return ClampMap{0.0f, kInf};
  }
  if ((kind == "aten::relu6" || kind == "aten::relu6_") && arguments == 1) {
    return ClampMap{0.0f, 6.0f};
  }
  if ((kind == "aten::hardtanh" || kind == "aten::hardtanh_" || kind == "aten::clamp" ||
       kind == "aten::clamp_") &&
      arguments == 3) {
    return made(bound(1, -kInf), bound(2, kInf));
  }
  if ((kind == "aten::clamp_min" || kind == "aten::clamp_min_") && arguments == 2) {
    return made(bound(1, -kInf), kInf);
  }
  if ((kind == "aten::clamp_max" || kind == "aten::clamp_max_") && arguments == 2) {
    return made(-kInf, bound(1, kInf));
  }
  return std::nullopt;
}

// Where a tap can take its statistics from another observer's batch: the observer that sees
// the clamp's input right before the clamp, in the same block, so that whenever our call runs
// its call has run just before (the tap checks at run time that the tensor is the same).
struct ClampSource {
  size_t input_slot;
  torch::jit::Value* input;
  ClampMap map;
};

std::optional<ClampSource> FindClampSource(const Tap& tap, size_t slot,
                                           const std::vector<PointRequest>& requests,
                                           const std::vector<std::vector<Tap>>& taps,
                                           const std::vector<size_t>& leader) {
  torch::jit::Node* clamp = tap.value->node();
  const std::optional<ClampMap> map = ClampOf(clamp);
  if (!map) return std::nullopt;
  const auto in_block_before = [&](torch::jit::Node* a, torch::jit::Node* b) {
    return a->owningBlock() == b->owningBlock() && (a == b || a->isBefore(b));
  };
  if (tap.before == clamp || !in_block_before(clamp, tap.before)) return std::nullopt;
  torch::jit::Value* input = clamp->input(0);
  for (size_t other = 0; other < requests.size(); ++other) {
    if (other == slot || leader[other] != other ||
        !Serves(requests[other].options, requests[slot].options)) {
      continue;
    }
    for (const Tap& seen : taps[other]) {
      if (seen.value == input && in_block_before(seen.before, clamp)) {
        return ClampSource{other, input, *map};
      }
    }
  }
  return std::nullopt;
}

// Gives every attribute of `module` and its submodules, except parameters, its own deep
// copy. One memo for the whole tree keeps attributes that alias each other aliased.
void CopyAllButParameters(const torch::jit::Module& module, internal::DeepcopyMemo& memo) {
  const c10::ClassTypePtr& type = module.type();
  const c10::intrusive_ptr<c10::ivalue::Object> object = module._ivalue();
  for (size_t i = 0; i < type->numAttributes(); ++i) {
    if (type->getAttribute(i)->is_module()) {
      CopyAllButParameters(torch::jit::Module(object->getSlot(i).toObject()), memo);
    } else if (!type->is_parameter(i)) {
      object->setSlot(i, object->getSlot(i).deepcopy(memo));
    }
  }
}

// Module::clone() copies every parameter: a second resnet18's worth of memory for the whole
// calibration. The instrumented forward only reads parameters (it runs in eval mode without
// autograd), so the clone shares them with the user's module. Everything else is copied as
// clone() would: the class types and methods (so instrumenting the clone's graph leaves the
// user's alone), the module objects, buffers and other attributes (so a forward that updates
// its own state updates the clone's).
torch::jit::Module CloneSharingParameters(const torch::jit::Module& module) {
  torch::jit::Module clone = module.clone(/*inplace=*/true);
  internal::DeepcopyMemo memo;
  for (const at::Tensor& parameter : module.parameters()) memo[parameter] = parameter;
  CopyAllButParameters(clone, memo);
  return clone;
}

}  // namespace

TensorView ViewOf(const at::Tensor& tensor, at::Tensor& keep_alive) {
  at::Tensor readable = tensor;
  auto dtype = internal::CoreDType(readable.scalar_type());
  if (!readable.device().is_cpu() || !dtype || readable.is_quantized()) {
    readable = readable.is_quantized() ? readable.dequantize() : readable;
    readable = readable.to(at::kCPU, at::kFloat);
    dtype = DType::kFloat32;
    keep_alive = readable;
  }
  return TensorView(readable.data_ptr(), *dtype, readable.sizes().vec(), readable.strides().vec());
}

std::vector<PointRequest> AllPoints(const std::vector<LayerDescription>& layers) {
  std::vector<PointRequest> points;
  for (const LayerDescription& layer : layers) {
    ObserverOptions options;
    options.channel_axis = layer.input_channel_axis;
    for (ObservationPosition position : {ObservationPosition::kPre, ObservationPosition::kPost}) {
      points.push_back({{layer.fqn, position}, options});
    }
  }
  return MergePointRequests(points);
}

PreparedModel PreparedModel::Prepare(const Model& model, const PrepareOptions& options) {
  torch::jit::Module clone = CloneSharingParameters(model.module());
  clone.eval();
  auto& forward = torch::jit::toGraphFunction(clone.get_method("forward").function());
  std::shared_ptr<torch::jit::Graph> graph = forward.graph();
  std::set<std::string> unfused;
  try {
    internal::SimplifyForAnalysis(graph, clone);
    unfused = internal::UnfuseEncoderLayers(graph);
    unfused.merge(internal::UnfuseMultiHeadAttention(graph));
  } catch (const c10::Error& e) {
    throw MakeError(ErrorKind::kBadModel, "{}: cannot instrument forward: {}", model.path(),
                    internal::ConciseTorchError(e));
  }
  internal::TakeLayerByLayerPaths(graph, unfused);
  internal::GraphLayers found = internal::FindLayers(*graph, clone, options.graph);
  std::vector<internal::LeafModuleCalls> leaves = internal::FindLeafModules(graph, clone);
  internal::DropFoldedCalls(leaves, found.folded_inputs);
  std::vector<LeafModule> leaf_modules;
  for (const auto& calls : leaves) leaf_modules.push_back(calls.module);

  std::vector<PointRequest> requests =
      MergePointRequests(options.points.empty() ? AllPoints(found.layers) : options.points);
  const internal::EvalDropouts dropouts(graph);
  std::vector<std::vector<Tap>> taps;
  for (const PointRequest& request : requests) {
    taps.push_back(TapsOf(request.key, found, leaves, dropouts, model.path()));
  }
  const std::vector<size_t> leader = ShareIdenticalPoints(requests, taps);

  auto bank =
      std::make_shared<ObserverBank>(ModelIdentity{model.fingerprint(), model.path()}, requests);
  auto observer_seconds = std::make_shared<double>(0.0);
  internal::AttachObserverTap(clone, bank, observer_seconds);
  // Decided before any call is inserted, on the graph as the layers were found in.
  std::vector<std::vector<std::optional<ClampSource>>> sources(requests.size());
  for (size_t slot = 0; slot < requests.size(); ++slot) {
    for (const Tap& tap : taps[slot]) {
      sources[slot].push_back(leader[slot] == slot && options.map_through_clamps
                                  ? FindClampSource(tap, slot, requests, taps, leader)
                                  : std::nullopt);
    }
  }
  for (size_t slot = 0; slot < requests.size(); ++slot) {
    if (leader[slot] != slot) {
      bank->Mirror(slot, leader[slot]);
      continue;
    }
    for (size_t t = 0; t < taps[slot].size(); ++t) {
      const Tap& tap = taps[slot][t];
      torch::jit::WithInsertPoint guard(tap.before);
      if (const std::optional<ClampSource>& source = sources[slot][t]) {
        internal::InsertClampTap(*graph, tap.value, source->input, slot, t, source->input_slot,
                                 source->map);
      } else {
        internal::InsertTap(*graph, tap.value, slot, t);
      }
    }
  }
  internal::RunReluInPlace(graph);
  internal::RunMaxPoolsWithoutIndices(graph);
  return PreparedModel(std::move(clone), std::move(bank), std::move(observer_seconds),
                       std::move(found.layers), std::move(leaf_modules), model.path());
}

c10::IValue PreparedModel::Forward(std::vector<c10::IValue> inputs) {
  torch::NoGradGuard no_grad;
  c10::IValue result;
  try {
    result = module_.forward(std::move(inputs));
  } catch (const std::exception& e) {
    if (const auto bytes = internal::FailedAllocationBytes(e)) {
      // The user's batch, not a fault of the model or of qreport.
      throw MakeError(ErrorKind::kBadData,
                      "{}: the forward pass ran out of memory on this batch ({}); give smaller "
                      "batches (--batch-size, or a smaller --input-shape)",
                      model_path_,
                      *bytes > 0 ? "an allocation of " + internal::ByteSize(*bytes) + " failed"
                                 : "an allocation failed");
    }
    throw MakeError(ErrorKind::kBadData, "{}: the model rejected the input: {}", model_path_,
                    internal::ConciseTorchError(e));
  }
  bank_->AddBatches(1);
  return result;
}

}  // namespace qreport::torchscript

#include "qreport/torchscript/prepared_model.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/custom_class.h>

#include "dtype_map.h"
#include "graph_utils.h"
#include "layer_finder.h"
#include "module_finder.h"
#include "qreport/core/error.h"

namespace qreport::torchscript {
namespace {

constexpr const char* kTapAttribute = "_qreport_tap";

// The object the instrumented graph calls: `tap.observe(x, slot)`. It holds the bank, so
// the prepared clone carries its observers with it and no global registry is needed.
class ObserverTap : public torch::CustomClassHolder {
 public:
  explicit ObserverTap(std::shared_ptr<ObserverBank> bank) : bank_(std::move(bank)) {}

  void Observe(const at::Tensor& activation, int64_t slot) {
    at::Tensor converted;
    bank_->Observe(static_cast<size_t>(slot), ViewOf(activation, converted));
  }

 private:
  std::shared_ptr<ObserverBank> bank_;
};

TORCH_LIBRARY(qreport, m) {
  m.class_<ObserverTap>("ObserverTap").def("observe", &ObserverTap::Observe);
}

// Inserts `tap.observe(value, slot)` at the current insertion point.
void InsertTap(torch::jit::Graph& graph, torch::jit::Value* value, size_t slot) {
  torch::jit::Value* self = graph.inputs()[0];
  torch::jit::Value* tap = graph.insertNode(graph.createGetAttr(self, kTapAttribute))->output();
  torch::jit::Value* slot_value = graph.insertConstant(static_cast<int64_t>(slot));
  torch::jit::Node* call = graph.create(c10::prim::CallMethod, {tap, value, slot_value}, 1);
  call->s_(c10::attr::name, "observe");
  call->output()->setType(c10::NoneType::get());
  graph.insertNode(call);
}

// PyTorch's fused inference kernels (nn.TransformerEncoderLayer and nn.MultiheadAttention
// "fast paths") run instead of the Linear layers when grad is disabled, so the layers' own
// code, and our observers, would never run. Their guards test torch.is_grad_enabled():
// answering "enabled" takes the layer-by-layer path, as training or a grad-enabled run does,
// while calibration itself still runs without autograd.
void TakeLayerByLayerPaths(const std::shared_ptr<torch::jit::Graph>& graph) {
  static const c10::Symbol kIsGradEnabled = c10::Symbol::fromQualString("aten::is_grad_enabled");
  for (torch::jit::Node* node : internal::AllNodes(graph)) {
    if (node->kind() != kIsGradEnabled) continue;
    torch::jit::WithInsertPoint guard(node);
    node->output()->replaceAllUsesWith(graph->insertConstant(true));
  }
}

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
std::vector<Tap> TapsOf(const PointKey& key, const internal::GraphLayers& found,
                        const std::vector<internal::LeafModuleCalls>& leaves,
                        const std::string& model_path) {
  std::vector<Tap> taps;
  auto layer = std::find_if(found.layers.begin(), found.layers.end(),
                            [&](const LayerDescription& l) { return l.fqn == key.fqn; });
  if (layer != found.layers.end()) {
    for (const internal::ObservedValues& site :
         found.values[static_cast<size_t>(layer - found.layers.begin())]) {
      if (key.position == ObservationPosition::kPre) {
        taps.push_back({site.pre, site.call});
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
    taps.push_back({call.inputs.front(), call.first});
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

// Gives every attribute of `module` and its submodules, except parameters, its own deep
// copy. One memo for the whole tree keeps attributes that alias each other aliased.
void CopyAllButParameters(const torch::jit::Module& module,
                          c10::IValue::HashAliasedIValueMap& memo) {
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
  c10::IValue::HashAliasedIValueMap memo;
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
  try {
    internal::SimplifyForAnalysis(graph, clone);
  } catch (const c10::Error& e) {
    throw MakeError(ErrorKind::kBadModel, "{}: cannot instrument forward: {}", model.path(),
                    internal::ConciseTorchError(e));
  }
  TakeLayerByLayerPaths(graph);
  internal::GraphLayers found = internal::FindLayers(*graph, clone, options.graph);
  std::vector<internal::LeafModuleCalls> leaves = internal::FindLeafModules(graph, clone);
  std::vector<LeafModule> leaf_modules;
  for (const auto& calls : leaves) leaf_modules.push_back(calls.module);

  std::vector<PointRequest> requests =
      MergePointRequests(options.points.empty() ? AllPoints(found.layers) : options.points);
  std::vector<std::vector<Tap>> taps;
  for (const PointRequest& request : requests) {
    taps.push_back(TapsOf(request.key, found, leaves, model.path()));
  }
  const std::vector<size_t> leader = ShareIdenticalPoints(requests, taps);

  auto bank =
      std::make_shared<ObserverBank>(ModelIdentity{model.fingerprint(), model.path()}, requests);
  clone.register_attribute(kTapAttribute,
                           c10::getCustomClassType<c10::intrusive_ptr<ObserverTap>>(),
                           c10::make_intrusive<ObserverTap>(bank));
  for (size_t slot = 0; slot < requests.size(); ++slot) {
    if (leader[slot] != slot) {
      bank->Mirror(slot, leader[slot]);
      continue;
    }
    for (const Tap& tap : taps[slot]) {
      torch::jit::WithInsertPoint guard(tap.before);
      InsertTap(*graph, tap.value, slot);
    }
  }
  return PreparedModel(std::move(clone), std::move(bank), std::move(found.layers),
                       std::move(leaf_modules), model.path());
}

c10::IValue PreparedModel::Forward(std::vector<c10::IValue> inputs) {
  torch::NoGradGuard no_grad;
  c10::IValue result;
  try {
    result = module_.forward(std::move(inputs));
  } catch (const std::exception& e) {
    throw MakeError(ErrorKind::kBadData, "{}: the model rejected the input: {}", model_path_,
                    internal::ConciseTorchError(e));
  }
  bank_->AddBatches(1);
  return result;
}

}  // namespace qreport::torchscript

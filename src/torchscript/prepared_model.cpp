#include "qreport/torchscript/prepared_model.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/custom_class.h>

#include "dtype_map.h"
#include "graph_utils.h"
#include "layer_finder.h"
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

// One request per point; requests for the same point combine their statistics.
std::vector<PointRequest> MergeRequests(const std::vector<PointRequest>& requests) {
  std::vector<PointRequest> merged;
  for (const PointRequest& request : requests) {
    auto same = std::find_if(merged.begin(), merged.end(),
                             [&](const PointRequest& r) { return r.key == request.key; });
    if (same == merged.end()) {
      merged.push_back(request);
      continue;
    }
    QREPORT_CHECK(same->options.channel_axis == request.options.channel_axis &&
                      same->options.comp_percentile == request.options.comp_percentile,
                  "point {} is requested with two different channel axes or percentiles",
                  ToString(request.key));
    same->options.statistics |= request.options.statistics;
  }
  return merged;
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
  return MergeRequests(points);
}

PreparedModel PreparedModel::Prepare(const Model& model, const PrepareOptions& options) {
  torch::jit::Module clone = model.module().clone();
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

  const std::vector<PointRequest> requests =
      options.points.empty() ? AllPoints(found.layers) : MergeRequests(options.points);
  auto bank =
      std::make_shared<ObserverBank>(ModelIdentity{model.fingerprint(), model.path()}, requests);
  clone.register_attribute(kTapAttribute,
                           c10::getCustomClassType<c10::intrusive_ptr<ObserverTap>>(),
                           c10::make_intrusive<ObserverTap>(bank));

  for (size_t slot = 0; slot < requests.size(); ++slot) {
    const PointKey& key = requests[slot].key;
    auto layer = std::find_if(found.layers.begin(), found.layers.end(),
                              [&](const LayerDescription& l) { return l.fqn == key.fqn; });
    QREPORT_CHECK(layer != found.layers.end(), "{}: no quantizable layer named '{}'", model.path(),
                  key.fqn);
    const auto& sites = found.values[static_cast<size_t>(layer - found.layers.begin())];
    for (const internal::ObservedValues& site : sites) {
      if (key.position == ObservationPosition::kPre) {
        torch::jit::WithInsertPoint guard(site.call);
        InsertTap(*graph, site.pre, slot);
      } else {
        torch::jit::WithInsertPoint guard(site.post->node()->next());
        InsertTap(*graph, site.post, slot);
      }
    }
  }
  return PreparedModel(std::move(clone), std::move(bank), std::move(found.layers), model.path());
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

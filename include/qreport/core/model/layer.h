// What qreport knows about one quantizable layer of a model, independent of the model format.
//
// A front-end (TorchScript today) finds the layers and fills these values; detectors,
// reports and the CLI only ever see them. Example:
//
//   for (const qreport::LayerDescription& layer : graph.layers()) {
//     std::cout << layer.fqn << " " << qreport::ToString(layer.kind) << "\n";
//   }
#ifndef QREPORT_CORE_MODEL_LAYER_H_
#define QREPORT_CORE_MODEL_LAYER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qreport {

// The operation a layer performs. The closed set of layers qreport analyses.
enum class LayerKind { kLinear, kConv1d, kConv2d, kConv3d };

const char* ToString(LayerKind kind);
std::optional<LayerKind> LayerKindFromString(std::string_view name);

// Number of spatial dimensions of a conv kind (1, 2 or 3); 0 for Linear.
int SpatialDims(LayerKind kind);

// How the module that owns a layer's weight relates to PyTorch's module families. It decides
// what the layer's current configuration can be (a QAT module carries fake-quant weights) and
// how its name maps back onto the user's model.
enum class ModuleFamily {
  kFloat,     // torch.nn.Linear / ConvNd (and subclasses such as NonDynamicallyQuantizableLinear)
  kQat,       // torch.ao.nn.qat.Linear / ConvNd
  kQatFused,  // torch.nn.intrinsic.qat.LinearReLU, ConvBnReLU2d, ... (weight on the module itself)
  kCustom,    // any other module whose parameter feeds a functional linear/conv
};

const char* ToString(ModuleFamily family);

// Before or after a layer. The post point of a fused layer is after its fused ReLU.
enum class ObservationPosition { kPre, kPost };

const char* ToString(ObservationPosition position);

// One place in the forward graph where a layer is invoked.
struct CallSite {
  std::string op;        // the graph operation, e.g. "aten::linear", "aten::_convolution"
  std::string location;  // "file:line" of the call in the model's code, if known
};

// A value the prepared model will observe for a layer.
struct ObservationPoint {
  ObservationPosition position = ObservationPosition::kPre;
  // What the observed value is, for people: "input of aten::conv2d", "output of aten::relu_".
  std::string value;
  // The module whose output this is, when it is not the layer itself (a fused ReLU or a
  // folded BatchNorm); empty otherwise.
  std::string producer_fqn;
};

// What the backend's fusion step would merge into this layer.
struct Fusion {
  std::string batch_norm_fqn;  // a BatchNorm folded into the weight; empty if none
  double batch_norm_eps = 1e-5;
  bool relu = false;     // the layer's output goes through a ReLU before it is observed
  std::string relu_fqn;  // the ReLU module, empty if the ReLU is functional or absent

  bool empty() const { return batch_norm_fqn.empty() && !relu; }
  bool operator==(const Fusion& other) const {
    return batch_norm_fqn == other.batch_norm_fqn && batch_norm_eps == other.batch_norm_eps &&
           relu == other.relu && relu_fqn == other.relu_fqn;
  }
};

struct LayerDescription {
  // Fully qualified name of the module that owns the weight, as named_modules() spells it
  // ("" for the root module). For an eager fused intrinsic module (LinearReLU) this is the
  // inner layer, e.g. "fc.0".
  std::string fqn;
  // Full path of the weight parameter, e.g. "block.conv.weight" or "self_attn.in_proj_weight".
  std::string weight_path;
  LayerKind kind = LayerKind::kLinear;
  ModuleFamily family = ModuleFamily::kFloat;
  // The owner's Python class, e.g. "torch.nn.modules.conv.Conv2d".
  std::string module_type;
  // The enclosing fused container (torch.nn.intrinsic.LinearReLU, ...), if any.
  std::string fused_parent_fqn;
  std::string fused_parent_type;
  std::vector<int64_t> weight_shape;
  int64_t groups = 1;
  // Axis of the weight's output channels (0 for Linear and Conv).
  int weight_channel_axis = 0;
  // Axis of the input activation's channels: 1 for Conv, the last (-1) for Linear.
  int input_channel_axis = 1;
  std::vector<CallSite> call_sites;
  std::vector<ObservationPoint> observation_points;
  Fusion fusion;
};

// A linear or conv call whose weight could not be traced back to a module attribute (it is
// computed from the inputs, or is a constant of a frozen model). Listed, never dropped.
struct UnattributedCall {
  CallSite site;
  std::string reason;
};

// A Linear/Conv module (or a MultiheadAttention's packed projection) whose weight is not
// among the analysed layers, and why: the op that consumes it, or no use found. Listed in every
// report, so that no weight-bearing module goes missing without a word.
struct UnanalysedWeight {
  std::string fqn;          // the module owning the weight
  std::string module_type;  // its Python class
  std::string weight_path;  // e.g. "encoder.layers.0.self_attn.out_proj.weight"
  std::string reason;       // "used by aten::_native_multi_head_attention, ..."
};

}  // namespace qreport

#endif  // QREPORT_CORE_MODEL_LAYER_H_

#include "qreport/core/model/module_types.h"

#include <array>

namespace qreport {
namespace {

struct Entry {
  // The class must live under one of these packages (its module path starts with it).
  std::array<std::string_view, 2> packages;
  std::string_view class_name;
  ModuleTypeInfo info;
};

constexpr std::string_view kNn = "torch.nn.modules.";
constexpr std::string_view kQat = "torch.ao.nn.qat.";
constexpr std::string_view kQatOld = "torch.nn.qat.";
constexpr std::string_view kIntrinsic = "torch.ao.nn.intrinsic.modules.";
constexpr std::string_view kIntrinsicOld = "torch.nn.intrinsic.modules.";
constexpr std::string_view kIntrinsicQat = "torch.ao.nn.intrinsic.qat.";
constexpr std::string_view kIntrinsicQatOld = "torch.nn.intrinsic.qat.";

constexpr ModuleTypeInfo Layer(LayerKind kind, ModuleFamily family) {
  return {ModuleRole::kLayer, kind, family};
}
constexpr ModuleTypeInfo Container(LayerKind kind) {
  return {ModuleRole::kFusedContainer, kind, ModuleFamily::kFloat};
}
constexpr ModuleTypeInfo kBn{ModuleRole::kBatchNorm, LayerKind::kLinear, ModuleFamily::kFloat};
constexpr ModuleTypeInfo kRelu{ModuleRole::kReLU, LayerKind::kLinear, ModuleFamily::kFloat};

using K = LayerKind;
using F = ModuleFamily;

// clang-format off
constexpr Entry kTable[] = {
    {{kNn, kNn}, "Linear", Layer(K::kLinear, F::kFloat)},
    {{kNn, kNn}, "NonDynamicallyQuantizableLinear", Layer(K::kLinear, F::kFloat)},
    {{kNn, kNn}, "Conv1d", Layer(K::kConv1d, F::kFloat)},
    {{kNn, kNn}, "Conv2d", Layer(K::kConv2d, F::kFloat)},
    {{kNn, kNn}, "Conv3d", Layer(K::kConv3d, F::kFloat)},
    {{kQat, kQatOld}, "Linear", Layer(K::kLinear, F::kQat)},
    {{kQat, kQatOld}, "Conv1d", Layer(K::kConv1d, F::kQat)},
    {{kQat, kQatOld}, "Conv2d", Layer(K::kConv2d, F::kQat)},
    {{kQat, kQatOld}, "Conv3d", Layer(K::kConv3d, F::kQat)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "LinearReLU", Layer(K::kLinear, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "LinearBn1d", Layer(K::kLinear, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvBn1d", Layer(K::kConv1d, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvBnReLU1d", Layer(K::kConv1d, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvReLU1d", Layer(K::kConv1d, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvBn2d", Layer(K::kConv2d, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvBnReLU2d", Layer(K::kConv2d, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvReLU2d", Layer(K::kConv2d, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvBn3d", Layer(K::kConv3d, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvBnReLU3d", Layer(K::kConv3d, F::kQatFused)},
    {{kIntrinsicQat, kIntrinsicQatOld}, "ConvReLU3d", Layer(K::kConv3d, F::kQatFused)},
    {{kIntrinsic, kIntrinsicOld}, "LinearReLU", Container(K::kLinear)},
    {{kIntrinsic, kIntrinsicOld}, "LinearBn1d", Container(K::kLinear)},
    {{kIntrinsic, kIntrinsicOld}, "ConvReLU1d", Container(K::kConv1d)},
    {{kIntrinsic, kIntrinsicOld}, "ConvBn1d", Container(K::kConv1d)},
    {{kIntrinsic, kIntrinsicOld}, "ConvBnReLU1d", Container(K::kConv1d)},
    {{kIntrinsic, kIntrinsicOld}, "ConvReLU2d", Container(K::kConv2d)},
    {{kIntrinsic, kIntrinsicOld}, "ConvBn2d", Container(K::kConv2d)},
    {{kIntrinsic, kIntrinsicOld}, "ConvBnReLU2d", Container(K::kConv2d)},
    {{kIntrinsic, kIntrinsicOld}, "ConvReLU3d", Container(K::kConv3d)},
    {{kIntrinsic, kIntrinsicOld}, "ConvBn3d", Container(K::kConv3d)},
    {{kIntrinsic, kIntrinsicOld}, "ConvBnReLU3d", Container(K::kConv3d)},
    {{kNn, kNn}, "BatchNorm1d", kBn},
    {{kNn, kNn}, "BatchNorm2d", kBn},
    {{kNn, kNn}, "BatchNorm3d", kBn},
    {{kNn, kNn}, "ReLU", kRelu},
};
// clang-format on

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::optional<ModuleTypeInfo> ClassifyModuleType(std::string_view python_class_name) {
  const auto dot = python_class_name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view package = python_class_name.substr(0, dot + 1);
  const std::string_view class_name = python_class_name.substr(dot + 1);
  for (const Entry& entry : kTable) {
    if (entry.class_name != class_name) continue;
    for (std::string_view prefix : entry.packages) {
      if (StartsWith(package, prefix)) return entry.info;
    }
  }
  return std::nullopt;
}

}  // namespace qreport

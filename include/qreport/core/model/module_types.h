// The one table of PyTorch module classes qreport knows, and what each one is.
//
// Every question of the form "is this module a QAT Linear?" or "is this a fused container?"
// is answered here, from the module's Python class name, so no other code compares class
// names. Names are matched on the class and its package, so a class that moved between
// PyTorch releases (torch.nn.qat -> torch.ao.nn.qat) is still recognised.
//
//   auto info = qreport::ClassifyModuleType("torch.ao.nn.qat.modules.linear.Linear");
//   // info->role == ModuleRole::kLayer, info->kind == LayerKind::kLinear,
//   // info->family == ModuleFamily::kQat
#ifndef QREPORT_CORE_MODEL_MODULE_TYPES_H_
#define QREPORT_CORE_MODEL_MODULE_TYPES_H_

#include <optional>
#include <string_view>

#include "qreport/core/model/layer.h"

namespace qreport {

enum class ModuleRole {
  kLayer,           // owns a weight and computes a linear/conv (float, QAT, or fused QAT)
  kFusedContainer,  // torch.nn.intrinsic.LinearReLU etc.: a Sequential whose child 0 is the layer
  kBatchNorm,       // BatchNorm1d/2d/3d: foldable into the preceding layer
  kReLU,            // torch.nn.ReLU: fusable after a layer
};

struct ModuleTypeInfo {
  ModuleRole role = ModuleRole::kLayer;
  // For kLayer and kFusedContainer: the kind of the (inner) layer.
  LayerKind kind = LayerKind::kLinear;
  // For kLayer: the family; kFloat otherwise.
  ModuleFamily family = ModuleFamily::kFloat;
};

// Classifies a Python class name such as "torch.nn.modules.conv.Conv2d" (module path and
// class, as `type(m).__module__ + "." + type(m).__qualname__` prints it). Returns nullopt for
// classes qreport does not treat specially (including user-defined modules).
std::optional<ModuleTypeInfo> ClassifyModuleType(std::string_view python_class_name);

}  // namespace qreport

#endif  // QREPORT_CORE_MODEL_MODULE_TYPES_H_

#include "qreport/core/model/layer.h"

#include <array>
#include <utility>

namespace qreport {
namespace {

constexpr std::array<std::pair<LayerKind, const char*>, 4> kLayerKindNames = {{
    {LayerKind::kLinear, "Linear"},
    {LayerKind::kConv1d, "Conv1d"},
    {LayerKind::kConv2d, "Conv2d"},
    {LayerKind::kConv3d, "Conv3d"},
}};

}  // namespace

const char* ToString(LayerKind kind) {
  for (const auto& [k, name] : kLayerKindNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<LayerKind> LayerKindFromString(std::string_view name) {
  for (const auto& [kind, n] : kLayerKindNames) {
    if (name == n) return kind;
  }
  return std::nullopt;
}

int SpatialDims(LayerKind kind) {
  switch (kind) {
    case LayerKind::kLinear:
      return 0;
    case LayerKind::kConv1d:
      return 1;
    case LayerKind::kConv2d:
      return 2;
    case LayerKind::kConv3d:
      return 3;
  }
  return 0;
}

const char* ToString(ModuleFamily family) {
  switch (family) {
    case ModuleFamily::kFloat:
      return "float";
    case ModuleFamily::kQat:
      return "qat";
    case ModuleFamily::kQatFused:
      return "qat_fused";
    case ModuleFamily::kCustom:
      return "custom";
  }
  return "?";
}

const char* ToString(ObservationPosition position) {
  return position == ObservationPosition::kPre ? "pre" : "post";
}

}  // namespace qreport

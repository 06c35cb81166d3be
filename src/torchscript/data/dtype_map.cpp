#include "data/dtype_map.h"

#include <array>
#include <utility>

namespace qreport::torchscript::internal {
namespace {

constexpr std::array<std::pair<c10::ScalarType, DType>, 10> kTypes = {{
    {c10::ScalarType::Float, DType::kFloat32},
    {c10::ScalarType::Double, DType::kFloat64},
    {c10::ScalarType::Half, DType::kFloat16},
    {c10::ScalarType::BFloat16, DType::kBFloat16},
    {c10::ScalarType::Long, DType::kInt64},
    {c10::ScalarType::Int, DType::kInt32},
    {c10::ScalarType::Short, DType::kInt16},
    {c10::ScalarType::Char, DType::kInt8},
    {c10::ScalarType::Byte, DType::kUInt8},
    {c10::ScalarType::Bool, DType::kBool},
}};

}  // namespace

std::optional<DType> CoreDType(c10::ScalarType type) {
  for (const auto& [torch_type, dtype] : kTypes) {
    if (torch_type == type) return dtype;
  }
  return std::nullopt;
}

c10::ScalarType TorchType(DType dtype) {
  for (const auto& [torch_type, core_type] : kTypes) {
    if (core_type == dtype) return torch_type;
  }
  return c10::ScalarType::Float;
}

}  // namespace qreport::torchscript::internal

#include "array_view.h"

#include <optional>
#include <vector>

#include "qreport/core/error.h"

namespace qreport::python {
namespace {

namespace dl = nanobind::dlpack;

std::optional<DType> DTypeOf(dl::dtype type) {
  if (type.lanes != 1) return std::nullopt;
  switch (static_cast<dl::dtype_code>(type.code)) {
    case dl::dtype_code::Float:
      if (type.bits == 32) return DType::kFloat32;
      if (type.bits == 64) return DType::kFloat64;
      if (type.bits == 16) return DType::kFloat16;
      return std::nullopt;
    case dl::dtype_code::Bfloat:
      return type.bits == 16 ? std::optional(DType::kBFloat16) : std::nullopt;
    case dl::dtype_code::Int:
      if (type.bits == 64) return DType::kInt64;
      if (type.bits == 32) return DType::kInt32;
      if (type.bits == 16) return DType::kInt16;
      if (type.bits == 8) return DType::kInt8;
      return std::nullopt;
    case dl::dtype_code::UInt:
      return type.bits == 8 ? std::optional(DType::kUInt8) : std::nullopt;
    case dl::dtype_code::Bool:
      return DType::kBool;
    default:
      return std::nullopt;
  }
}

}  // namespace

TensorView ViewOf(const CpuArray& array, const char* what) {
  const dl::dtype type = array.dtype();
  const std::optional<DType> dtype = DTypeOf(type);
  QREPORT_CHECK(dtype.has_value(),
                "{}: element type (DLPack code {}, {} bits) is not one qreport reads; expected "
                "float32/64, float16, bfloat16, an integer type or bool",
                what, static_cast<int>(type.code), static_cast<int>(type.bits));
  const size_t dims = array.ndim();
  QREPORT_CHECK(dims <= static_cast<size_t>(TensorView::kMaxDims),
                "{}: {} dimensions; qreport reads tensors of at most {}", what, dims,
                TensorView::kMaxDims);
  std::vector<int64_t> sizes(dims), strides(dims);
  for (size_t d = 0; d < dims; ++d) {
    sizes[d] = static_cast<int64_t>(array.shape(d));
    strides[d] = array.stride(d);
    QREPORT_CHECK(strides[d] >= 0 || sizes[d] <= 1, "{}: negative stride {} in dimension {}", what,
                  strides[d], d);
    if (sizes[d] <= 1) strides[d] = 0 > strides[d] ? 0 : strides[d];
  }
  return TensorView(array.data(), *dtype, sizes, strides);
}

}  // namespace qreport::python

#include "qreport/core/data/tensor_view.h"

#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

template <typename T>
T Load(const void* base, int64_t offset) {
  T value;
  std::memcpy(&value, static_cast<const char*>(base) + offset * sizeof(T), sizeof(T));
  return value;
}

}  // namespace

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3FFu) << 13);
    }
  } else if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

float BFloat16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

const char* ToString(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kFloat16:
      return "float16";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kInt64:
      return "int64";
    case DType::kInt32:
      return "int32";
    case DType::kInt16:
      return "int16";
    case DType::kInt8:
      return "int8";
    case DType::kUInt8:
      return "uint8";
    case DType::kBool:
      return "bool";
  }
  return "?";
}

size_t ElementSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat64:
    case DType::kInt64:
      return 8;
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kInt16:
      return 2;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool:
      return 1;
  }
  return 1;
}

bool IsFloatingPoint(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat64 || dtype == DType::kFloat16 ||
         dtype == DType::kBFloat16;
}

TensorView::TensorView(const void* data, DType dtype, const std::vector<int64_t>& sizes,
                       const std::vector<int64_t>& strides)
    : data_(data), dtype_(dtype), dim_(static_cast<int>(sizes.size())) {
  QREPORT_CHECK(sizes.size() == strides.size(), "tensor view: {} sizes but {} strides",
                sizes.size(), strides.size());
  QREPORT_CHECK(dim_ <= kMaxDims, "tensor view: {} dimensions, at most {} are supported", dim_,
                kMaxDims);
  for (int d = 0; d < dim_; ++d) {
    QREPORT_CHECK(sizes[d] >= 0 && strides[d] >= 0,
                  "tensor view: negative size or stride in dimension {}", d);
    sizes_[d] = sizes[d];
    strides_[d] = strides[d];
  }
}

TensorView TensorView::Contiguous(const void* data, DType dtype,
                                  const std::vector<int64_t>& sizes) {
  std::vector<int64_t> strides(sizes.size());
  int64_t stride = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= sizes[d];
  }
  return TensorView(data, dtype, sizes, strides);
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int d = 0; d < dim_; ++d) n *= sizes_[d];
  return n;
}

bool TensorView::is_contiguous() const {
  int64_t expected = 1;
  for (int d = dim_; d-- > 0;) {
    if (sizes_[d] != 1 && strides_[d] != expected) return false;
    expected *= sizes_[d];
  }
  return true;
}

double TensorView::ValueAt(int64_t offset) const {
  switch (dtype_) {
    case DType::kFloat32:
      return Load<float>(data_, offset);
    case DType::kFloat64:
      return Load<double>(data_, offset);
    case DType::kFloat16:
      return HalfToFloat(Load<uint16_t>(data_, offset));
    case DType::kBFloat16:
      return BFloat16ToFloat(Load<uint16_t>(data_, offset));
    case DType::kInt64:
      return static_cast<double>(Load<int64_t>(data_, offset));
    case DType::kInt32:
      return Load<int32_t>(data_, offset);
    case DType::kInt16:
      return Load<int16_t>(data_, offset);
    case DType::kInt8:
      return Load<int8_t>(data_, offset);
    case DType::kUInt8:
      return Load<uint8_t>(data_, offset);
    case DType::kBool:
      return Load<uint8_t>(data_, offset) != 0 ? 1.0 : 0.0;
  }
  return 0.0;
}

std::string TensorView::Describe() const {
  return fmt::format("{}[{}]", ToString(dtype_), fmt::join(sizes(), ", "));
}

}  // namespace qreport

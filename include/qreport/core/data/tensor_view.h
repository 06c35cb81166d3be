// A non-owning, strided view of a tensor's memory: how the core reads activations without
// copying them and without knowing about LibTorch.
//
//   std::vector<float> data(2 * 3);
//   qreport::TensorView view = qreport::TensorView::Contiguous(data.data(), {2, 3});
//   // view.dim() == 2, view.stride(0) == 3, view.numel() == 6
//
// Strides count elements, not bytes, and may be any non-negative values (a transposed or
// sliced tensor). The view never owns the data: the caller keeps it alive.
#ifndef QREPORT_CORE_DATA_TENSOR_VIEW_H_
#define QREPORT_CORE_DATA_TENSOR_VIEW_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace qreport {

// Element types the core reads. float16/bfloat16 are read as such (converted element by
// element as they are loaded), so no full-size float copy is ever made.
enum class DType {
  kFloat32,
  kFloat64,
  kFloat16,
  kBFloat16,
  kInt64,
  kInt32,
  kInt16,
  kInt8,
  kUInt8,
  kBool
};

const char* ToString(DType dtype);
size_t ElementSize(DType dtype);
bool IsFloatingPoint(DType dtype);

// IEEE half and bfloat16 to float, exactly.
float HalfToFloat(uint16_t bits);
float BFloat16ToFloat(uint16_t bits);

class TensorView {
 public:
  static constexpr int kMaxDims = 8;

  TensorView() = default;
  // REQUIRES: sizes.size() == strides.size() <= kMaxDims, sizes and strides non-negative.
  TensorView(const void* data, DType dtype, const std::vector<int64_t>& sizes,
             const std::vector<int64_t>& strides);

  // A C-contiguous (row-major) view.
  static TensorView Contiguous(const void* data, DType dtype, const std::vector<int64_t>& sizes);
  static TensorView Contiguous(const float* data, const std::vector<int64_t>& sizes) {
    return Contiguous(data, DType::kFloat32, sizes);
  }

  const void* data() const { return data_; }
  DType dtype() const { return dtype_; }
  int dim() const { return dim_; }
  int64_t size(int d) const { return sizes_[d]; }
  int64_t stride(int d) const { return strides_[d]; }
  std::vector<int64_t> sizes() const { return {sizes_.begin(), sizes_.begin() + dim_}; }
  std::vector<int64_t> strides() const { return {strides_.begin(), strides_.begin() + dim_}; }
  int64_t numel() const;
  bool is_contiguous() const;

  // The element at a flat element offset from data(), converted to double.
  double ValueAt(int64_t offset) const;

  // "float32[8, 64, 56, 56]".
  std::string Describe() const;

 private:
  const void* data_ = nullptr;
  DType dtype_ = DType::kFloat32;
  int dim_ = 0;
  std::array<int64_t, kMaxDims> sizes_{};
  std::array<int64_t, kMaxDims> strides_{};
};

}  // namespace qreport

#endif  // QREPORT_CORE_DATA_TENSOR_VIEW_H_

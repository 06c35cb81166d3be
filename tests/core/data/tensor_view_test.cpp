#include "qreport/core/data/tensor_view.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

TEST(TensorViewTest, ContiguousStrides) {
  const std::vector<float> data(24);
  const TensorView view = TensorView::Contiguous(data.data(), {2, 3, 4});
  EXPECT_EQ(view.dim(), 3);
  EXPECT_EQ(view.strides(), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(view.numel(), 24);
  EXPECT_TRUE(view.is_contiguous());
  EXPECT_EQ(view.Describe(), "float32[2, 3, 4]");
}

TEST(TensorViewTest, TransposedIsNotContiguous) {
  const std::vector<float> data(6);
  const TensorView view(data.data(), DType::kFloat32, {3, 2}, {1, 3});
  EXPECT_FALSE(view.is_contiguous());
}

TEST(TensorViewTest, ScalarHasOneElement) {
  const float x = 2.5f;
  const TensorView view = TensorView::Contiguous(&x, {});
  EXPECT_EQ(view.numel(), 1);
  EXPECT_EQ(view.ValueAt(0), 2.5);
}

TEST(TensorViewTest, ValueAtConvertsEveryDtype) {
  const std::vector<uint16_t> half = {0x3C00, 0xC100, 0x0001, 0x7C00};  // 1, -2.5, 2^-24, inf
  const TensorView h = TensorView::Contiguous(half.data(), DType::kFloat16, {4});
  EXPECT_EQ(h.ValueAt(0), 1.0);
  EXPECT_EQ(h.ValueAt(1), -2.5);
  EXPECT_EQ(h.ValueAt(2), std::ldexp(1.0, -24));
  EXPECT_TRUE(std::isinf(h.ValueAt(3)));
  const std::vector<uint16_t> bf16 = {0x3F80, 0xC020};  // 1, -2.5
  const TensorView b = TensorView::Contiguous(bf16.data(), DType::kBFloat16, {2});
  EXPECT_EQ(b.ValueAt(1), -2.5);
  const std::vector<int8_t> i8 = {-7};
  EXPECT_EQ(TensorView::Contiguous(i8.data(), DType::kInt8, {1}).ValueAt(0), -7.0);
}

TEST(TensorViewTest, RejectsBadShapes) {
  const float x = 0;
  EXPECT_THROW(TensorView(&x, DType::kFloat32, {2, 2}, {2}), Error);
  EXPECT_THROW(TensorView(&x, DType::kFloat32, {-1}, {1}), Error);
  EXPECT_THROW(TensorView::Contiguous(&x, std::vector<int64_t>(9, 1)), Error);
}

TEST(DTypeTest, SizesAndNames) {
  EXPECT_EQ(ElementSize(DType::kFloat16), 2u);
  EXPECT_EQ(ElementSize(DType::kInt64), 8u);
  EXPECT_STREQ(ToString(DType::kBFloat16), "bfloat16");
  EXPECT_TRUE(IsFloatingPoint(DType::kFloat64));
  EXPECT_FALSE(IsFloatingPoint(DType::kInt32));
}

}  // namespace
}  // namespace qreport

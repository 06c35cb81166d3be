#include "qreport/core/observer.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::Pointwise;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The worked example of the reference (model_report_spec.md, section 2.2).
TEST(ObserverStateTest, ReferenceWorkedExample) {
  const std::vector<float> x = {1, 2, 3, 4, 0, 0, 0, 0, -1, -2, -3, -4};
  ObserverState state;
  state.Update(TensorView::Contiguous(x.data(), {1, 3, 4}));
  EXPECT_THAT(state.min_val(), ElementsAre(1, 0, -4));
  EXPECT_THAT(state.max_val(), ElementsAre(4, 0, -1));
  EXPECT_THAT(state.average_percentile_ratio(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{4.0f / 3.0f, 0.0f, 0.5f}));
  EXPECT_THAT(state.percentile_batches_tracked(), ElementsAre(1, 0, 1));
  EXPECT_THAT(state.constant_channels(), ElementsAre(0, 1, 0));
}

TEST(ObserverStateTest, RunningAverageOfBatchRanges) {
  ObserverState state;
  for (const std::vector<float>& batch :
       {std::vector<float>{0, 1}, std::vector<float>{0, 3}, std::vector<float>{-10, 0}}) {
    state.Update(TensorView::Contiguous(batch.data(), {1, 2}));
  }
  EXPECT_EQ(state.num_batches(), 3);
  EXPECT_FLOAT_EQ(state.average_batch_range(), 14.0f / 3.0f);
  EXPECT_EQ(state.epoch_min(), -10.0f);
  EXPECT_EQ(state.epoch_max(), 3.0f);
}

TEST(ObserverStateTest, DivisionByZeroQuantileSaturates) {
  std::vector<float> x(10, 0.0f);
  x.back() = 5.0f;
  ObserverState state;
  state.Update(TensorView::Contiguous(x.data(), {1, 1, 10}));
  EXPECT_EQ(state.average_percentile_ratio()[0], std::numeric_limits<float>::max());
}

TEST(ObserverStateTest, NonFiniteValuesAreCountedNotFolded) {
  const std::vector<float> x = {1, kNaN, 3, kInf, -2, 2};
  ObserverState state;
  state.Update(TensorView::Contiguous(x.data(), {3, 2}));
  EXPECT_EQ(state.issues().nonfinite_values, 2);
  EXPECT_EQ(state.epoch_min(), -2.0f);
  EXPECT_EQ(state.epoch_max(), 3.0f);
  EXPECT_THAT(state.min_val(), ElementsAre(-2, 2));
  EXPECT_THAT(state.max_val(), ElementsAre(3, 2));
}

TEST(ObserverStateTest, AllNanBatchIsAnEmptyBatch) {
  const std::vector<float> x = {kNaN, kNaN};
  ObserverState state;
  state.Update(TensorView::Contiguous(x.data(), {1, 2}));
  EXPECT_EQ(state.num_batches(), 0);
  EXPECT_EQ(state.issues().empty_batches, 1);
  EXPECT_EQ(state.issues().nonfinite_values, 2);
}

TEST(ObserverStateTest, OneDimensionalInputKeepsRangeStatistics) {
  const std::vector<float> x = {1, 5, -3};
  ObserverState state;  // channel axis 1 does not exist in a 1-D tensor
  state.Update(TensorView::Contiguous(x.data(), {3}));
  EXPECT_EQ(state.issues().missing_axis_batches, 1);
  EXPECT_EQ(state.num_batches(), 1);
  EXPECT_EQ(state.epoch_min(), -3.0f);
  EXPECT_EQ(state.channels(), 0);
}

TEST(ObserverStateTest, ChannelCountChangeIsRecorded) {
  ObserverState state;
  const std::vector<float> a(6, 1.0f);
  state.Update(TensorView::Contiguous(a.data(), {2, 3}));
  state.Update(TensorView::Contiguous(a.data(), {3, 2}));
  EXPECT_EQ(state.issues().channel_mismatch_batches, 1);
  EXPECT_EQ(state.channels(), 3);
  EXPECT_EQ(state.num_batches(), 2);
}

TEST(ObserverStateTest, EmptyTensorIsAnEmptyBatch) {
  ObserverState state;
  state.Update(TensorView::Contiguous(static_cast<const float*>(nullptr), {0, 4}));
  EXPECT_EQ(state.issues().empty_batches, 1);
}

TEST(ObserverStateTest, StridedViewEqualsContiguousCopy) {
  // A (4, 3) tensor stored transposed: element (i, j) at j * 4 + i.
  std::vector<float> storage(12);
  std::vector<float> contiguous(12);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) {
      const float v = std::sin(static_cast<float>(i * 3 + j)) * 10;
      storage[j * 4 + i] = v;
      contiguous[i * 3 + j] = v;
    }
  }
  ObserverState strided;
  ObserverState dense;
  strided.Update(TensorView(storage.data(), DType::kFloat32, {4, 3}, {1, 4}));
  dense.Update(TensorView::Contiguous(contiguous.data(), {4, 3}));
  EXPECT_EQ(strided.min_val(), dense.min_val());
  EXPECT_EQ(strided.max_val(), dense.max_val());
  EXPECT_EQ(strided.average_percentile_ratio(), dense.average_percentile_ratio());
}

TEST(ObserverStateTest, ReadsOtherDtypesAsFloat32) {
  const std::vector<double> f64 = {0.1, -2.5, 7.25, 3.0};
  const std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x4500, 0x0000};  // 1, -2, 5, 0
  const std::vector<int64_t> i64 = {1, -2, 5, 0};
  ObserverState a, b, c;
  a.Update(TensorView::Contiguous(f64.data(), DType::kFloat64, {2, 2}));
  b.Update(TensorView::Contiguous(f16.data(), DType::kFloat16, {2, 2}));
  c.Update(TensorView::Contiguous(i64.data(), DType::kInt64, {2, 2}));
  EXPECT_EQ(a.min_val()[0], static_cast<float>(0.1));
  EXPECT_THAT(b.min_val(), ElementsAre(1, -2));
  EXPECT_THAT(b.max_val(), ElementsAre(5, 0));
  EXPECT_EQ(b.min_val(), c.min_val());
  EXPECT_EQ(b.max_val(), c.max_val());
}

TEST(ObserverStateTest, OnlyRequestedStatisticsAreKept) {
  ObserverOptions options;
  options.statistics = kRangeStatistics;
  ObserverState state(options);
  const std::vector<float> x = {1, 2, 3, 4};
  state.Update(TensorView::Contiguous(x.data(), {2, 2}));
  EXPECT_EQ(state.num_batches(), 1);
  EXPECT_EQ(state.channels(), 0);
}

TEST(ObserverStateTest, MergeEqualsSequentialUpdates) {
  std::vector<std::vector<float>> batches;
  for (int b = 0; b < 4; ++b) {
    std::vector<float> x(2 * 5 * 7);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i * (b + 1))) * b;
    batches.push_back(x);
  }
  ObserverState all, first, second;
  for (size_t b = 0; b < batches.size(); ++b) {
    const TensorView view = TensorView::Contiguous(batches[b].data(), {2, 5, 7});
    all.Update(view);
    (b < 2 ? first : second).Update(view);
  }
  first.Merge(second);
  EXPECT_EQ(first.ToJson(), all.ToJson());
}

TEST(ObserverStateTest, MergeRejectsOtherOptionsAndChannelCounts) {
  ObserverOptions other_axis;
  other_axis.channel_axis = 2;
  ObserverState a, b(other_axis);
  EXPECT_THROW(a.Merge(b), Error);

  ObserverState three, four;
  const std::vector<float> x(12, 1.0f);
  three.Update(TensorView::Contiguous(x.data(), {4, 3}));
  four.Update(TensorView::Contiguous(x.data(), {3, 4}));
  EXPECT_THROW(three.Merge(four), Error);
}

TEST(ObserverStateTest, JsonRoundTripIsExact) {
  const std::vector<float> x = {0.1f, 1e-30f, -3.5f, 7.0f, 0.0f, 2.0f};
  ObserverState state;
  state.Update(TensorView::Contiguous(x.data(), {2, 3}));
  const ObserverState copy =
      ObserverState::FromJson(nlohmann::json::from_cbor(nlohmann::json::to_cbor(state.ToJson())));
  EXPECT_EQ(copy.ToJson(), state.ToJson());
  EXPECT_THROW(ObserverState::FromJson(nlohmann::json{{"options", 1}}), Error);
}

TEST(ObserverOptionsTest, Validate) {
  ObserverOptions options;
  options.comp_percentile = 1.0f;
  EXPECT_THROW(options.Validate(), Error);
  options.comp_percentile = 0.975f;
  EXPECT_NO_THROW(options.Validate());
  options.statistics = 1u << 7;
  EXPECT_THROW(options.Validate(), Error);
}

}  // namespace
}  // namespace qreport

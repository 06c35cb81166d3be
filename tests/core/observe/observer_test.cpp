#include "qreport/core/observe/observer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"
// The per-channel kernel is private to the core; its paths are tested here directly.
#include "observe/channel_scan.h"
#include "observe/quantile_select.h"

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

// Min/max along axis 1 of a weight-shaped tensor (short runs: read in memory order) equal a
// plain loop, with a non-finite value too (left out of min and max).
TEST(ObserverStateTest, ChannelRangesAlongAnInnerAxis) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (const std::vector<int64_t>& shape :
       std::vector<std::vector<int64_t>>{{5, 7, 3, 3}, {6, 9}, {4, 3, 1, 1}}) {
    for (bool with_inf : {false, true}) {
      int64_t numel = 1;
      for (int64_t d : shape) numel *= d;
      std::vector<float> data(static_cast<size_t>(numel));
      for (float& v : data) v = normal(rng);
      if (with_inf) data[7] = kInf;
      const int64_t channels = shape[1];
      const int64_t inner = numel / (shape[0] * channels);
      std::vector<float> want_min(channels, kInf), want_max(channels, -kInf);
      for (int64_t i = 0; i < numel; ++i) {
        const int64_t c = (i / inner) % channels;
        if (!std::isfinite(data[i])) continue;
        want_min[c] = std::min(want_min[c], data[i]);
        want_max[c] = std::max(want_max[c], data[i]);
      }
      ObserverOptions options;
      options.statistics = kChannelMinMaxStatistics;
      ObserverState state(options);
      state.Update(TensorView::Contiguous(data.data(), shape));
      EXPECT_EQ(state.min_val(), want_min) << shape.size() << "-D, inf " << with_inf;
      EXPECT_EQ(state.max_val(), want_max) << shape.size() << "-D, inf " << with_inf;
      EXPECT_EQ(state.issues().nonfinite_values, with_inf ? 1 : 0);
    }
  }
}

// Channels side by side in rows (a Linear's input) are swept four rows at a time, with the
// rows left over one at a time. Min and max must be those of a plain loop over the rows,
// bit for bit (of -0 and +0, the earlier row's), and a non-finite value anywhere, in a block
// of four or in the rows left over, must be left out.
TEST(ObserverStateTest, AcrossChannelSweepEqualsPlainLoop) {
  std::mt19937 rng(17);
  std::normal_distribution<float> normal;
  const auto bits = [](float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
  };
  for (int64_t rows : {1, 2, 3, 4, 5, 8, 11, 64}) {
    for (int64_t channels : {2, 3, 17, 40}) {
      std::vector<float> data(static_cast<size_t>(rows * channels));
      std::bernoulli_distribution coin;
      for (size_t i = 0; i < data.size(); ++i) {
        // Quarters of a small normal value (ties), a ReLU's output (zero its minimum), or
        // zeros and ones; each zero -0 or +0 at random.
        const float x = std::round(normal(rng) * 2.0f) / 4.0f;
        const size_t kind = i % static_cast<size_t>(channels) % 3;
        float v = kind == 0 ? x : kind == 1 ? std::max(x, 0.0f) : (coin(rng) ? 1.0f : 0.0f);
        if (v == 0.0f && coin(rng)) v = -0.0f;
        data[i] = v;
      }
      for (int64_t bad_row : {int64_t{-1}, int64_t{0}, rows - 1}) {
        std::vector<float> batch = data;
        if (bad_row >= 0) batch[static_cast<size_t>(bad_row * channels + 1)] = kNaN;
        std::vector<float> want_min(channels, kInf), want_max(channels, -kInf);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t c = 0; c < channels; ++c) {
            const float v = batch[static_cast<size_t>(r * channels + c)];
            if (std::isnan(v)) continue;
            if (v < want_min[c]) want_min[c] = v;
            if (v > want_max[c]) want_max[c] = v;
          }
        }
        ObserverOptions options;
        options.statistics = kChannelMinMaxStatistics;
        options.channel_axis = -1;
        ObserverState state(options);
        state.Update(TensorView::Contiguous(batch.data(), {rows, channels}));
        SCOPED_TRACE(testing::Message() << rows << "x" << channels << " NaN row " << bad_row);
        EXPECT_EQ(state.issues().nonfinite_values, bad_row >= 0 ? 1 : 0);
        ASSERT_EQ(state.min_val().size(), static_cast<size_t>(channels));
        for (int64_t c = 0; c < channels; ++c) {
          if (bad_row >= 0) {  // the per-channel path answers: values, not zero signs
            EXPECT_EQ(state.min_val()[c], want_min[c]) << "channel " << c;
            EXPECT_EQ(state.max_val()[c], want_max[c]) << "channel " << c;
          } else {
            EXPECT_EQ(bits(state.min_val()[c]), bits(want_min[c])) << "channel " << c;
            EXPECT_EQ(bits(state.max_val()[c]), bits(want_max[c])) << "channel " << c;
          }
        }
      }
    }
  }
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
  EXPECT_EQ(state.unbounded_ratio_batches(), std::vector<int64_t>{1});
}

// The count of saturated batches merges, survives a round trip, and is recovered from the
// ratio sum for states saved before it was kept.
TEST(ObserverStateTest, UnboundedRatioBatchesAreCountedAndMerged) {
  std::vector<float> zero_percentile(20, 0.0f);
  zero_percentile.back() = 5.0f;
  std::vector<float> bounded(20);
  for (size_t i = 0; i < bounded.size(); ++i) bounded[i] = 1.0f + static_cast<float>(i);
  ObserverState a, b, whole;
  for (const auto* x : {&zero_percentile, &bounded, &zero_percentile}) {
    whole.Update(TensorView::Contiguous(x->data(), {1, 1, 20}));
  }
  a.Update(TensorView::Contiguous(zero_percentile.data(), {1, 1, 20}));
  a.Update(TensorView::Contiguous(bounded.data(), {1, 1, 20}));
  b.Update(TensorView::Contiguous(zero_percentile.data(), {1, 1, 20}));
  a.Merge(b);
  EXPECT_EQ(whole.unbounded_ratio_batches(), std::vector<int64_t>{2});
  EXPECT_EQ(a.ToJson(), whole.ToJson());
  EXPECT_EQ(ObserverState::FromJson(whole.ToJson()).unbounded_ratio_batches(),
            std::vector<int64_t>{2});
  nlohmann::json older = whole.ToJson();
  older.erase("unbounded_batches");
  EXPECT_EQ(ObserverState::FromJson(older).unbounded_ratio_batches(), std::vector<int64_t>{2});
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

// Min/max only along a short-run axis (a weight's input channels) is read in memory order; a
// non-finite value there sends the batch to the per-channel path, which leaves it out.
TEST(ObserverStateTest, NonFiniteValuesInShortRunChannelsAreLeftOut) {
  ObserverOptions options;
  options.statistics = kRangeStatistics | kChannelMinMaxStatistics;
  const std::vector<float> rows = {1, kNaN, 3, kInf, -2, 2};  // 3 x 2, channels in runs of 1
  ObserverState across(options);
  across.Update(TensorView::Contiguous(rows.data(), {3, 2}));
  EXPECT_EQ(across.issues().nonfinite_values, 2);
  EXPECT_THAT(across.min_val(), ElementsAre(-2, 2));
  EXPECT_THAT(across.max_val(), ElementsAre(3, 2));

  std::vector<float> blocks(2 * 3 * 4);  // 2 x 3 x 4: channels in runs of 4
  for (size_t i = 0; i < blocks.size(); ++i) blocks[i] = static_cast<float>(i);
  blocks[5] = -kInf;  // channel 1
  ObserverState inner(options);
  inner.Update(TensorView::Contiguous(blocks.data(), {2, 3, 4}));
  EXPECT_EQ(inner.issues().nonfinite_values, 1);
  EXPECT_THAT(inner.min_val(), ElementsAre(0, 4, 8));
  EXPECT_THAT(inner.max_val(), ElementsAre(15, 19, 23));
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

// A per-tensor range of a large activation is read in pieces, one per thread: the extremes
// may lie in any piece, across the runs of a strided view, or beside a value not finite.
TEST(ObserverStateTest, LargePerTensorRangeEqualsOneScan) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  const int64_t n = 8, c = 16, hw = 1600;  // 204,800 values: well past one piece
  std::vector<float> x(static_cast<size_t>(n * c * hw));
  for (float& v : x) v = normal(rng);
  x[123] = -40.0f;               // the minimum, in the first piece
  x[x.size() - 7] = 55.0f;       // the maximum, in the last
  x[x.size() / 2 + 1] = -39.0f;  // near both in the middle
  ObserverOptions range_only;
  range_only.statistics = kRangeStatistics;

  ObserverState dense(range_only);
  dense.Update(TensorView::Contiguous(x.data(), {n, c, hw}));
  EXPECT_EQ(dense.epoch_min(), -40.0f);
  EXPECT_EQ(dense.epoch_max(), 55.0f);
  EXPECT_EQ(dense.issues().nonfinite_values, 0);

  // Every other sample: two runs per piece boundary region, and the maximum left out.
  ObserverState strided(range_only);
  strided.Update(TensorView(x.data(), DType::kFloat32, {n / 2, c, hw}, {2 * c * hw, hw, 1}));
  float low = kInf, high = -kInf;
  for (int64_t s = 0; s < n; s += 2) {
    const auto begin = x.begin() + s * c * hw;
    low = std::min(low, *std::min_element(begin, begin + c * hw));
    high = std::max(high, *std::max_element(begin, begin + c * hw));
  }
  EXPECT_EQ(strided.epoch_min(), low);
  EXPECT_EQ(strided.epoch_max(), high);

  x[x.size() / 3] = kNaN;
  x[x.size() / 4] = kInf;
  ObserverState poisoned(range_only);
  poisoned.Update(TensorView::Contiguous(x.data(), {n, c, hw}));
  EXPECT_EQ(poisoned.epoch_min(), -40.0f);
  EXPECT_EQ(poisoned.epoch_max(), 55.0f);
  EXPECT_EQ(poisoned.issues().nonfinite_values, 2);
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

// --- the per-channel kernel (src/core/quantile_select.h) ----------------------------------

using internal::FloatRun;
using internal::SelectOptions;
using internal::SelectPath;
using internal::SelectScratch;
using internal::SummarizeChannel;

// What SummarizeChannel must compute, by sorting.
struct Expected {
  float min = kInf;
  float max = -kInf;
  int64_t finite = 0;
  float quantile = 0.0f;
};

Expected BySorting(const std::vector<float>& values, float q) {
  std::vector<float> finite;
  for (float v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  Expected e;
  e.finite = static_cast<int64_t>(finite.size());
  if (finite.empty()) return e;
  std::sort(finite.begin(), finite.end());
  e.min = finite.front();
  e.max = finite.back();
  e.quantile = finite[static_cast<size_t>(internal::LowerQuantileIndex(q, e.finite))];
  return e;
}

// The values cut into runs of `run` values (the last one shorter), as an NCHW channel is.
std::vector<FloatRun> RunsOf(const std::vector<float>& values, size_t run) {
  std::vector<FloatRun> runs;
  for (size_t i = 0; i < values.size(); i += run) {
    runs.push_back({values.data() + i, static_cast<int64_t>(std::min(run, values.size() - i))});
  }
  return runs;
}

// Between two thresholds, whether the counting pass copied the values (AVX-512) or a second
// pass did.
bool Inner(SelectPath path) {
  return path == SelectPath::kInner || path == SelectPath::kInnerCopiedInCount;
}

// The path a search between two thresholds the counting pass copies between takes on this
// CPU.
SelectPath CopiedInCountHere() {
#ifdef __x86_64__
  if (__builtin_cpu_supports("avx512f")) return SelectPath::kInnerCopiedInCount;
#endif
  return SelectPath::kInner;
}

SelectPath CheckAgainstSorting(const std::vector<float>& values, size_t run, float q,
                               SelectScratch& scratch, const SelectOptions& options = {},
                               float* hint = nullptr) {
  SelectPath path = SelectPath::kNone;
  const internal::ChannelSummary got =
      SummarizeChannel(RunsOf(values, run), q, scratch, options, &path, hint);
  const Expected want = BySorting(values, q);
  EXPECT_EQ(got.finite, want.finite);
  EXPECT_EQ(got.nonfinite, static_cast<int64_t>(values.size()) - want.finite);
  EXPECT_EQ(got.min, want.min);
  EXPECT_EQ(got.max, want.max);
  EXPECT_EQ(got.quantile, want.quantile) << "n=" << values.size() << " q=" << q;
  return path;
}

std::vector<float> Generate(std::mt19937& rng, int kind, size_t n) {
  std::normal_distribution<float> normal;
  std::cauchy_distribution<float> cauchy;
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    const float x = normal(rng);
    switch (kind) {
      case 0:
        v[i] = x;
        break;  // normal
      case 1:
        v[i] = std::max(x, 0.0f);
        break;  // ReLU: half zeros
      case 2:
        v[i] = std::max(x - 1.5f, 0.0f);
        break;  // ReLU: >90% zeros
      case 3:
        v[i] = std::round(x * 2.0f);
        break;  // few distinct values
      case 4:
        v[i] = cauchy(rng);
        break;  // heavy tails
      case 5:
        v[i] = -std::abs(x) - 1.0f;
        break;  // negative only
      case 6:
        v[i] = static_cast<float>(i % 57) + (i % 7 == 0 ? 1000.0f : 0.0f);
        break;
      default:
        v[i] = 1e-39f * x;
        break;  // subnormal magnitudes
    }
  }
  return v;
}

TEST(QuantileSelectTest, EqualsSortingOnAnyChannel) {
  std::mt19937 rng(7);
  SelectScratch scratch;  // reused, as on an observer thread
  std::set<SelectPath> paths;
  for (size_t n : {1, 2, 3, 17, 63, 64, 65, 200, 392, 1000, 1568, 4099, 25088}) {
    for (int kind = 0; kind < 8; ++kind) {
      const std::vector<float> values = Generate(rng, kind, n);
      for (float q : {0.1f, 0.5f, 0.9f, 0.975f, 0.999f}) {
        for (size_t run : {size_t{49}, size_t{1} << 20}) {
          paths.insert(CheckAgainstSorting(values, run, q, scratch));
        }
      }
    }
  }
  for (SelectPath path : {SelectPath::kTrivial, SelectPath::kNearEnd, SelectPath::kDirect,
                          CopiedInCountHere(), SelectPath::kOuter}) {
    EXPECT_EQ(paths.count(path), 1u) << "path " << static_cast<int>(path) << " never taken";
  }
}

// A channel's thresholds carried from batch to batch (SummarizeChannel's hint): batches of
// one distribution, then of another that moved (the hint's thresholds miss the k-th value),
// then hints that hold nonsense. Every answer is the sorted one.
TEST(QuantileSelectTest, HintsFromEarlierBatchesNeverChangeTheAnswer) {
  std::mt19937 rng(11);
  SelectScratch scratch;
  std::set<SelectPath> paths;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t n : {392, 4099, 25088}) {
    for (int kind = 0; kind < 8; ++kind) {
      for (float q : {0.5f, 0.9f, 0.975f}) {
        std::vector<float> hint(internal::kSelectHintSize, nan);
        for (int batch = 0; batch < 6; ++batch) {
          std::vector<float> values = Generate(rng, kind, n);
          // From batch 3 on the channel's values shift up: the old thresholds sit too low.
          if (batch >= 3) {
            for (float& v : values) v = v * 3.0f + 2.0f;
          }
          paths.insert(CheckAgainstSorting(values, 49, q, scratch, {}, hint.data()));
        }
      }
    }
  }
  EXPECT_EQ(paths.count(SelectPath::kRetried), 1u) << "a missed hint was never retried";
  EXPECT_EQ(paths.count(CopiedInCountHere()), 1u);
  const std::vector<float> values = Generate(rng, 0, 25088);
  const std::vector<std::vector<float>> nonsense = {
      {1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f},  // every value below every threshold
      {-1e30f, -1e30f, -1e30f, -1e30f, -1e30f, -1e30f},
      {3, 2, 1, 0, -1, -2},  // not sorted
      {0, 0, 0, 0, 0, 0},
      {-kInf, -1, 0, 1, kInf, nan}};
  for (std::vector<float> hint : nonsense) {
    CheckAgainstSorting(values, 49, 0.9f, scratch, {}, hint.data());
  }
}

// A sample of one value cannot bracket the k-th value: it lies outside every threshold, and
// the interval up to min or max is copied instead.
TEST(QuantileSelectTest, UnrepresentativeSampleStillExact) {
  std::vector<float> values(5000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((i * 7919) % 5000);
  SelectOptions options;
  options.sample_stride = static_cast<int64_t>(values.size());  // one sampled value
  SelectScratch scratch;
  for (float q : {0.05f, 0.5f, 0.9f}) {
    EXPECT_EQ(CheckAgainstSorting(values, 56, q, scratch, options), SelectPath::kOuter);
  }
}

// The sample sees the zeros of a ReLU many times; the k-th value is one of them.
TEST(QuantileSelectTest, TiedValueAtTheQuantile) {
  std::vector<float> values(10000, 0.0f);
  for (size_t i = 0; i < values.size(); i += 20) values[i] = 1.0f + static_cast<float>(i);
  SelectScratch scratch;
  EXPECT_TRUE(Inner(CheckAgainstSorting(values, 100, 0.9f, scratch)));
  EXPECT_TRUE(Inner(CheckAgainstSorting(values, 100, 0.96f, scratch)));
}

// The k-th value is the float just below a threshold (the sample holds 0.5 and 1.0 only).
TEST(QuantileSelectTest, KthValueOneUlpBelowAThreshold) {
  std::vector<float> values(10000, 1.0f);
  std::fill(values.begin(), values.begin() + 4999, 0.5f);
  values[4999] = std::nextafter(1.0f, 0.0f);
  SelectScratch scratch;
  EXPECT_TRUE(Inner(CheckAgainstSorting(values, 100, 0.5f, scratch)));
}

// The counting pass copies the values between the third and fifth threshold. Hints place
// the k-th value: inside that span (no second pass), outside it but between two thresholds,
// and inside it with the span holding more values than the copy has room for. Each answer is
// the sorted one, by the path the placement calls for.
TEST(QuantileSelectTest, CopyDuringTheCountOnlyWhereItHoldsTheKthValue) {
  std::mt19937 rng(13);
  std::vector<float> values = Generate(rng, 0, 20000);  // normal: the 0.9 quantile is ~1.28
  values[7] = -0.0f;
  values[8] = 0.0f;
  SelectScratch scratch;
  const auto run = [&](std::vector<float> hint) {
    return CheckAgainstSorting(values, 49, 0.9f, scratch, {}, hint.data());
  };
  // A span from 1.2 to 1.6 (about 6% of the values): copied during the count.
  EXPECT_EQ(run({0.5f, 1.0f, 1.2f, 1.35f, 1.6f, 3.0f}), CopiedInCountHere());
  // The k-th value between the second and third threshold: copied by a second pass.
  EXPECT_EQ(run({1.0f, 1.2f, 1.35f, 1.5f, 2.0f, 3.0f}), SelectPath::kInner);
  // Between the fifth and sixth.
  EXPECT_EQ(run({0.2f, 0.4f, 0.6f, 0.8f, 1.2f, 1.35f}), SelectPath::kInner);
  // A span from -4 to 1.35 holds nine values in ten, more than an eighth of the channel:
  // the copy overflows and a second pass copies [1.2, 1.35).
  EXPECT_EQ(run({-10.0f, -5.0f, -4.0f, 1.2f, 1.35f, 10.0f}), SelectPath::kInner);
  // Unsorted: the k-th value lies in [1.2, 1.35), between the fourth and fifth threshold,
  // but the copied span [1.25, 1.35) leaves out [1.2, 1.25).
  EXPECT_EQ(run({-10.0f, -5.0f, 1.25f, 1.2f, 1.35f, 10.0f}), SelectPath::kInner);
}

TEST(QuantileSelectTest, NonFiniteValuesAreLeftOut) {
  std::mt19937 rng(3);
  std::vector<float> values = Generate(rng, 0, 3000);
  for (size_t i = 0; i < values.size(); i += 97) values[i] = kNaN;
  values[5] = kInf;
  values[6] = -kInf;
  SelectScratch scratch;
  for (float q : {0.5f, 0.9f}) CheckAgainstSorting(values, 49, q, scratch);
  const std::vector<float> none(100, kNaN);
  const internal::ChannelSummary summary = SummarizeChannel(RunsOf(none, 49), 0.9f, scratch);
  EXPECT_EQ(summary.finite, 0);
  EXPECT_EQ(summary.nonfinite, 100);
  EXPECT_GT(summary.min, summary.max);
}

// A [rows, channels] activation (a Linear's) is swept row by row, with each channel's
// largest or smallest few values kept, when its quantile is among them; otherwise, or with a
// value that is not finite, it is searched channel by channel. Every case must equal sorting
// each column, by the generic and the AVX-512 sweep and through ScanChannels: kept sets from
// 1 to 16 values at either end, full blocks of 16 channels and a tail, ties, signed zeros and
// constant channels.
TEST(ChannelScanTest, RowMajorChannelsEqualSorting) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  for (int64_t rows : {2, 3, 7, 40, 64, 257, 700}) {
    for (int64_t channels : {2, 5, 16, 37}) {
      std::vector<float> data(static_cast<size_t>(rows * channels));
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < channels; ++c) {
          const float x = normal(rng);
          float v = x;
          if (c % 4 == 1) v = std::round(x * 2.0f) / 4.0f;  // ties, and -0 next to +0
          if (c % 4 == 2) v = 1.5f;                         // constant
          if (c % 4 == 3) v = std::max(x, 0.0f) * 3.0f;     // a ReLU's output
          data[static_cast<size_t>(r * channels + c)] = v;
        }
      }
      for (bool with_nan : {false, true}) {
        if (with_nan) data[static_cast<size_t>(channels / 2)] = kNaN;
        const TensorView view = TensorView::Contiguous(data.data(), {rows, channels});
        const internal::Layout layout = internal::MakeLayout(view, 1);
        for (float q : {0.975f, 0.999f, 0.9f, 0.5f, 0.02f, 0.001f}) {
          const int64_t k = internal::LowerQuantileIndex(q, rows);
          const bool sweeps = std::min(rows - k, k + 1) <= 16 && !with_nan;
          std::vector<std::vector<internal::ChannelSummary>> answers;
          for (bool avx512 : {false, true}) {
            std::vector<internal::ChannelSummary> swept(static_cast<size_t>(channels));
            EXPECT_EQ(internal::SweepRows(data.data(), rows, channels, q, avx512, swept), sweeps)
                << rows << "x" << channels << " q " << q;
            if (sweeps) answers.push_back(swept);
          }
          answers.emplace_back(static_cast<size_t>(channels));
          internal::ScanChannels(view, layout, true, q, answers.back());
          for (const auto& got : answers) {
            for (int64_t c = 0; c < channels; ++c) {
              std::vector<float> column;
              for (int64_t r = 0; r < rows; ++r) {
                column.push_back(data[static_cast<size_t>(r * channels + c)]);
              }
              const Expected want = BySorting(column, q);
              const auto& g = got[static_cast<size_t>(c)];
              SCOPED_TRACE(testing::Message() << rows << "x" << channels << " channel " << c
                                              << " q " << q << (with_nan ? " with NaN" : ""));
              EXPECT_EQ(g.min, want.min);
              EXPECT_EQ(g.max, want.max);
              EXPECT_EQ(g.finite, want.finite);
              EXPECT_EQ(g.nonfinite, rows - want.finite);
              EXPECT_EQ(g.quantile, want.quantile);
            }
          }
        }
      }
    }
  }
}

// A [batch, length, features] activation observed along its last axis: adjacent channels
// whose values are strided, gathered block by block (16 at a time, and a tail). float32 and
// float64, with a NaN in one channel, contiguous and as the transpose of a [features,
// length, batch] tensor (no channel adjacent then), must all equal sorting each channel.
TEST(ChannelScanTest, InterleavedChannelsEqualSorting) {
  std::mt19937 rng(17);
  std::normal_distribution<float> normal;
  const int64_t batch = 3, length = 70, features = 37;
  const int64_t per_channel = batch * length;
  std::vector<float> data(static_cast<size_t>(per_channel * features));
  for (size_t i = 0; i < data.size(); ++i) {
    const float x = normal(rng);
    data[i] = i % 3 == 0 ? std::max(x, 0.0f) : x;
  }
  data[5 * features + 20] = kNaN;  // channel 20
  std::vector<double> wide(data.begin(), data.end());
  std::vector<float> transposed(data.size());  // [features, length, batch]
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t l = 0; l < length; ++l) {
      for (int64_t f = 0; f < features; ++f) {
        transposed[static_cast<size_t>((f * length + l) * batch + b)] =
            data[static_cast<size_t>((b * length + l) * features + f)];
      }
    }
  }
  const std::vector<TensorView> views = {
      TensorView::Contiguous(data.data(), {batch, length, features}),
      TensorView::Contiguous(wide.data(), DType::kFloat64, {batch, length, features}),
      TensorView(transposed.data(), DType::kFloat32, {batch, length, features},
                 {1, batch, batch * length})};
  for (const TensorView& view : views) {
    const internal::Layout layout = internal::MakeLayout(view, -1);
    for (float q : {0.975f, 0.5f}) {
      std::vector<internal::ChannelSummary> got(static_cast<size_t>(features));
      internal::ScanChannels(view, layout, true, q, got);
      for (int64_t f = 0; f < features; ++f) {
        std::vector<float> channel;
        for (int64_t i = 0; i < per_channel; ++i) {
          channel.push_back(data[static_cast<size_t>(i * features + f)]);
        }
        const Expected want = BySorting(channel, q);
        const auto& g = got[static_cast<size_t>(f)];
        SCOPED_TRACE(testing::Message() << "channel " << f << " q " << q << " dtype "
                                        << ToString(view.dtype()) << " strides " << view.stride(0));
        EXPECT_EQ(g.min, want.min);
        EXPECT_EQ(g.max, want.max);
        EXPECT_EQ(g.finite, want.finite);
        EXPECT_EQ(g.nonfinite, per_channel - want.finite);
        EXPECT_EQ(g.quantile, want.quantile);
      }
    }
  }
}

// A channel-last activation (a Linear's input) is gathered per channel; an NCHW one is read
// in place. Both must give the same statistics.
TEST(ObserverStateTest, LargeChannelLastEqualsChannelFirst) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  const int64_t rows = 3000;
  const int64_t channels = 3;
  std::vector<float> last(static_cast<size_t>(rows * channels));
  std::vector<float> first(last.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < channels; ++c) {
      const float v = std::max(normal(rng) * static_cast<float>(c + 1), 0.0f);
      last[static_cast<size_t>(r * channels + c)] = v;
      first[static_cast<size_t>(c * rows + r)] = v;
    }
  }
  ObserverOptions last_axis;
  last_axis.channel_axis = -1;
  ObserverOptions first_axis;
  first_axis.channel_axis = 0;
  ObserverState a(last_axis), b(first_axis);
  a.Update(TensorView::Contiguous(last.data(), {rows, channels}));
  b.Update(TensorView::Contiguous(first.data(), {channels, rows}));
  EXPECT_EQ(a.min_val(), b.min_val());
  EXPECT_EQ(a.max_val(), b.max_val());
  EXPECT_EQ(a.average_percentile_ratio(), b.average_percentile_ratio());
  EXPECT_EQ(a.constant_channels(), b.constant_channels());
}

// Every statistic two states hold, compared as floats (so -0 equals +0).
void ExpectSameStatistics(const ObserverState& got, const ObserverState& want) {
  EXPECT_EQ(got.num_batches(), want.num_batches());
  EXPECT_EQ(got.epoch_min(), want.epoch_min());
  EXPECT_EQ(got.epoch_max(), want.epoch_max());
  EXPECT_EQ(got.average_batch_range(), want.average_batch_range());
  EXPECT_EQ(got.min_val(), want.min_val());
  EXPECT_EQ(got.max_val(), want.max_val());
  EXPECT_EQ(got.average_percentile_ratio(), want.average_percentile_ratio());
  EXPECT_EQ(got.percentile_batches_tracked(), want.percentile_batches_tracked());
  EXPECT_EQ(got.constant_channels(), want.constant_channels());
  EXPECT_EQ(got.issues().empty_batches, want.issues().empty_batches);
  EXPECT_EQ(got.issues().nonfinite_values, want.issues().nonfinite_values);
}

// Batches of N x C x L with channels that stay negative, straddle zero, are constant, or are
// all zero, so ReLU and clamp outputs hit every case of the ratio's zero handling.
std::vector<float> ClampTestBatch(std::mt19937& rng, int64_t n, int64_t c, int64_t l) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(n * c * l));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t j = 0; j < l; ++j) {
        const float x = normal(rng);
        float& out = v[static_cast<size_t>((i * c + ch) * l + j)];
        switch (ch % 5) {
          case 0:
            out = x;
            break;
          case 1:
            out = -std::abs(x) - 0.5f;
            break;  // ReLU makes it all zeros
          case 2:
            out = 3.0f;
            break;  // constant
          case 3:
            out = x * 4.0f + 2.0f;
            break;  // beyond ReLU6's top
          default:
            out = x < 1.2f ? -1.0f : x;
            break;  // mostly negative: k-th is a zero
        }
      }
    }
  }
  return v;
}

// A map's output observed through UpdateThrough equals the output itself observed, for every
// statistic, option set and batch, including a first batch the input's state saw alone.
TEST(ObserverStateTest, UpdateThroughClampEqualsObservingTheOutput) {
  std::mt19937 rng(5);
  const std::vector<ClampMap> maps = {{0.0f, kInf}, {0.0f, 6.0f}, {-1.0f, 1.0f}, {-kInf, 0.5f}};
  for (uint32_t statistics : {uint32_t{kAllStatistics}, uint32_t{kRangeStatistics},
                              uint32_t{kChannelMinMaxStatistics | kRangeStatistics}}) {
    for (const ClampMap& map : maps) {
      ObserverOptions options;
      options.statistics = statistics;
      ObserverOptions input_options;  // the input's observer keeps everything
      ObserverState input(input_options), through(options), direct(options);
      for (int batch = 0; batch < 4; ++batch) {
        const int64_t n = 2, c = 10, l = batch == 0 ? 7 : 300;
        std::vector<float> x = ClampTestBatch(rng, n, c, l);
        std::vector<float> y(x.size());
        std::transform(x.begin(), x.end(), y.begin(),
                       [&](float v) { return std::clamp(v, map.low, map.high); });
        input.Update(TensorView::Contiguous(x.data(), {n, c, l}));
        ASSERT_TRUE(through.UpdateThrough(input, map));
        direct.Update(TensorView::Contiguous(y.data(), {n, c, l}));
      }
      SCOPED_TRACE(::testing::Message() << "statistics " << statistics << " clamp [" << map.low
                                        << ", " << map.high << "]");
      ExpectSameStatistics(through, direct);
    }
  }
}

TEST(ObserverStateTest, UpdateThroughRefusesWhatItCannotMapExactly) {
  std::vector<float> x = {1, -2, 3, 4, 5, 6, -7, 8};
  const TensorView view = TensorView::Contiguous(x.data(), {2, 2, 2});
  const ClampMap relu{0.0f, kInf};
  ObserverState fresh;
  ObserverState input;
  EXPECT_FALSE(fresh.UpdateThrough(input, relu)) << "the input has seen no batch";

  ObserverOptions range_only;
  range_only.statistics = kRangeStatistics;
  ObserverState coarse(range_only);
  coarse.Update(view);
  EXPECT_FALSE(fresh.UpdateThrough(coarse, relu)) << "no per-channel statistics to map";

  ObserverOptions other_axis;
  other_axis.channel_axis = 2;
  ObserverState sideways(other_axis);
  sideways.Update(view);
  EXPECT_FALSE(fresh.UpdateThrough(sideways, relu)) << "channels along another axis";

  ObserverOptions other_percentile;
  other_percentile.comp_percentile = 0.5f;
  ObserverState median(other_percentile);
  median.Update(view);
  EXPECT_FALSE(fresh.UpdateThrough(median, relu)) << "another percentile";

  x[3] = -kInf;  // ReLU would make it a finite 0
  input.Update(view);
  EXPECT_FALSE(fresh.UpdateThrough(input, relu)) << "a non-finite value";
  EXPECT_EQ(fresh.num_batches(), 0);

  x[3] = 4.0f;
  input.Update(view);
  ObserverState range_output(range_only);
  EXPECT_TRUE(range_output.UpdateThrough(input, relu)) << "fewer statistics are fine";
  EXPECT_TRUE(fresh.UpdateThrough(input, relu));
  EXPECT_EQ(fresh.min_val(), (std::vector<float>{0.0f, 0.0f}));
  EXPECT_EQ(fresh.max_val(), (std::vector<float>{6.0f, 8.0f}));
  EXPECT_EQ(range_output.epoch_min(), 0.0f);
  EXPECT_EQ(range_output.epoch_max(), 8.0f);

  std::vector<float> three_channels(12, 1.0f);
  input.Update(TensorView::Contiguous(three_channels.data(), {2, 3, 2}));
  EXPECT_FALSE(fresh.UpdateThrough(input, relu)) << "channel count changed";
}

}  // namespace
}  // namespace qreport

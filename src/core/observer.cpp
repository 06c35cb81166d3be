#include "qreport/core/observer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "qreport/core/error.h"

namespace qreport {
namespace {

constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr float kInf = std::numeric_limits<float>::infinity();
// Below this many elements a batch is processed on one thread: starting threads costs more.
constexpr int64_t kParallelThreshold = 1 << 15;

// The tensor seen as channels x (all other elements). The other dimensions keep their
// order; the innermost one is walked by pointer increments.
struct Layout {
  bool has_axis = false;
  int64_t channels = 1;
  int64_t channel_stride = 0;
  int64_t per_channel = 1;
  int other_dims = 0;
  int64_t other_sizes[TensorView::kMaxDims] = {};
  int64_t other_strides[TensorView::kMaxDims] = {};
};

Layout MakeLayout(const TensorView& view, int channel_axis) {
  Layout layout;
  const int axis = channel_axis < 0 ? channel_axis + view.dim() : channel_axis;
  layout.has_axis = axis >= 0 && axis < view.dim();
  for (int d = 0; d < view.dim(); ++d) {
    if (layout.has_axis && d == axis) {
      layout.channels = view.size(d);
      layout.channel_stride = view.stride(d);
      continue;
    }
    layout.other_sizes[layout.other_dims] = view.size(d);
    layout.other_strides[layout.other_dims] = view.stride(d);
    layout.per_channel *= view.size(d);
    ++layout.other_dims;
  }
  return layout;
}

struct ReadF32 {
  using T = float;
  static float Get(T v) { return v; }
};
struct ReadF64 {
  using T = double;
  static float Get(T v) { return static_cast<float>(v); }
};
struct ReadF16 {
  using T = uint16_t;
  static float Get(T v) { return HalfToFloat(v); }
};
struct ReadBF16 {
  using T = uint16_t;
  static float Get(T v) { return BFloat16ToFloat(v); }
};
template <typename I>
struct ReadInt {
  using T = I;
  static float Get(T v) { return static_cast<float>(v); }
};

// Calls f(value) for every element of channel `c`, as float.
template <typename Reader, typename F>
void ForEachInChannel(const TensorView& view, const Layout& layout, int64_t c, F&& f) {
  using T = typename Reader::T;
  const T* base = static_cast<const T*>(view.data()) + c * layout.channel_stride;
  if (layout.other_dims == 0) {
    f(Reader::Get(base[0]));
    return;
  }
  const int inner = layout.other_dims - 1;
  const int64_t inner_size = layout.other_sizes[inner];
  const int64_t inner_stride = layout.other_strides[inner];
  int64_t index[TensorView::kMaxDims] = {};
  int64_t offset = 0;
  while (true) {
    const T* p = base + offset;
    if (inner_stride == 1) {
      for (int64_t i = 0; i < inner_size; ++i) f(Reader::Get(p[i]));
    } else {
      for (int64_t i = 0; i < inner_size; ++i) f(Reader::Get(p[i * inner_stride]));
    }
    int d = inner - 1;
    for (; d >= 0; --d) {
      offset += layout.other_strides[d];
      if (++index[d] < layout.other_sizes[d]) break;
      offset -= index[d] * layout.other_strides[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

// What one batch says about one channel.
struct ChannelBatch {
  float min = kInf;
  float max = -kInf;
  float comp = 0.0f;  // the comp_percentile quantile
  int64_t finite = 0;
  int64_t nonfinite = 0;

  // Counts a non-finite value, or folds a finite one into min/max. Returns whether it was
  // finite (and so takes part in the quantile).
  bool Add(float v) {
    if (!std::isfinite(v)) {
      ++nonfinite;
      return false;
    }
    min = std::min(min, v);
    max = std::max(max, v);
    return true;
  }
};

// torch.quantile(..., interpolation="lower") on `count` sorted values: the rank is computed in
// the dtype of q (float32), then floored.
int64_t LowerQuantileIndex(float q, int64_t count) {
  const float rank = q * static_cast<float>(count - 1);
  return std::min<int64_t>(static_cast<int64_t>(std::floor(rank)), count - 1);
}

// Floats mapped to unsigned integers in the same order (negative values flipped), so the
// top bits bucket values by magnitude for a histogram select.
inline uint32_t OrderedBits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

constexpr int kBucketShift = 20;  // 4096 buckets: sign, exponent and 3 mantissa bits
constexpr size_t kBuckets = size_t{1} << (32 - kBucketShift);
// Below this many values per channel, copying them and selecting is cheaper than clearing a
// histogram.
constexpr int64_t kHistogramThreshold = 4 * static_cast<int64_t>(kBuckets);

// Min, max and the comp quantile of one channel by a histogram select: one pass counts the
// values per bucket of their top bits, a second collects only the bucket holding the k-th
// value and selects within it. Two streaming passes instead of a full copy and nth_element.
template <typename Reader>
void ChannelByHistogram(const TensorView& view, const Layout& layout, int64_t c, float q,
                        std::vector<uint32_t>& histogram, std::vector<float>& scratch,
                        ChannelBatch& stats) {
  histogram.assign(kBuckets, 0);
  ForEachInChannel<Reader>(view, layout, c, [&](float v) {
    if (stats.Add(v)) ++histogram[OrderedBits(v) >> kBucketShift];
  });
  stats.finite = layout.per_channel - stats.nonfinite;
  if (stats.finite == 0) return;
  const int64_t k = LowerQuantileIndex(q, stats.finite);
  int64_t before = 0;
  size_t bucket = 0;
  while (before + histogram[bucket] <= k) before += histogram[bucket++];
  scratch.clear();
  ForEachInChannel<Reader>(view, layout, c, [&](float v) {
    if (std::isfinite(v) && (OrderedBits(v) >> kBucketShift) == bucket) scratch.push_back(v);
  });
  const auto rank = static_cast<size_t>(k - before);
  std::nth_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(rank),
                   scratch.end());
  stats.comp = scratch[rank];
}

template <typename Reader>
void ScanChannels(const TensorView& view, const Layout& layout, bool percentile, float q,
                  std::vector<ChannelBatch>& out) {
  const int64_t channels = layout.channels;
  const bool parallel = view.numel() >= kParallelThreshold && channels > 1;
  const bool by_histogram = percentile && layout.per_channel >= kHistogramThreshold;
#pragma omp parallel if (parallel)
  {
    std::vector<float> scratch;
    std::vector<uint32_t> histogram;
    if (percentile && !by_histogram) scratch.reserve(static_cast<size_t>(layout.per_channel));
#pragma omp for schedule(dynamic, 1)
    for (int64_t c = 0; c < channels; ++c) {
      ChannelBatch stats;
      if (by_histogram) {
        ChannelByHistogram<Reader>(view, layout, c, q, histogram, scratch, stats);
        out[static_cast<size_t>(c)] = stats;
        continue;
      }
      scratch.clear();
      ForEachInChannel<Reader>(view, layout, c, [&](float v) {
        if (stats.Add(v) && percentile) scratch.push_back(v);
      });
      if (percentile) {
        stats.finite = static_cast<int64_t>(scratch.size());
        if (stats.finite > 0) {
          const int64_t k = LowerQuantileIndex(q, stats.finite);
          std::nth_element(scratch.begin(), scratch.begin() + k, scratch.end());
          stats.comp = scratch[static_cast<size_t>(k)];
        }
      } else {
        stats.finite = stats.min <= stats.max ? 1 : 0;  // only "any finite value" matters
      }
      out[static_cast<size_t>(c)] = stats;
    }
  }
}

void Scan(const TensorView& view, const Layout& layout, bool percentile, float q,
          std::vector<ChannelBatch>& out) {
  switch (view.dtype()) {
    case DType::kFloat32:
      return ScanChannels<ReadF32>(view, layout, percentile, q, out);
    case DType::kFloat64:
      return ScanChannels<ReadF64>(view, layout, percentile, q, out);
    case DType::kFloat16:
      return ScanChannels<ReadF16>(view, layout, percentile, q, out);
    case DType::kBFloat16:
      return ScanChannels<ReadBF16>(view, layout, percentile, q, out);
    case DType::kInt64:
      return ScanChannels<ReadInt<int64_t>>(view, layout, percentile, q, out);
    case DType::kInt32:
      return ScanChannels<ReadInt<int32_t>>(view, layout, percentile, q, out);
    case DType::kInt16:
      return ScanChannels<ReadInt<int16_t>>(view, layout, percentile, q, out);
    case DType::kInt8:
      return ScanChannels<ReadInt<int8_t>>(view, layout, percentile, q, out);
    case DType::kUInt8:
    case DType::kBool:
      return ScanChannels<ReadInt<uint8_t>>(view, layout, percentile, q, out);
  }
}

// torch.nan_to_num on a float32 ratio.
float NanToNum(float v) {
  if (std::isnan(v)) return 0.0f;
  if (std::isinf(v)) return v > 0 ? kFloatMax : -kFloatMax;
  return v;
}

float ToFloatClamped(double v) {
  if (std::isnan(v)) return 0.0f;
  return static_cast<float>(
      std::clamp(v, -static_cast<double>(kFloatMax), static_cast<double>(kFloatMax)));
}

}  // namespace

void ObserverOptions::Validate() const {
  QREPORT_CHECK(comp_percentile > 0.0f && comp_percentile < 1.0f,
                "comp_percentile must be in (0, 1), got {}", comp_percentile);
  QREPORT_CHECK(channel_axis >= -TensorView::kMaxDims && channel_axis < TensorView::kMaxDims,
                "channel axis {} is out of range", channel_axis);
  QREPORT_CHECK((statistics & ~static_cast<uint32_t>(kAllStatistics)) == 0,
                "unknown statistics bits {:#x}", statistics);
}

ObserverState::ObserverState(const ObserverOptions& options) : options_(options) {
  options_.Validate();
}

void ObserverState::EnsureChannels(int64_t channels) {
  const auto n = static_cast<size_t>(channels);
  min_val_.assign(n, kInf);
  max_val_.assign(n, -kInf);
  ratio_sum_.assign(n, 0.0);
  percentile_batches_.assign(n, 0);
  constant_batches_.assign(n, 0);
}

void ObserverState::Update(const TensorView& batch) {
  if (options_.statistics == kNoStatistics) return;
  if (batch.numel() == 0) {
    ++issues_.empty_batches;
    return;
  }
  const bool want_channels =
      (options_.statistics & (kChannelMinMaxStatistics | kPercentileStatistics)) != 0;
  Layout layout = MakeLayout(batch, options_.channel_axis);
  bool channel_stats = want_channels && layout.has_axis;
  if (want_channels && !layout.has_axis) ++issues_.missing_axis_batches;
  if (channel_stats && !min_val_.empty() && channels() != layout.channels) {
    ++issues_.channel_mismatch_batches;
    channel_stats = false;
  }
  if (!channel_stats) layout = MakeLayout(batch, TensorView::kMaxDims);  // one "channel"
  const bool percentile = channel_stats && (options_.statistics & kPercentileStatistics) != 0;

  std::vector<ChannelBatch> per_channel(static_cast<size_t>(layout.channels));
  Scan(batch, layout, percentile, options_.comp_percentile, per_channel);

  float batch_min = kInf;
  float batch_max = -kInf;
  for (const ChannelBatch& c : per_channel) {
    issues_.nonfinite_values += c.nonfinite;
    batch_min = std::min(batch_min, c.min);
    batch_max = std::max(batch_max, c.max);
  }
  if (batch_min > batch_max) {
    ++issues_.empty_batches;
    return;
  }

  if ((options_.statistics & kRangeStatistics) != 0) {
    epoch_min_ = std::min(epoch_min_, batch_min);
    epoch_max_ = std::max(epoch_max_, batch_max);
    batch_range_sum_ += static_cast<double>(batch_max - batch_min);
    ++num_batches_;
  }
  if (!channel_stats) return;

  if (min_val_.empty()) EnsureChannels(layout.channels);
  for (size_t c = 0; c < per_channel.size(); ++c) {
    const ChannelBatch& stats = per_channel[c];
    if (stats.finite == 0) continue;
    min_val_[c] = std::min(min_val_[c], stats.min);
    max_val_[c] = std::max(max_val_[c], stats.max);
    if (!percentile) continue;
    if (stats.comp != 0.0f || stats.max != 0.0f) {
      ratio_sum_[c] += NanToNum(stats.max / stats.comp);
      ++percentile_batches_[c];
    }
    if (stats.max - stats.min == 0.0f) ++constant_batches_[c];
  }
}

void ObserverState::Merge(const ObserverState& other) {
  QREPORT_CHECK(options_ == other.options_,
                "cannot merge observer states recorded with different options");
  issues_.nonfinite_values += other.issues_.nonfinite_values;
  issues_.empty_batches += other.issues_.empty_batches;
  issues_.missing_axis_batches += other.issues_.missing_axis_batches;
  issues_.channel_mismatch_batches += other.issues_.channel_mismatch_batches;
  num_batches_ += other.num_batches_;
  batch_range_sum_ += other.batch_range_sum_;
  epoch_min_ = std::min(epoch_min_, other.epoch_min_);
  epoch_max_ = std::max(epoch_max_, other.epoch_max_);
  if (other.min_val_.empty()) return;
  if (min_val_.empty()) {
    min_val_ = other.min_val_;
    max_val_ = other.max_val_;
    ratio_sum_ = other.ratio_sum_;
    percentile_batches_ = other.percentile_batches_;
    constant_batches_ = other.constant_batches_;
    return;
  }
  QREPORT_CHECK(channels() == other.channels(),
                "cannot merge observer states with {} and {} channels", channels(),
                other.channels());
  for (size_t c = 0; c < min_val_.size(); ++c) {
    min_val_[c] = std::min(min_val_[c], other.min_val_[c]);
    max_val_[c] = std::max(max_val_[c], other.max_val_[c]);
    ratio_sum_[c] += other.ratio_sum_[c];
    percentile_batches_[c] += other.percentile_batches_[c];
    constant_batches_[c] += other.constant_batches_[c];
  }
}

float ObserverState::average_batch_range() const {
  return num_batches_ == 0 ? 0.0f : ToFloatClamped(batch_range_sum_ / num_batches_);
}

std::vector<float> ObserverState::average_percentile_ratio() const {
  std::vector<float> out(ratio_sum_.size(), 0.0f);
  for (size_t c = 0; c < out.size(); ++c) {
    if (percentile_batches_[c] > 0) {
      out[c] = ToFloatClamped(ratio_sum_[c] / static_cast<double>(percentile_batches_[c]));
    }
  }
  return out;
}

nlohmann::json ObserverState::ToJson() const {
  return {
      {"options",
       {{"channel_axis", options_.channel_axis},
        {"comp_percentile", options_.comp_percentile},
        {"statistics", options_.statistics}}},
      {"issues",
       {{"nonfinite_values", issues_.nonfinite_values},
        {"empty_batches", issues_.empty_batches},
        {"missing_axis_batches", issues_.missing_axis_batches},
        {"channel_mismatch_batches", issues_.channel_mismatch_batches}}},
      {"num_batches", num_batches_},
      {"batch_range_sum", batch_range_sum_},
      {"epoch_min", epoch_min_},
      {"epoch_max", epoch_max_},
      {"min_val", min_val_},
      {"max_val", max_val_},
      {"ratio_sum", ratio_sum_},
      {"percentile_batches", percentile_batches_},
      {"constant_batches", constant_batches_},
  };
}

ObserverState ObserverState::FromJson(const nlohmann::json& json) {
  try {
    ObserverOptions options;
    const auto& o = json.at("options");
    options.channel_axis = o.at("channel_axis").get<int>();
    options.comp_percentile = o.at("comp_percentile").get<float>();
    options.statistics = o.at("statistics").get<uint32_t>();
    ObserverState state(options);
    const auto& i = json.at("issues");
    state.issues_.nonfinite_values = i.at("nonfinite_values").get<int64_t>();
    state.issues_.empty_batches = i.at("empty_batches").get<int64_t>();
    state.issues_.missing_axis_batches = i.at("missing_axis_batches").get<int64_t>();
    state.issues_.channel_mismatch_batches = i.at("channel_mismatch_batches").get<int64_t>();
    state.num_batches_ = json.at("num_batches").get<int64_t>();
    state.batch_range_sum_ = json.at("batch_range_sum").get<double>();
    state.epoch_min_ = json.at("epoch_min").get<float>();
    state.epoch_max_ = json.at("epoch_max").get<float>();
    state.min_val_ = json.at("min_val").get<std::vector<float>>();
    state.max_val_ = json.at("max_val").get<std::vector<float>>();
    state.ratio_sum_ = json.at("ratio_sum").get<std::vector<double>>();
    state.percentile_batches_ = json.at("percentile_batches").get<std::vector<int64_t>>();
    state.constant_batches_ = json.at("constant_batches").get<std::vector<int64_t>>();
    const size_t n = state.min_val_.size();
    QREPORT_CHECK_KIND(state.max_val_.size() == n && state.ratio_sum_.size() == n &&
                           state.percentile_batches_.size() == n &&
                           state.constant_batches_.size() == n,
                       ErrorKind::kBadData, "observer state: per-channel arrays differ in length");
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw MakeError(ErrorKind::kBadData, "observer state: {}", e.what());
  }
}

}  // namespace qreport

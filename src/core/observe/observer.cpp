#include "qreport/core/observe/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "observe/channel_scan.h"
#include "observe/state_json.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

using internal::ChannelSummary;
using internal::Layout;
using internal::MakeLayout;

constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr float kInf = std::numeric_limits<float>::infinity();

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
  unbounded_batches_.assign(n, 0);
}

void ObserverState::Update(const TensorView& batch, size_t site) {
  last_batch_.usable = false;
  if (options_.statistics == kNoStatistics) return;
  if (batch.numel() == 0) {
    ++issues_.empty_batches;
    return;
  }
  const bool want_channels = (options_.statistics & kChannelStatistics) != 0;
  Layout layout = MakeLayout(batch, options_.channel_axis);
  bool channel_stats = want_channels && layout.has_axis;
  if (want_channels && !layout.has_axis) ++issues_.missing_axis_batches;
  if (channel_stats && !min_val_.empty() && channels() != layout.channels) {
    ++issues_.channel_mismatch_batches;
    channel_stats = false;
  }
  if (!channel_stats) layout = MakeLayout(batch, TensorView::kMaxDims);  // one "channel"
  const bool percentile = channel_stats && (options_.statistics & kPercentileStatistics) != 0;

  std::vector<ChannelSummary> per_channel(static_cast<size_t>(layout.channels));
  float* hints = nullptr;
  if (percentile) {
    const auto size = static_cast<size_t>(layout.channels * internal::kSelectHintSize);
    if (select_hints_.size() <= site) select_hints_.resize(site + 1);
    std::vector<float>& site_hints = select_hints_[site];
    if (site_hints.size() != size) site_hints.assign(size, std::numeric_limits<float>::quiet_NaN());
    hints = site_hints.data();
  }
  internal::ScanChannels(batch, layout, percentile, options_.comp_percentile, per_channel, hints);

  last_batch_.channel_stats = channel_stats;
  last_batch_.percentile = percentile;
  last_batch_.nonfinite = false;
  last_batch_.channels.resize(per_channel.size());
  for (size_t c = 0; c < per_channel.size(); ++c) {
    const ChannelSummary& summary = per_channel[c];
    issues_.nonfinite_values += summary.nonfinite;
    last_batch_.nonfinite |= summary.nonfinite > 0;
    last_batch_.channels[c] = {summary.min, summary.max, summary.quantile, summary.finite};
  }
  FoldLastBatch();
}

bool ObserverState::UpdateThrough(const ObserverState& input, const ClampMap& map) {
  QREPORT_ASSERT(&input != this, "an observer cannot observe a map of its own input");
  if (options_.statistics == kNoStatistics) return true;
  const LastBatch& in = input.last_batch_;
  if (!in.usable || in.nonfinite) return false;
  const bool want_channels = (options_.statistics & kChannelStatistics) != 0;
  const bool want_percentile = (options_.statistics & kPercentileStatistics) != 0;
  if (want_channels) {
    // The input's channels must be ours: along our axis, as many as we have seen before.
    if (!in.channel_stats || input.options_.channel_axis != options_.channel_axis) return false;
    if (!min_val_.empty() && in.channels.size() != min_val_.size()) return false;
    if (want_percentile &&
        (!in.percentile || input.options_.comp_percentile != options_.comp_percentile)) {
      return false;
    }
  }
  last_batch_.channel_stats = want_channels;
  last_batch_.percentile = want_percentile;
  last_batch_.nonfinite = false;
  last_batch_.channels.resize(want_channels ? in.channels.size() : 1);
  if (want_channels) {
    for (size_t c = 0; c < in.channels.size(); ++c) {
      const ChannelBatch& from = in.channels[c];
      last_batch_.channels[c] = from.finite == 0 ? from
                                                 : ChannelBatch{map(from.min), map(from.max),
                                                                map(from.quantile), from.finite};
    }
  } else {  // the whole tensor as one "channel"
    ChannelBatch whole{kInf, -kInf, 0.0f, 0};
    for (const ChannelBatch& from : in.channels) {
      if (from.finite == 0) continue;
      whole.min = std::min(whole.min, map(from.min));
      whole.max = std::max(whole.max, map(from.max));
      whole.finite += from.finite;
    }
    last_batch_.channels[0] = whole;
  }
  FoldLastBatch();
  return true;
}

void ObserverState::FoldLastBatch() {
  float batch_min = kInf;
  float batch_max = -kInf;
  for (const ChannelBatch& c : last_batch_.channels) {
    batch_min = std::min(batch_min, c.min);
    batch_max = std::max(batch_max, c.max);
  }
  if (batch_min > batch_max) {
    ++issues_.empty_batches;
    return;
  }
  last_batch_.usable = true;

  if ((options_.statistics & kRangeStatistics) != 0) {
    epoch_min_ = std::min(epoch_min_, batch_min);
    epoch_max_ = std::max(epoch_max_, batch_max);
    batch_range_sum_ += static_cast<double>(batch_max - batch_min);
    ++num_batches_;
  }
  if (!last_batch_.channel_stats) return;

  if (min_val_.empty()) EnsureChannels(static_cast<int64_t>(last_batch_.channels.size()));
  for (size_t c = 0; c < last_batch_.channels.size(); ++c) {
    const ChannelBatch& stats = last_batch_.channels[c];
    if (stats.finite == 0) continue;
    min_val_[c] = std::min(min_val_[c], stats.min);
    max_val_[c] = std::max(max_val_[c], stats.max);
    if (!last_batch_.percentile) continue;
    if (stats.quantile != 0.0f || stats.max != 0.0f) {
      const float ratio = stats.max / stats.quantile;
      ratio_sum_[c] += NanToNum(ratio);
      ++percentile_batches_[c];
      if (std::isinf(ratio)) ++unbounded_batches_[c];
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
    unbounded_batches_ = other.unbounded_batches_;
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
    unbounded_batches_[c] += other.unbounded_batches_[c];
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
      {"unbounded_batches", unbounded_batches_},
  };
}

namespace internal {
namespace {

int64_t CheckedCount(const nlohmann::json& value, const char* key) {
  // A float (NaN, 2.5) must not be cast to an integer: for NaN that is undefined.
  QREPORT_CHECK_KIND(value.is_number_integer(), ErrorKind::kBadData,
                     "observer state: '{}' must hold whole numbers, got {}", key, value.dump());
  if (value.is_number_unsigned()) {
    QREPORT_CHECK_KIND(
        value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
        ErrorKind::kBadData, "observer state: '{}' is too large: {}", key, value.dump());
  }
  const int64_t count = value.get<int64_t>();
  QREPORT_CHECK_KIND(count >= 0, ErrorKind::kBadData,
                     "observer state: '{}' must not be negative, got {}", key, count);
  return count;
}

float CheckedFloat(const nlohmann::json& value, const char* key) {
  QREPORT_CHECK_KIND(value.is_number(), ErrorKind::kBadData,
                     "observer state: '{}' must hold numbers, got {}", key, value.dump());
  const double number = value.get<double>();
  // A finite double beyond float's range has no float value (the cast is undefined).
  QREPORT_CHECK_KIND(!std::isfinite(number) || std::abs(number) <= kFloatMax, ErrorKind::kBadData,
                     "observer state: '{}' is out of float32's range: {}", key, number);
  return static_cast<float>(number);
}

template <typename Check>
auto ListFromJson(const nlohmann::json& object, const char* key, const char* what, Check check) {
  const nlohmann::json& values = object.at(key);
  QREPORT_CHECK_KIND(values.is_array(), ErrorKind::kBadData,
                     "observer state: '{}' must be a list of {}", key, what);
  std::vector<decltype(check(values, key))> list;
  list.reserve(values.size());
  for (const nlohmann::json& value : values) list.push_back(check(value, key));
  return list;
}

}  // namespace

int64_t CountFromJson(const nlohmann::json& object, const char* key) {
  return CheckedCount(object.at(key), key);
}

float FloatFromJson(const nlohmann::json& object, const char* key) {
  return CheckedFloat(object.at(key), key);
}

std::vector<float> FloatsFromJson(const nlohmann::json& object, const char* key) {
  return ListFromJson(object, key, "numbers", CheckedFloat);
}

std::vector<int64_t> CountsFromJson(const nlohmann::json& object, const char* key) {
  return ListFromJson(object, key, "counts", CheckedCount);
}

}  // namespace internal

ObserverState ObserverState::FromJson(const nlohmann::json& json) {
  try {
    ObserverOptions options;
    const auto& o = json.at("options");
    // Checked before the casts, which are undefined for NaN and out-of-range values; the
    // constructor validates the rest.
    const nlohmann::json& axis = o.at("channel_axis");
    QREPORT_CHECK_KIND(
        axis.is_number_integer() &&
            (axis.is_number_unsigned() ? axis.get<uint64_t>() <= 64 : axis.get<int64_t>() >= -64),
        ErrorKind::kBadData, "observer state: bad channel axis {}", axis.dump());
    options.channel_axis = axis.get<int>();
    options.comp_percentile = internal::FloatFromJson(o, "comp_percentile");
    options.statistics = static_cast<uint32_t>(
        std::min<int64_t>(internal::CountFromJson(o, "statistics"), UINT32_MAX));
    ObserverState state(options);
    const auto& i = json.at("issues");
    state.issues_.nonfinite_values = internal::CountFromJson(i, "nonfinite_values");
    state.issues_.empty_batches = internal::CountFromJson(i, "empty_batches");
    state.issues_.missing_axis_batches = internal::CountFromJson(i, "missing_axis_batches");
    state.issues_.channel_mismatch_batches = internal::CountFromJson(i, "channel_mismatch_batches");
    state.num_batches_ = internal::CountFromJson(json, "num_batches");
    state.batch_range_sum_ = json.at("batch_range_sum").get<double>();
    state.epoch_min_ = internal::FloatFromJson(json, "epoch_min");
    state.epoch_max_ = internal::FloatFromJson(json, "epoch_max");
    state.min_val_ = internal::FloatsFromJson(json, "min_val");
    state.max_val_ = internal::FloatsFromJson(json, "max_val");
    state.ratio_sum_ = json.at("ratio_sum").get<std::vector<double>>();
    state.percentile_batches_ = internal::CountsFromJson(json, "percentile_batches");
    state.constant_batches_ = internal::CountsFromJson(json, "constant_batches");
    if (json.contains("unbounded_batches")) {
      state.unbounded_batches_ = internal::CountsFromJson(json, "unbounded_batches");
    } else {
      // States written before the count was kept: every finite ratio is far below FLT_MAX,
      // so the sum says how many FLT_MAX entered it.
      for (double sum : state.ratio_sum_) {
        state.unbounded_batches_.push_back(
            sum >= kFloatMax / 2 ? std::llround(sum / static_cast<double>(kFloatMax)) : 0);
      }
    }
    const size_t n = state.min_val_.size();
    QREPORT_CHECK_KIND(state.max_val_.size() == n && state.ratio_sum_.size() == n &&
                           state.percentile_batches_.size() == n &&
                           state.constant_batches_.size() == n &&
                           state.unbounded_batches_.size() == n,
                       ErrorKind::kBadData, "observer state: per-channel arrays differ in length");
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw MakeError(ErrorKind::kBadData, "observer state: {}", e.what());
  }
}

}  // namespace qreport

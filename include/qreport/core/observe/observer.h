// The statistics qreport keeps at one observation point, with the update rules of PyTorch's
// ModelReportObserver (torch/ao/quantization/fx/_model_report/model_report_observer.py), made
// mergeable and robust.
//
//   qreport::ObserverOptions options;
//   options.statistics = qreport::kAllStatistics;
//   qreport::ObserverState state(options);
//   for (const TensorView& batch : batches) state.Update(batch);
//   float s = state.average_batch_range() / (state.epoch_max() - state.epoch_min());
//
// Per batch, over the finite values of the activation (converted to float32 first, as the
// reference does):
//  - kRange: the whole tensor's min and max; the epoch min/max, and the running average of
//    the batch ranges (max - min), over the batches seen.
//  - kChannelMinMax: per channel along `channel_axis`, the running min and max.
//  - kPercentile: per channel, the 0, `comp_percentile` and 1.0 quantiles with "lower"
//    interpolation (sorted values, index floor(q * (M - 1)), q and the product in float32 as
//    torch.quantile computes them). A channel whose comp quantile and max are both exactly 0
//    is skipped for that batch; otherwise the ratio max / comp-quantile (NaN -> 0, +-inf ->
//    +-FLT_MAX) enters the channel's average. A channel whose max equals its min in a batch
//    counts as constant for that batch.
// Where the reference is wrong (docs/reference_differences.md): statistics are taken along
// the requested channel axis for every axis; NaN and Inf values are counted, never folded
// into min/max; a batch the reference would raise on is recorded in `issues()` instead.
#ifndef QREPORT_CORE_OBSERVE_OBSERVER_H_
#define QREPORT_CORE_OBSERVE_OBSERVER_H_

#include <cstdint>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "qreport/core/data/tensor_view.h"

namespace qreport {

// What an observer computes; a bit set so detectors' requests can be merged with `|`.
enum Statistics : uint32_t {
  kNoStatistics = 0,
  kRangeStatistics = 1u << 0,
  kChannelMinMaxStatistics = 1u << 1,
  kPercentileStatistics = 1u << 2,
  kAllStatistics = kRangeStatistics | kChannelMinMaxStatistics | kPercentileStatistics,
  // The statistics kept per channel (along ObserverOptions::channel_axis).
  kChannelStatistics = kChannelMinMaxStatistics | kPercentileStatistics,
};

struct ObserverOptions {
  // Axis of the channels; negative counts from the end (-1: the last axis).
  int channel_axis = 1;
  // The quantile compared with the maximum for outlier detection; in (0, 1).
  float comp_percentile = 0.9f;
  uint32_t statistics = kAllStatistics;

  // Throws qreport::Error(kInvalidArgument) for out-of-range values.
  void Validate() const;
  bool operator==(const ObserverOptions& other) const {
    return channel_axis == other.channel_axis && comp_percentile == other.comp_percentile &&
           statistics == other.statistics;
  }
};

// Batches or values an observer could not use, by reason. Counted, never fatal.
struct ObserverIssues {
  int64_t nonfinite_values = 0;          // NaN or +-Inf elements, left out of every statistic
  int64_t empty_batches = 0;             // batches without a single finite value
  int64_t missing_axis_batches = 0;      // tensors without the channel axis (e.g. 1-D)
  int64_t channel_mismatch_batches = 0;  // channel count differed from earlier batches

  bool empty() const {
    return nonfinite_values == 0 && empty_batches == 0 && missing_axis_batches == 0 &&
           channel_mismatch_batches == 0;
  }
};

// clamp(x, low, high), the elementwise map of ReLU (low 0), ReLU6 and hardtanh: it never
// decreases, so it keeps every value's rank, and the min, max and quantiles of its output are
// the map of its input's (the sign of a zero aside: a -0 comes back as +0, as selection
// treats them as one value). Without bounds it is the identity, exactly: the same tensor
// seen by a second observer.
struct ClampMap {
  float low = -std::numeric_limits<float>::infinity();
  float high = std::numeric_limits<float>::infinity();

  bool identity() const {
    return low == -std::numeric_limits<float>::infinity() &&
           high == std::numeric_limits<float>::infinity();
  }
  float operator()(float v) const {
    if (identity()) return v;
    return (v < low ? low : v > high ? high : v) + 0.0f;
  }
};

class ObserverState {
 public:
  explicit ObserverState(const ObserverOptions& options = {});

  // Folds one batch in. Never throws for data-dependent problems: they go to issues().
  // `site` says which of the point's call sites the batch comes from (a module called twice
  // sees different values at each); it changes no result, only where the quantile search
  // starts.
  void Update(const TensorView& batch, size_t site = 0);

  // Folds in the batch `input` saw last, mapped through `map`, as Update would have folded in
  // the mapped tensor itself: for an output of ReLU whose input is observed too, without
  // reading it. False, changing nothing, where that would not be exact: `input`'s last batch
  // was empty or held non-finite values (clamp turns -Inf into a finite value), or lacks a
  // statistic this observer keeps (per channel along our axis, or our percentile).
  bool UpdateThrough(const ObserverState& input, const ClampMap& map);

  // Folds in another state of the same point, as if its batches had been run after ours.
  // REQUIRES: same options. Throws qreport::Error(kInvalidArgument) if channel counts differ.
  void Merge(const ObserverState& other);

  const ObserverOptions& options() const { return options_; }
  const ObserverIssues& issues() const { return issues_; }

  // Range statistics (kRangeStatistics).
  int64_t num_batches() const { return num_batches_; }
  float epoch_min() const { return epoch_min_; }
  float epoch_max() const { return epoch_max_; }
  float average_batch_range() const;

  // Per-channel statistics; empty until a batch with the channel axis has been seen.
  int64_t channels() const { return static_cast<int64_t>(min_val_.size()); }
  const std::vector<float>& min_val() const { return min_val_; }
  const std::vector<float>& max_val() const { return max_val_; }
  std::vector<float> average_percentile_ratio() const;
  const std::vector<int64_t>& percentile_batches_tracked() const { return percentile_batches_; }
  const std::vector<int64_t>& constant_channels() const { return constant_batches_; }
  // Per channel: batches whose ratio max / comp-quantile was infinite (the quantile was 0, or
  // the division overflowed) and entered the average as FLT_MAX. A person must be told that
  // such an average is "unbounded", not a measured ratio of 4e37.
  const std::vector<int64_t>& unbounded_ratio_batches() const { return unbounded_batches_; }

  // Exact round trip (floats and sums are stored exactly).
  nlohmann::json ToJson() const;
  static ObserverState FromJson(const nlohmann::json& json);

 private:
  void EnsureChannels(int64_t channels);
  // Folds last_batch_ in.
  void FoldLastBatch();

  ObserverOptions options_;
  ObserverIssues issues_;
  int64_t num_batches_ = 0;
  double batch_range_sum_ = 0.0;
  float epoch_min_ = std::numeric_limits<float>::infinity();
  float epoch_max_ = -std::numeric_limits<float>::infinity();
  std::vector<float> min_val_;
  std::vector<float> max_val_;
  std::vector<double> ratio_sum_;
  std::vector<int64_t> percentile_batches_;
  std::vector<int64_t> constant_batches_;
  std::vector<int64_t> unbounded_batches_;
  // Not a statistic: per call site and channel, where the next batch's quantile search
  // starts. Never saved, merged or compared; results do not depend on it.
  std::vector<std::vector<float>> select_hints_;
  // What the last Update found per channel (one "channel", the whole tensor, when it kept no
  // channel statistics), for observers of a map of this tensor (UpdateThrough). Neither
  // saved nor merged.
  struct ChannelBatch {
    float min;  // +Inf if the channel had no finite value
    float max;
    float quantile;  // 0 unless percentile
    int64_t finite;
  };
  struct LastBatch {
    bool usable = false;  // a batch with finite values was folded in
    bool channel_stats = false;
    bool percentile = false;
    bool nonfinite = false;
    std::vector<ChannelBatch> channels;
  };
  LastBatch last_batch_;
};

}  // namespace qreport

#endif  // QREPORT_CORE_OBSERVE_OBSERVER_H_

// Private to the core: the per-channel kernel of ObserverState::Update on float32 values.
//
// A channel is handed over as contiguous runs of floats (for an NCHW activation: one run of
// H*W values per sample). Its min, max and comp quantile (the k-th smallest value) come from
// two passes over the values:
//  1. six thresholds around the rank-k value: placed by the channel's previous batch (a
//     hint), or else estimated from a pseudo-random sample of about (N/6)^(2/3) values;
//  2. one vectorised pass takes min, max, whether a value is not finite and, for every
//     threshold, how many values lie below it: exact ranks, so the k-th value is known to lie
//     between two neighbouring thresholds (or a threshold and min/max);
//  3. a second pass copies the values between those two thresholds (usually a few percent of
//     the channel, now in cache), and the k-th value is found among them by counting ranks
//     (few values) or by bisection on their bits. With AVX-512 the counting pass already
//     copies the values between the third and fifth threshold, where a hint's k-th value
//     usually falls (four times in five on ResNet-18), and the second pass is skipped.
// The result is always exact: the thresholds only decide how few values are copied. Poor ones
// make the interval wider (up to the whole channel), never the answer wrong.
//
// The passes are compiled for plain x86-64, AVX2 and AVX-512 and picked at load time.
#ifndef QREPORT_SRC_CORE_OBSERVE_QUANTILE_SELECT_H_
#define QREPORT_SRC_CORE_OBSERVE_QUANTILE_SELECT_H_

#include <cstdint>
#include <memory>
#include <vector>

namespace qreport::internal {

struct FloatRun {
  const float* data;
  int64_t size;
};

// Buffers reused across channels on one thread: O(values of the largest channel).
class SelectScratch {
 public:
  // Buffers of at least `size` floats; their contents are unspecified.
  float* Window(int64_t size) { return window_.Get(size); }
  float* Channel(int64_t size) { return channel_.Get(size); }
  float* Block(int64_t size) { return block_.Get(size); }
  std::vector<float>& sample() { return sample_; }

 private:
  class Buffer {
   public:
    float* Get(int64_t size);

   private:
    std::unique_ptr<float[]> data_;
    int64_t size_ = 0;
  };

  Buffer window_;   // the values copied for the final select
  Buffer channel_;  // a channel gathered into one run (by the caller), or its finite values
  Buffer block_;    // adjacent channels gathered side by side (by the caller)
  std::vector<float> sample_;
};

// How SummarizeChannel found the quantile (for tests).
enum class SelectPath {
  kNone,                // no quantile asked for, or no finite value
  kTrivial,             // the k-th value is the min or the max
  kNearEnd,             // a small channel whose k-th value is among its few extreme ones
  kDirect,              // a small channel: every value copied and selected from
  kInner,               // between two thresholds
  kInnerCopiedInCount,  // between two thresholds the counting pass copied between (AVX-512)
  kOuter,               // between min and the lowest threshold, or the highest and max
  kRetried,  // the hint's thresholds bracketed too many values: sampled and counted again
};

struct SelectOptions {
  // Channels with fewer values are copied whole and selected from directly.
  int64_t direct_below = 64;
  // Distance between sampled values; 0 picks it from the channel's size.
  int64_t sample_stride = 0;
};

struct ChannelSummary {
  float min;  // of the finite values; +Inf if there are none
  float max;  // -Inf if there are none
  int64_t finite;
  int64_t nonfinite;
  float quantile;  // 0 unless asked for and finite > 0
};

// Thresholds for the next batch's search of a channel's quantile, which then needs no sample:
// each search places them around the k-th value it found, at ranks read off the distribution
// it counted (see PlaceHint). Consecutive calibration batches at one call site look alike,
// and taking the sample (scattered reads over the whole channel) costs about half as much as
// the pass itself. A hint is kSelectHintSize floats; NaN first means "none yet". Only a
// hint: a poor one costs another pass over the channel, never a different result.
constexpr int kSelectHintSize = 6;

// The kernels work on vectors of this many floats: a buffer they copy values into needs room
// for this many more than it will hold.
constexpr int kSelectLanes = 16;

// Min, max and counts of the runs' values and, if `quantile` is in (0, 1), the quantile of
// the finite values as torch.quantile(interpolation="lower") computes it. May overwrite
// scratch.Channel() (in place if the runs point there). `hint`, if given, is read and
// updated (see kSelectHintSize).
ChannelSummary SummarizeChannel(const std::vector<FloatRun>& runs, float quantile,
                                SelectScratch& scratch, const SelectOptions& options = {},
                                SelectPath* path = nullptr, float* hint = nullptr);

// torch.quantile(..., interpolation="lower") on `count` sorted values: the rank is computed
// in the dtype of q (float32), then floored. REQUIRES: count > 0.
int64_t LowerQuantileIndex(float q, int64_t count);

}  // namespace qreport::internal

#endif  // QREPORT_SRC_CORE_OBSERVE_QUANTILE_SELECT_H_

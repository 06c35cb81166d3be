// Private to the core: the per-channel kernels of ObserverState::Update on float32 values.
//
// A channel is handed over as contiguous runs of floats (for an NCHW activation: one run of
// H*W values per sample). The comp quantile is the k-th smallest value, found exactly by a
// sampled window:
//  1. a strided sample of about (N)^(2/3) values estimates the ranks k - w and k + w;
//  2. one pass counts the values below the window and copies the few inside it;
//  3. if the k-th value is inside the window (it nearly always is) it is selected among the
//     copied values; otherwise every value is copied and selected from (the fallback).
// Either way the result is the exact k-th value: the sample only decides how much is copied.
#ifndef QREPORT_CORE_QUANTILE_SELECT_H_
#define QREPORT_CORE_QUANTILE_SELECT_H_

#include <cstdint>
#include <memory>
#include <vector>

namespace qreport::internal {

struct FloatRun {
  const float* data;
  int64_t size;
};

struct MinMax {
  float min;
  float max;
  int64_t nonfinite;  // NaN and +-Inf values
};

// The min and max of the runs' values, NaN skipped (an Inf is included), and the number of
// non-finite values. An empty or all-NaN input gives min = +Inf, max = -Inf.
MinMax ScanMinMax(const std::vector<FloatRun>& runs);

// How the last SelectKth call found its value (for tests and benchmarks).
enum class SelectPath { kTrivial, kDirect, kWindow, kFallback };

struct SelectOptions {
  // Channels with fewer values are copied whole and selected from directly.
  int64_t window_min_values = 2048;
  // Half-width of the window in sampled ranks: z standard deviations of the sample quantile
  // (binomial), plus one. A smaller z copies less but falls back more often.
  double z = 3.0;
  // Distance between sampled values; 0 picks it from the channel's size.
  int64_t sample_stride = 0;
};

// Buffers reused across channels on one thread: O(values of the largest channel).
class SelectScratch {
 public:
  // Buffers of at least `size` floats; their contents are unspecified.
  float* Window(int64_t size) { return window_.Get(size); }
  float* Channel(int64_t size) { return channel_.Get(size); }
  std::vector<float>& sample() { return sample_; }

 private:
  class Buffer {
   public:
    float* Get(int64_t size);

   private:
    std::unique_ptr<float[]> data_;
    int64_t size_ = 0;
  };

  Buffer window_;   // SelectKth's copies
  Buffer channel_;  // a channel gathered into one run, for the caller
  std::vector<float> sample_;
};

// The k-th smallest (0-based) of the `total` values in `runs`.
// REQUIRES: every value finite, 0 <= k < total, min and max the values' min and max.
float SelectKth(const std::vector<FloatRun>& runs, int64_t total, int64_t k, float min,
                float max, SelectScratch& scratch, const SelectOptions& options = {},
                SelectPath* path = nullptr);

}  // namespace qreport::internal

#endif  // QREPORT_CORE_QUANTILE_SELECT_H_

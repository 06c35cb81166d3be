#include "quantile_select.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace qreport::internal {
namespace {

constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Independent accumulators, one per lane, so the loops vectorize without reassociating
// floating-point operations (which -O3 alone does not allow).
constexpr int kLanes = 16;
constexpr int64_t kBlock = int64_t{1} << 30;

// Copies every value of the runs to `out`, in order.
void CopyAll(const std::vector<FloatRun>& runs, float* out) {
  for (const FloatRun& run : runs) {
    std::memcpy(out, run.data, static_cast<size_t>(run.size) * sizeof(float));
    out += run.size;
  }
}

float NthOf(float* values, int64_t count, int64_t n) {
  std::nth_element(values, values + n, values + count);
  return values[n];
}

// Every `stride`-th value, the first at stride / 2, counting across run boundaries.
void Sample(const std::vector<FloatRun>& runs, int64_t stride, std::vector<float>& sample) {
  sample.clear();
  int64_t i = stride / 2;
  for (const FloatRun& run : runs) {
    for (; i < run.size; i += stride) sample.push_back(run.data[i]);
    i -= run.size;
  }
}

struct Window {
  int64_t below = 0;  // values < lo
  int64_t inside = 0;  // values in [lo, hi], copied to the front of `out`
};

// One pass: counts the values below lo and copies those in [lo, hi] to `out`.
// REQUIRES: `out` holds as many floats as the runs have values.
Window CollectWindow(const std::vector<FloatRun>& runs, float lo, float hi, float* out) {
  Window window;
  int64_t inside = 0;
  for (const FloatRun& run : runs) {
    const float* p = run.data;
    int64_t below = 0;
    for (int64_t i = 0; i < run.size; ++i) {
      const float v = p[i];
      below += v < lo;
      out[inside] = v;  // kept only if inside the window: branch-free compaction
      inside += (v >= lo) & (v <= hi);
    }
    window.below += below;
  }
  window.inside = inside;
  return window;
}

}  // namespace

float* SelectScratch::Buffer::Get(int64_t size) {
  if (size > size_) {
    data_.reset(new float[static_cast<size_t>(size)]);  // uninitialised: pages stay untouched
    size_ = size;
  }
  return data_.get();
}

MinMax ScanMinMax(const std::vector<FloatRun>& runs) {
  float lane_min[kLanes];
  float lane_max[kLanes];
  int32_t lane_nonfinite[kLanes];
  std::fill_n(lane_min, kLanes, kInf);
  std::fill_n(lane_max, kLanes, -kInf);
  std::fill_n(lane_nonfinite, kLanes, 0);
  int64_t nonfinite = 0;
  for (const FloatRun& run : runs) {
    // Per-lane counts stay below 2^31 within a block.
    for (int64_t start = 0; start < run.size; start += kBlock) {
      const float* p = run.data + start;
      const int64_t n = std::min(kBlock, run.size - start);
      int64_t i = 0;
      for (; i + kLanes <= n; i += kLanes) {
        for (int j = 0; j < kLanes; ++j) {
          const float v = p[i + j];
          // `v < m ? v : m` never picks a NaN, and is what minps/maxps compute.
          lane_min[j] = v < lane_min[j] ? v : lane_min[j];
          lane_max[j] = v > lane_max[j] ? v : lane_max[j];
          lane_nonfinite[j] += !(std::fabs(v) <= kFloatMax);
        }
      }
      for (; i < n; ++i) {
        const float v = p[i];
        lane_min[0] = v < lane_min[0] ? v : lane_min[0];
        lane_max[0] = v > lane_max[0] ? v : lane_max[0];
        lane_nonfinite[0] += !(std::fabs(v) <= kFloatMax);
      }
      for (int j = 0; j < kLanes; ++j) {
        nonfinite += lane_nonfinite[j];
        lane_nonfinite[j] = 0;
      }
    }
  }
  MinMax result{kInf, -kInf, nonfinite};
  for (int j = 0; j < kLanes; ++j) {
    result.min = std::min(result.min, lane_min[j]);
    result.max = std::max(result.max, lane_max[j]);
  }
  return result;
}

float SelectKth(const std::vector<FloatRun>& runs, int64_t total, int64_t k, float min,
                float max, SelectScratch& scratch, const SelectOptions& options,
                SelectPath* path) {
  SelectPath unused;
  SelectPath& taken = path != nullptr ? *path : unused;
  taken = SelectPath::kTrivial;
  if (min == max || k == 0) return min;
  if (k == total - 1) return max;
  float* values = scratch.Window(total);
  if (total < options.window_min_values) {
    taken = SelectPath::kDirect;
    CopyAll(runs, values);
    return NthOf(values, total, k);
  }

  // About total^(2/3) samples balance the cost of selecting in the sample against the cost
  // of selecting in the window, whose width shrinks as 1/sqrt(samples).
  const double cube_root = std::cbrt(static_cast<double>(total));
  const int64_t stride = options.sample_stride > 0
                             ? options.sample_stride
                             : std::max<int64_t>(1, static_cast<int64_t>(cube_root));
  std::vector<float>& sample = scratch.sample();
  Sample(runs, stride, sample);
  const auto s = static_cast<int64_t>(sample.size());
  const int64_t center = s == 0 ? 0 : std::min(s - 1, k * s / total);
  const double p = (static_cast<double>(k) + 0.5) / static_cast<double>(total);
  const auto half =
      static_cast<int64_t>(std::ceil(options.z * std::sqrt(static_cast<double>(s) * p * (1 - p)))) +
      1;
  const int64_t lo_rank = center - half;
  const int64_t hi_rank = center + half;
  float lo = min;
  float hi = max;
  if (lo_rank >= 0) lo = NthOf(sample.data(), s, lo_rank);
  if (hi_rank < s) {
    // After the first select, everything from lo_rank on is >= lo.
    const int64_t from = std::max<int64_t>(lo_rank, 0);
    hi = NthOf(sample.data() + from, s - from, hi_rank - from);
  }

  const Window window = CollectWindow(runs, lo, hi, values);
  if (window.below <= k && k - window.below < window.inside) {
    taken = SelectPath::kWindow;
    return lo == hi ? lo : NthOf(values, window.inside, k - window.below);
  }
  taken = SelectPath::kFallback;
  CopyAll(runs, values);
  return NthOf(values, total, k);
}

}  // namespace qreport::internal

#include "observe/quantile_select.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "observe/kth_value.h"
#include "observe/select_passes.h"
#include "qreport/core/error.h"

namespace qreport::internal {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int kLanes = kSelectLanes;
constexpr int kThresholds = kPassThresholds;
// Where the thresholds sit around the sample's estimate of rank k, in standard deviations
// of that estimate: the k-th value falls between the inner ones most of the time.
constexpr double kThresholdOffsets[kThresholds] = {-4, -1.2, -0.4, 0.4, 1.2, 4};
constexpr int64_t kMinSample = 16;
constexpr int64_t kMaxSample = 2048;

// A small channel's k-th value among its few largest or smallest (the outlier detector's
// 97.5th percentile of a 7x7 map is the 3rd largest of 49) is found in one pass that keeps
// that many extreme values in order. SummarizeChannel on 49 values took 290-335 ns a channel
// counting every value's rank, 91-214 ns with the pass (a loaded 2-core machine). From 196
// values on, the thresholds with a hint were as fast or faster, so it stays below
// direct_below.
constexpr int64_t kNearEndRanks = 8;

bool NearAnEnd(int64_t count, int64_t k) { return std::min(k + 1, count - k) <= kNearEndRanks; }

// REQUIRES: the runs hold `count` finite values; NearAnEnd(count, k). Returns +0 for a zero,
// as BisectKth does.
float KthNearEnd(const std::vector<FloatRun>& runs, int64_t count, int64_t k) {
  // Near the top, the m largest are kept; near the bottom, the m largest of the negated
  // values (negation is exact), so one loop serves both. kept[] is descending.
  const bool top = count - k <= k + 1;
  const int m = static_cast<int>(top ? count - k : k + 1);
  const float sign = top ? 1.0f : -1.0f;
  float kept[kNearEndRanks];
  int held = 0;
  for (const FloatRun& run : runs) {
    for (int64_t i = 0; i < run.size; ++i) {
      const float v = sign * run.data[i];
      if (held == m && v <= kept[m - 1]) continue;
      int at = held == m ? m - 1 : held++;
      for (; at > 0 && kept[at - 1] < v; --at) kept[at] = kept[at - 1];
      kept[at] = v;
    }
  }
  return sign * kept[m - 1] + 0.0f;
}

int64_t TotalSize(const std::vector<FloatRun>& runs) {
  int64_t total = 0;
  for (const FloatRun& run : runs) total += run.size;
  return total;
}

// One finite value from every block of `stride` values (counting across runs), at a
// pseudo-random place in the block: a fixed stride would alias with the image width and, say,
// sample only the border columns. The generator is seeded the same way every time.
void Sample(const std::vector<FloatRun>& runs, int64_t stride, std::vector<float>& sample) {
  sample.clear();
  uint64_t state = 0x9E3779B97F4A7C15u;
  const auto next = [&] {  // xorshift64
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<int64_t>(((state >> 32) * static_cast<uint64_t>(stride)) >> 32);
  };
  int64_t target = next();  // position of the next sample, relative to the current run
  int64_t block = 0;        // start of the target's block, relative to the current run
  for (const FloatRun& run : runs) {
    while (target < run.size) {
      if (std::isfinite(run.data[target])) sample.push_back(run.data[target]);
      block += stride;
      target = block + next();
    }
    target -= run.size;
    block -= run.size;
  }
}

// Sorted thresholds around the sample's estimate of the value of rank k. Only the
// sample's values between the lowest and highest threshold rank are sorted.
void ChooseThresholds(std::vector<float>& sample, int64_t k, int64_t total, float* thresholds) {
  const auto s = static_cast<int64_t>(sample.size());
  if (s == 0) {
    std::fill_n(thresholds, kThresholds, 0.0f);
    return;
  }
  const double p = (static_cast<double>(k) + 0.5) / static_cast<double>(total);
  const double center = p * static_cast<double>(s) - 0.5;
  const double sigma = std::max(0.5, std::sqrt(static_cast<double>(s) * p * (1 - p)));
  int64_t rank[kThresholds];
  for (int t = 0; t < kThresholds; ++t) {
    rank[t] = std::clamp<int64_t>(std::lround(center + kThresholdOffsets[t] * sigma), 0, s - 1);
  }
  const auto at = [&](int64_t r) { return sample.begin() + static_cast<std::ptrdiff_t>(r); };
  std::nth_element(at(0), at(rank[0]), at(s));
  if (rank[kThresholds - 1] > rank[0]) {
    std::nth_element(at(rank[0] + 1), at(rank[kThresholds - 1]), at(s));
    std::sort(at(rank[0] + 1), at(rank[kThresholds - 1]));
  }
  for (int t = 0; t < kThresholds; ++t) thresholds[t] = *at(rank[t]);
  // A value the sample holds several times (the zeros of a ReLU) gets a threshold just above
  // it too, so the count of values equal to it is known and the k-th value may be one of
  // them without copying any.
  for (int t = 1; t < kThresholds; ++t) {
    if (thresholds[t] <= thresholds[t - 1]) {
      thresholds[t] = std::nextafter(thresholds[t - 1], kInf);
    }
  }
}

// A channel with NaN or Inf values: its finite values, copied into scratch.Channel (which
// may be where the runs are).
std::vector<FloatRun> FiniteValues(const std::vector<FloatRun>& runs, int64_t total,
                                   SelectScratch& scratch) {
  float* const begin = scratch.Channel(total);
  float* out = begin;
  for (const FloatRun& run : runs) {
    for (int64_t i = 0; i < run.size; ++i) {
      if (std::isfinite(run.data[i])) *out++ = run.data[i];
    }
  }
  return {FloatRun{begin, out - begin}};
}

// Where the next batch's thresholds go, in ranks from this batch's k-th value as fractions
// of the channel: consecutive calibration batches look alike, so the next k-th value is
// likely between the inner ones and seldom beyond the outer ones. A channel's quantile moves
// from batch to batch by more than a sample's error, which is all the spread of the sample's
// thresholds allows for: on ResNet-18, reusing those (and one hint for both call sites of a
// module) sent 23% of the values to a second count; these ranks, per site, send 1.5%.
constexpr double kHintRanks[kThresholds] = {-0.1, -0.03, -0.005, 0.005, 0.02, 0.05};

// Writes to `hint` the values at ranks k + kHintRanks[t] * total of this batch's values, read
// by linear interpolation between the points of their distribution the search knows exactly:
// min, the thresholds with the counts below them, the k-th value and max.
void PlaceHint(const float* thresholds, const int64_t* below, const ChannelSummary& summary,
               int64_t k, int64_t total, float* hint) {
  struct Point {
    double value;
    double rank;  // values below `value`
  };
  Point points[kThresholds + 3];
  int n = 0;
  points[n++] = {summary.min, 0.0};
  const auto add = [&](double value, double rank) {
    if (value > points[n - 1].value && value < summary.max && rank >= points[n - 1].rank) {
      points[n++] = {value, rank};
    }
  };
  int t = 0;
  for (; t < kThresholds && thresholds[t] < summary.quantile; ++t) {
    add(thresholds[t], static_cast<double>(below[t]));
  }
  add(summary.quantile, static_cast<double>(k));
  for (; t < kThresholds; ++t) add(thresholds[t], static_cast<double>(below[t]));
  if (summary.max > points[n - 1].value)
    points[n++] = {summary.max, static_cast<double>(total - 1)};
  int segment = 0;
  for (int h = 0; h < kThresholds; ++h) {
    const double rank =
        std::clamp(static_cast<double>(k) + kHintRanks[h] * static_cast<double>(total), 0.0,
                   static_cast<double>(total - 1));
    while (segment + 2 < n && points[segment + 1].rank < rank) ++segment;
    const Point& a = points[segment];
    const Point& b = points[std::min(segment + 1, n - 1)];
    const double span = b.rank - a.rank;
    const double at = span > 0 ? std::clamp((rank - a.rank) / span, 0.0, 1.0) : 0.0;
    hint[h] = static_cast<float>(a.value + at * (b.value - a.value));
    if (h > 0 && hint[h] <= hint[h - 1]) hint[h] = std::nextafter(hint[h - 1], kInf);
  }
}

}  // namespace

float* SelectScratch::Buffer::Get(int64_t size) {
  if (size > size_) {
    data_.reset(new float[static_cast<size_t>(size)]);  // uninitialised: pages stay untouched
    size_ = size;
  }
  return data_.get();
}

int64_t LowerQuantileIndex(float q, int64_t count) {
  const float rank = q * static_cast<float>(count - 1);
  return std::min<int64_t>(static_cast<int64_t>(std::floor(rank)), count - 1);
}

ChannelSummary SummarizeChannel(const std::vector<FloatRun>& runs, float quantile,
                                SelectScratch& scratch, const SelectOptions& options,
                                SelectPath* path, float* hint) {
  SelectPath unused;
  SelectPath& taken = path != nullptr ? *path : unused;
  taken = SelectPath::kNone;
  const int64_t total = TotalSize(runs);
  const bool want_quantile = quantile > 0.0f && quantile < 1.0f && total > 0;
  const bool by_thresholds = want_quantile && total >= options.direct_below;

  float thresholds[kThresholds];
  int64_t k = 0;
  const bool hinted = by_thresholds && hint != nullptr && !std::isnan(hint[0]);
  if (hinted) {
    std::copy_n(hint, kThresholds, thresholds);
  } else if (by_thresholds) {
    // About (N/6)^(2/3) samples balance selecting thresholds in the sample against copying
    // and selecting in the interval, whose width shrinks as N / sqrt(samples).
    const double cube_root = std::cbrt(static_cast<double>(total) / 6.0);
    const auto s =
        std::clamp<int64_t>(static_cast<int64_t>(cube_root * cube_root), kMinSample, kMaxSample);
    // (Sample's generator needs a stride below 2^32.)
    const int64_t stride = std::clamp<int64_t>(
        options.sample_stride > 0 ? options.sample_stride : total / s, 1, int64_t{1} << 31);
    Sample(runs, stride, scratch.sample());
    k = LowerQuantileIndex(quantile, total);
    ChooseThresholds(scratch.sample(), k, total, thresholds);
  }
  PassResult pass;
  float* copy = nullptr;  // where the counting pass copied to
  if (by_thresholds) {
    // Room for an eighth of the channel: a sample's inner thresholds hold a few percent of
    // it, a hint's a fortieth. Past that (a poor hint) the copy is redone after the count.
    const int64_t room = std::max<int64_t>(total / 8, 256);
    copy = scratch.Window(room + kLanes);
    ScanThresholds(runs.data(), runs.size(), thresholds, copy, room, &pass);
  } else {
    ScanMinMax(runs.data(), runs.size(), &pass);
  }
  if (pass.nonfinite) {
    ChannelSummary summary = SummarizeChannel(FiniteValues(runs, total, scratch), quantile, scratch,
                                              options, path, hint);
    summary.nonfinite = total - summary.finite;
    return summary;
  }

  ChannelSummary summary{pass.min, pass.max, total, 0, 0.0f};
  if (!want_quantile) return summary;
  k = LowerQuantileIndex(quantile, total);
  if (summary.min == summary.max || k == 0 || k == total - 1) {
    taken = SelectPath::kTrivial;
    summary.quantile = k == total - 1 ? summary.max : summary.min;
    return summary;
  }
  if (!by_thresholds && NearAnEnd(total, k)) {
    taken = SelectPath::kNearEnd;
    summary.quantile = KthNearEnd(runs, total, k);
    return summary;
  }
  if (!by_thresholds) {
    taken = SelectPath::kDirect;
    float* values = scratch.Window(total + kLanes);
    float* out = values;
    for (const FloatRun& run : runs) {
      out = std::copy(run.data, run.data + run.size, out);
    }
    summary.quantile = BisectKth(values, total, k, KeyOf(summary.min), KeyOf(summary.max));
    return summary;
  }

  // The k-th value lies in [lo, hi): `first` values are below lo, `end` below hi.
  float lo = -kInf;
  float hi = kInf;
  int64_t first = 0;
  int64_t end = total;
  int lo_index = -1;  // which threshold lo is, if one
  int hi_index = kThresholds;
  for (int t = 0; t < kThresholds; ++t) {
    if (pass.below[t] <= k) {
      lo = thresholds[t];
      first = pass.below[t];
      lo_index = t;
    } else {
      hi = thresholds[t];
      end = pass.below[t];
      hi_index = t;
      break;
    }
  }
  // Values the search must copy and bisect. Past a sixteenth of the channel (the k-th value
  // fell outside a hint's thresholds, on the wide side) counting once more with thresholds
  // from a fresh sample is cheaper: the channel is in cache now.
  const bool wide = end - first > std::max<int64_t>(total / 16, 256);
  if (hinted && wide) {
    hint[0] = std::numeric_limits<float>::quiet_NaN();
    ChannelSummary again = SummarizeChannel(runs, quantile, scratch, options, path, hint);
    taken = SelectPath::kRetried;
    return again;
  }
  taken = lo == -kInf || hi == kInf ? SelectPath::kOuter : SelectPath::kInner;
  if (hi == std::nextafter(lo, kInf)) {
    summary.quantile = lo;  // every value in [lo, hi) is lo
    if (hint != nullptr) PlaceHint(thresholds, pass.below, summary, k, total, hint);
    return summary;
  }
  float* values;
  int64_t copied;
  // (A hint need not be sorted: the thresholds' own order is checked, not their indices'.)
  if (pass.copied >= 0 && lo_index >= kCopyFrom && hi_index <= kCopyTo &&
      thresholds[kCopyFrom] <= lo && hi <= thresholds[kCopyTo]) {
    taken = SelectPath::kInnerCopiedInCount;
    // Narrowed to [lo, hi) in place: each value is written at or before where it was read.
    const FloatRun span{copy, pass.copied};
    values = copy;
    copied = CollectBetween(&span, 1, lo, hi, values);
  } else {
    values = scratch.Window(end - first + kLanes);
    copied = CollectBetween(runs.data(), runs.size(), lo, hi, values);
  }
  QREPORT_ASSERT(copied == end - first, "collected {} values between thresholds, counted {}",
                 copied, end - first);
  summary.quantile = BisectKth(values, copied, k - first, KeyOf(lo == -kInf ? summary.min : lo),
                               hi == kInf ? KeyOf(summary.max) : KeyOf(hi) - 1);
  if (hint != nullptr) PlaceHint(thresholds, pass.below, summary, k, total, hint);
  return summary;
}

}  // namespace qreport::internal

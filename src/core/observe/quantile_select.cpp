#include "observe/quantile_select.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#ifdef __x86_64__
#include <immintrin.h>
#endif

#include "observe/vector_clones.h"
#include "qreport/core/error.h"

namespace qreport::internal {
namespace {

constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Independent accumulators, one per lane, so the loops vectorise without reassociating
// floating-point operations (which -O3 alone does not allow).
constexpr int kLanes = 16;
// Per-lane int32 counts cannot overflow within a block (each lane counts at most a
// sixteenth of it, plus a tail of fewer than 16 per run).
constexpr int64_t kBlock = int64_t{1} << 30;
constexpr int kThresholds = kSelectHintSize;
// Where the thresholds sit around the sample's estimate of rank k, in standard deviations
// of that estimate: the k-th value falls between the inner ones most of the time.
constexpr double kThresholdOffsets[kThresholds] = {-4, -1.2, -0.4, 0.4, 1.2, 4};
constexpr int64_t kMinSample = 16;
constexpr int64_t kMaxSample = 2048;

struct PassResult {
  float min = kInf;
  float max = -kInf;
  bool nonfinite = false;           // some value is NaN or +-Inf
  int64_t below[kThresholds] = {};  // values < thresholds[t]
  // Values in [thresholds[kCopyFrom], thresholds[kCopyTo]), copied during the count: -1 if
  // the pass does not copy, or they overflowed the room it was given.
  int64_t copied = -1;
};

// The thresholds a counting pass also copies between, so the second pass over the channel is
// needed only when the k-th value falls outside them. Around a hint they span ranks -0.5% to
// +2% of the channel (kHintRanks): on ResNet-18's calibration the k-th value fell there for
// 81% of the values searched (65% in the upper part alone), and the copy, a fortieth of the
// channel, goes to a window that stays in L1. From the second threshold (-3%) on, the copy
// was twice as large and the observers no faster than without it.
constexpr int kCopyFrom = 2;
constexpr int kCopyTo = 4;

// A channel of an NCHW activation is one run per sample, a channel-count of runs apart: too
// far for the hardware prefetcher, and runs of a few KB (56x56 floats: 12 KB) are too short
// for it to get ahead. So the passes ask for the values kPrefetchAhead floats ahead of the
// one they read, and for the next run's first as many while they read this one: on
// ResNet-18's activations, loads waiting for memory took more than half of the pass before,
// and the observers' whole cost fell by a fifth.
constexpr int64_t kPrefetchAhead = 512;
constexpr int64_t kFloatsPerLine = 16;

inline void PrefetchRun(const FloatRun& run) {
  const int64_t floats = std::min(kPrefetchAhead, run.size);
  for (int64_t f = 0; f < floats; f += kFloatsPerLine) __builtin_prefetch(run.data + f);
}

// Min and max (`v < m ? v : m` never picks a NaN, and is what minps/maxps compute; an Inf is
// included), whether a value is not finite, and values below each of `T` thresholds. A
// value's `v - v` is 0 if it is finite and NaN otherwise; summed per lane it leaves a NaN
// behind, a test that vectorises where counting the values (a compare and an integer add)
// kept the min/max-only loop scalar.
template <int T>
inline __attribute__((always_inline)) void PassBody(const FloatRun* runs, size_t run_count,
                                                    const float* thresholds, PassResult& result) {
  float threshold[T > 0 ? T : 1];
  for (int t = 0; t < T; ++t) threshold[t] = thresholds[t];
  float lane_min[kLanes];
  float lane_max[kLanes];
  float lane_poison[kLanes];
  int32_t lane_below[T > 0 ? T : 1][kLanes];
  std::fill_n(lane_min, kLanes, kInf);
  std::fill_n(lane_max, kLanes, -kInf);
  std::fill_n(lane_poison, kLanes, 0.0f);
  std::fill_n(&lane_below[0][0], (T > 0 ? T : 1) * kLanes, 0);
  const auto flush = [&] {
    for (int j = 0; j < kLanes; ++j) {
      for (int t = 0; t < T; ++t) {
        result.below[t] += lane_below[t][j];
        lane_below[t][j] = 0;
      }
    }
  };
  int64_t since_flush = 0;
  for (size_t r = 0; r < run_count; ++r) {
    if (r + 1 < run_count) PrefetchRun(runs[r + 1]);
    for (int64_t start = 0; start < runs[r].size; start += kBlock) {
      const float* p = runs[r].data + start;
      const int64_t n = std::min(kBlock, runs[r].size - start);
      if (since_flush + n > kBlock) {
        flush();
        since_flush = 0;
      }
      since_flush += n;
      int64_t i = 0;
      for (; i + kLanes <= n; i += kLanes) {
        __builtin_prefetch(p + i + kPrefetchAhead);  // never faults, even past the end
        for (int j = 0; j < kLanes; ++j) {
          const float v = p[i + j];
          lane_min[j] = v < lane_min[j] ? v : lane_min[j];
          lane_max[j] = v > lane_max[j] ? v : lane_max[j];
          lane_poison[j] += v - v;
          for (int t = 0; t < T; ++t) lane_below[t][j] += v < threshold[t];
        }
      }
      for (int j = 0; i < n; ++i, ++j) {  // the tail, spread over the lanes
        const float v = p[i];
        lane_min[j] = v < lane_min[j] ? v : lane_min[j];
        lane_max[j] = v > lane_max[j] ? v : lane_max[j];
        lane_poison[j] += v - v;
        for (int t = 0; t < T; ++t) lane_below[t][j] += v < threshold[t];
      }
    }
  }
  flush();
  for (int j = 0; j < kLanes; ++j) {
    result.min = std::min(result.min, lane_min[j]);
    result.max = std::max(result.max, lane_max[j]);
    result.nonfinite |= std::isnan(lane_poison[j]);
  }
}

#ifdef QREPORT_X86_VERSIONS
// GCC 12's AVX-512 min/max/extract intrinsics pass _mm512_undefined_ps() as the unused
// merge source, which its own uninitialised-use analysis then reports.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// The same pass written for AVX-512: a compare into a mask and a masked add per threshold,
// and the last partial vector of a run read with a mask instead of a scalar tail (with 7x7
// images a run is three vectors and a one-value tail).
template <int T>
__attribute__((target("avx512f"), always_inline)) inline void FlushAvx512(__m512i* below,
                                                                          PassResult& result) {
  for (int t = 0; t < T; ++t) {
    result.below[t] += _mm512_reduce_add_epi32(below[t]);
    below[t] = _mm512_setzero_si512();
  }
}

struct CopyState {
  float* out;
  int64_t room;
  int64_t copied = 0;
  int64_t at = 0;  // where the next values go
};

// Past `room` values the copy starts over at out[0] (one predictable branch) and keeps
// counting, so the pass can tell it overflowed.
__attribute__((target("avx512f"), always_inline)) inline void CopyInside(CopyState& state, __m512 v,
                                                                         __mmask16 inside) {
  _mm512_storeu_ps(state.out + state.at, _mm512_maskz_compress_ps(inside, v));
  const int added = __builtin_popcount(inside);
  state.copied += added;
  state.at += added;
  if (__builtin_expect(state.at > state.room, 0)) state.at = 0;
}

// With `copy`, values in [thresholds[kCopyFrom], thresholds[kCopyTo]) are also compressed
// into copy[0, room + kLanes): the two compares are the ones the counts make anyway.
template <int T>
__attribute__((target("avx512f"), always_inline)) inline void PassAvx512(
    const FloatRun* runs, size_t run_count, const float* thresholds, PassResult& result,
    float* copy = nullptr, int64_t room = 0) {
  __m512 threshold[T > 0 ? T : 1];
  __m512i below[T > 0 ? T : 1];
  for (int t = 0; t < T; ++t) {
    threshold[t] = _mm512_set1_ps(thresholds[t]);
    below[t] = _mm512_setzero_si512();
  }
  const __m512i minus_one = _mm512_set1_epi32(-1);
  __m512 low = _mm512_set1_ps(kInf);
  __m512 high = _mm512_set1_ps(-kInf);
  __m512 poison = _mm512_setzero_ps();
  CopyState copying{copy, room};
  int64_t since_flush = 0;
  for (size_t r = 0; r < run_count; ++r) {
    if (r + 1 < run_count) PrefetchRun(runs[r + 1]);
    const float* p = runs[r].data;
    const int64_t n = runs[r].size;
    if (since_flush + n > kBlock) {
      FlushAvx512<T>(below, result);
      since_flush = 0;
    }
    // A lane counts at most every sixteenth value: even one run much longer than kBlock
    // cannot overflow it.
    since_flush += n;
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      __builtin_prefetch(p + i + kPrefetchAhead);
      const __m512 v = _mm512_loadu_ps(p + i);
      low = _mm512_min_ps(v, low);
      high = _mm512_max_ps(v, high);
      poison = _mm512_add_ps(poison, _mm512_sub_ps(v, v));
      __mmask16 is_below[T > 0 ? T : 1];
      for (int t = 0; t < T; ++t) {
        is_below[t] = _mm512_cmp_ps_mask(v, threshold[t], _CMP_LT_OQ);
        below[t] = _mm512_mask_sub_epi32(below[t], is_below[t], below[t], minus_one);
      }
      if constexpr (T > kCopyTo) {
        if (copy != nullptr) CopyInside(copying, v, ~is_below[kCopyFrom] & is_below[kCopyTo]);
      }
    }
    if (i < n) {
      const auto valid = static_cast<__mmask16>((1u << (n - i)) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(valid, p + i);
      low = _mm512_mask_min_ps(low, valid, v, low);
      high = _mm512_mask_max_ps(high, valid, v, high);
      poison = _mm512_add_ps(poison, _mm512_sub_ps(v, v));
      __mmask16 is_below[T > 0 ? T : 1];
      for (int t = 0; t < T; ++t) {
        is_below[t] = _mm512_mask_cmp_ps_mask(valid, v, threshold[t], _CMP_LT_OQ);
        below[t] = _mm512_mask_sub_epi32(below[t], is_below[t], below[t], minus_one);
      }
      if constexpr (T > kCopyTo) {
        // `valid & ~below[from]`: the padding lanes are below no threshold.
        if (copy != nullptr)
          CopyInside(copying, v, valid & ~is_below[kCopyFrom] & is_below[kCopyTo]);
      }
    }
  }
  FlushAvx512<T>(below, result);
  result.copied = copy != nullptr && copying.copied <= room ? copying.copied : -1;
  result.min = _mm512_reduce_min_ps(low);
  result.max = _mm512_reduce_max_ps(high);
  result.nonfinite = _mm512_cmp_ps_mask(poison, poison, _CMP_UNORD_Q) != 0;
}

__attribute__((target("default"))) void MinMaxPass(const FloatRun* runs, size_t run_count,
                                                   PassResult* result) {
  PassBody<0>(runs, run_count, nullptr, *result);
}
__attribute__((target("arch=x86-64-v3"))) void MinMaxPass(const FloatRun* runs, size_t run_count,
                                                          PassResult* result) {
  PassBody<0>(runs, run_count, nullptr, *result);
}
__attribute__((target("avx512f"))) void MinMaxPass(const FloatRun* runs, size_t run_count,
                                                   PassResult* result) {
  PassAvx512<0>(runs, run_count, nullptr, *result);
}

// Only the AVX-512 pass copies (`copy`, room for `room` + kLanes values): it has the
// compress instruction. The others leave result->copied at -1.
__attribute__((target("default"))) void ThresholdPass(const FloatRun* runs, size_t run_count,
                                                      const float* thresholds, float*, int64_t,
                                                      PassResult* result) {
  PassBody<kThresholds>(runs, run_count, thresholds, *result);
}
__attribute__((target("arch=x86-64-v3"))) void ThresholdPass(const FloatRun* runs, size_t run_count,
                                                             const float* thresholds, float*,
                                                             int64_t, PassResult* result) {
  PassBody<kThresholds>(runs, run_count, thresholds, *result);
}
__attribute__((target("avx512f"))) void ThresholdPass(const FloatRun* runs, size_t run_count,
                                                      const float* thresholds, float* copy,
                                                      int64_t room, PassResult* result) {
  PassAvx512<kThresholds>(runs, run_count, thresholds, *result, copy, room);
}
#pragma GCC diagnostic pop
#else
void MinMaxPass(const FloatRun* runs, size_t run_count, PassResult* result) {
  PassBody<0>(runs, run_count, nullptr, *result);
}

void ThresholdPass(const FloatRun* runs, size_t run_count, const float* thresholds, float*, int64_t,
                   PassResult* result) {
  PassBody<kThresholds>(runs, run_count, thresholds, *result);
}
#endif

// Copies the values in [lo, hi) to `out`, in order, and returns how many there are. A
// vectorised loop marks a chunk's values; groups of eight without a mark (most of them) are
// skipped with one test. REQUIRES: `out` has room for kLanes more values than are copied.
// `out` may be the start of a single run (narrowing it in place): every version writes a value
// at or before where it read it, and stores past the copied values only what it has read.
inline __attribute__((always_inline)) int64_t CollectBody(const FloatRun* runs, size_t run_count,
                                                          float lo, float hi, float* out) {
  constexpr int64_t kChunk = 256;
  alignas(64) uint8_t inside[kChunk];
  int64_t count = 0;
  for (size_t r = 0; r < run_count; ++r) {
    for (int64_t start = 0; start < runs[r].size; start += kChunk) {
      const float* p = runs[r].data + start;
      const int64_t n = std::min(kChunk, runs[r].size - start);
      for (int64_t j = 0; j < n; ++j) inside[j] = (p[j] >= lo) & (p[j] < hi);
      int64_t j = 0;
      for (; j + 8 <= n; j += 8) {
        uint64_t group;
        std::memcpy(&group, inside + j, sizeof(group));
        if (group == 0) continue;
        for (int64_t g = j; g < j + 8; ++g) {
          out[count] = p[g];  // kept only if inside: branch-free compaction
          count += inside[g];
        }
      }
      for (; j < n; ++j) {
        out[count] = p[j];
        count += inside[j];
      }
    }
  }
  return count;
}

#ifdef QREPORT_X86_VERSIONS
__attribute__((target("default"))) int64_t CollectPass(const FloatRun* runs, size_t run_count,
                                                       float lo, float hi, float* out) {
  return CollectBody(runs, run_count, lo, hi, out);
}

__attribute__((target("arch=x86-64-v3"))) int64_t CollectPass(const FloatRun* runs,
                                                              size_t run_count, float lo, float hi,
                                                              float* out) {
  return CollectBody(runs, run_count, lo, hi, out);
}

// AVX-512 compresses the selected lanes of 16 values into place in one instruction.
__attribute__((target("avx512f"))) int64_t CollectPass(const FloatRun* runs, size_t run_count,
                                                       float lo, float hi, float* out) {
  const __m512 low = _mm512_set1_ps(lo);
  const __m512 high = _mm512_set1_ps(hi);
  int64_t count = 0;
  for (size_t r = 0; r < run_count; ++r) {
    const float* p = runs[r].data;
    const int64_t n = runs[r].size;
    for (int64_t i = 0; i < n; i += kLanes) {
      const __mmask16 valid =
          n - i >= kLanes ? __mmask16{0xffff} : static_cast<__mmask16>((1u << (n - i)) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(valid, p + i);
      const __mmask16 inside = _mm512_mask_cmp_ps_mask(
          _mm512_mask_cmp_ps_mask(valid, v, low, _CMP_GE_OQ), v, high, _CMP_LT_OQ);
      _mm512_storeu_ps(out + count, _mm512_maskz_compress_ps(inside, v));
      count += __builtin_popcount(inside);
    }
  }
  return count;
}
#else
int64_t CollectPass(const FloatRun* runs, size_t run_count, float lo, float hi, float* out) {
  return CollectBody(runs, run_count, lo, hi, out);
}
#endif

// Floats as int32 keys in the same order (a negative float's magnitude bits are flipped);
// -0 and +0, equal as floats, get the same key (of +0).
inline int32_t KeyOf(float v) {
  const float canonical = v + 0.0f;  // -0 + 0 = +0
  int32_t bits;
  std::memcpy(&bits, &canonical, sizeof(bits));
  return bits ^ ((bits >> 31) & 0x7fffffff);
}

inline float FloatOf(int32_t key) {
  const int32_t bits = key ^ ((key >> 31) & 0x7fffffff);
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

// Below this many values, finding the k-th by counting every value's rank (quadratic, but
// without a horizontal sum per step) beats bisection, whose ~25 steps each end in one.
constexpr int64_t kRankSelectBelow = 128;

// The k-th smallest of `count` keys: for sixteen candidates at a time, every key is compared
// with all of them; the candidate with at most k keys below it and more than k at or below
// it is the answer. REQUIRES: 0 <= k < count; keys[count, count + kLanes) readable and
// above every key (they pad the last candidates, and are never the answer).
inline __attribute__((always_inline)) int32_t RankSelectBody(const int32_t* keys, int64_t count,
                                                             int64_t k) {
  for (int64_t first = 0; first < count; first += kLanes) {
    const int32_t* candidate = keys + first;
    int32_t below[kLanes] = {};
    int32_t at_most[kLanes] = {};
    for (int64_t i = 0; i < count; ++i) {
      for (int j = 0; j < kLanes; ++j) {
        below[j] += keys[i] < candidate[j];
        at_most[j] += keys[i] <= candidate[j];
      }
    }
    for (int j = 0; j < kLanes; ++j) {
      if (below[j] <= k && k < at_most[j]) return candidate[j];
    }
  }
  QREPORT_ASSERT(false, "no key of rank {} among {}", k, count);
}

#ifdef QREPORT_X86_VERSIONS
__attribute__((target("default"))) int32_t RankSelect(const int32_t* keys, int64_t count,
                                                      int64_t k) {
  return RankSelectBody(keys, count, k);
}

// Written out for AVX-512, where the compiler's version spilled the counts to the stack: per
// key a broadcast, two compares into masks and two masked increments.
__attribute__((target("avx512f"))) int32_t RankSelect(const int32_t* keys, int64_t count,
                                                      int64_t k) {
  const __m512i minus_one = _mm512_set1_epi32(-1);
  const __m512i rank = _mm512_set1_epi32(static_cast<int32_t>(k));
  for (int64_t first = 0; first < count; first += kLanes) {
    const __m512i candidate = _mm512_loadu_si512(keys + first);
    __m512i below = _mm512_setzero_si512();
    __m512i at_most = _mm512_setzero_si512();
    for (int64_t i = 0; i < count; ++i) {
      const __m512i key = _mm512_set1_epi32(keys[i]);
      below =
          _mm512_mask_sub_epi32(below, _mm512_cmplt_epi32_mask(key, candidate), below, minus_one);
      at_most = _mm512_mask_sub_epi32(at_most, _mm512_cmple_epi32_mask(key, candidate), at_most,
                                      minus_one);
    }
    const __mmask16 hit =
        _mm512_cmple_epi32_mask(below, rank) & _mm512_cmpgt_epi32_mask(at_most, rank);
    if (hit != 0) return keys[first + __builtin_ctz(hit)];
  }
  QREPORT_ASSERT(false, "no key of rank {} among {}", k, count);
}
#else
int32_t RankSelect(const int32_t* keys, int64_t count, int64_t k) {
  return RankSelectBody(keys, count, k);
}
#endif

// The k-th smallest of `count` values, turned into keys in place: by rank counting for few
// values, otherwise by bisection between two keys, where each step counts the keys at or
// below the middle, a loop that vectorises. At most 32 steps over the values, without the
// unpredictable branches of a partition.
// REQUIRES: finite values, 0 <= k < count, low <= key of the k-th value <= high, room for
// kLanes more values after the last.
QREPORT_VECTOR_CLONES
float BisectKth(float* values, int64_t count, int64_t k, int32_t low_key, int32_t high_key) {
  auto* keys = reinterpret_cast<int32_t*>(values);
  for (int64_t i = 0; i < count; ++i) keys[i] = KeyOf(values[i]);
  if (count < kRankSelectBelow) {
    // Above every finite value's key (and NaN's keys are never made).
    std::fill_n(keys + count, kLanes, std::numeric_limits<int32_t>::max());
    return FloatOf(RankSelect(keys, count, k));
  }
  int64_t low = low_key;
  int64_t high = high_key;
  while (low < high) {
    const auto middle = static_cast<int32_t>(low + (high - low) / 2);
    int32_t lane_count[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
      for (int j = 0; j < kLanes; ++j) lane_count[j] += keys[i + j] <= middle;
    }
    int64_t at_most = 0;
    for (; i < count; ++i) at_most += keys[i] <= middle;
    for (int j = 0; j < kLanes; ++j) at_most += lane_count[j];
    if (at_most > k) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return FloatOf(static_cast<int32_t>(low));
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
    ThresholdPass(runs.data(), runs.size(), thresholds, copy, room, &pass);
  } else {
    MinMaxPass(runs.data(), runs.size(), &pass);
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
    copied = CollectPass(&span, 1, lo, hi, values);
  } else {
    values = scratch.Window(end - first + kLanes);
    copied = CollectPass(runs.data(), runs.size(), lo, hi, values);
  }
  QREPORT_ASSERT(copied == end - first, "collected {} values between thresholds, counted {}",
                 copied, end - first);
  summary.quantile = BisectKth(values, copied, k - first, KeyOf(lo == -kInf ? summary.min : lo),
                               hi == kInf ? KeyOf(summary.max) : KeyOf(hi) - 1);
  if (hint != nullptr) PlaceHint(thresholds, pass.below, summary, k, total, hint);
  return summary;
}

}  // namespace qreport::internal

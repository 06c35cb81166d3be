#include "observe/select_passes.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#ifdef __x86_64__
#include <immintrin.h>
#endif

#include "observe/vector_clones.h"

namespace qreport::internal {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int kThresholds = kPassThresholds;
// Independent accumulators, one per lane, so the loops vectorise without reassociating
// floating-point operations (which -O3 alone does not allow).
constexpr int kLanes = kSelectLanes;
// Per-lane int32 counts cannot overflow within a block (each lane counts at most a
// sixteenth of it, plus a tail of fewer than 16 per run).
constexpr int64_t kBlock = int64_t{1} << 30;

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

}  // namespace

// The passes above are versioned by `target` attributes, which GCC dispatches only where every
// version is declared; the rest of the core calls them through these plain functions.
void ScanMinMax(const FloatRun* runs, size_t run_count, PassResult* result) {
  MinMaxPass(runs, run_count, result);
}

void ScanThresholds(const FloatRun* runs, size_t run_count, const float* thresholds, float* copy,
                    int64_t room, PassResult* result) {
  ThresholdPass(runs, run_count, thresholds, copy, room, result);
}

int64_t CollectBetween(const FloatRun* runs, size_t run_count, float lo, float hi, float* out) {
  return CollectPass(runs, run_count, lo, hi, out);
}

}  // namespace qreport::internal

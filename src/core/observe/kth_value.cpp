#include "observe/kth_value.h"

#include <algorithm>
#include <limits>

#ifdef __x86_64__
#include <immintrin.h>
#endif

#include "observe/quantile_select.h"
#include "observe/vector_clones.h"
#include "qreport/core/error.h"

namespace qreport::internal {
namespace {

constexpr int kLanes = kSelectLanes;

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

}  // namespace

// By rank counting for few values, otherwise by bisection between two keys, where each step
// counts the keys at or below the middle, a loop that vectorises: at most 32 steps over the
// values, without the unpredictable branches of a partition.
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

}  // namespace qreport::internal

// Private to the core: the passes over a channel's values that SummarizeChannel is built
// from (quantile_select.h explains the method). Each is compiled for plain x86-64, AVX2 and
// AVX-512 and picked at load time.
#ifndef QREPORT_SRC_CORE_OBSERVE_SELECT_PASSES_H_
#define QREPORT_SRC_CORE_OBSERVE_SELECT_PASSES_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "observe/quantile_select.h"

namespace qreport::internal {

inline constexpr int kPassThresholds = kSelectHintSize;

struct PassResult {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  bool nonfinite = false;               // some value is NaN or +-Inf
  int64_t below[kPassThresholds] = {};  // values < thresholds[t]
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
inline constexpr int kCopyFrom = 2;
inline constexpr int kCopyTo = 4;

// Min and max of the runs' values (an Inf included, a NaN never) and whether one is not finite.
void ScanMinMax(const FloatRun* runs, size_t run_count, PassResult* result);

// As ScanMinMax, and for each of the kPassThresholds ascending `thresholds`, how many values
// lie below it. Where the CPU has AVX-512 and `copy` is given, the values in
// [thresholds[kCopyFrom], thresholds[kCopyTo]) are also copied to copy[0, room + kSelectLanes)
// (see PassResult::copied).
void ScanThresholds(const FloatRun* runs, size_t run_count, const float* thresholds, float* copy,
                    int64_t room, PassResult* result);

// Copies the values in [lo, hi) to `out`, in order, and returns how many there are.
// REQUIRES: `out` has room for kSelectLanes more values than are copied. `out` may be the
// start of a single run (narrowing it in place).
int64_t CollectBetween(const FloatRun* runs, size_t run_count, float lo, float hi, float* out);

}  // namespace qreport::internal

#endif  // QREPORT_SRC_CORE_OBSERVE_SELECT_PASSES_H_

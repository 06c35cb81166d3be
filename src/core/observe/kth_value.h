// Private to the core: the k-th smallest of a window of floats, the last step of
// SummarizeChannel, and the order-preserving float <-> int32 keys it works on.
#ifndef QREPORT_SRC_CORE_OBSERVE_KTH_VALUE_H_
#define QREPORT_SRC_CORE_OBSERVE_KTH_VALUE_H_

#include <cstdint>
#include <cstring>

namespace qreport::internal {

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

// The k-th smallest of `count` finite values, which it turns into keys in place.
// REQUIRES: 0 <= k < count, low_key <= KeyOf(the k-th value) <= high_key, room for
// kSelectLanes more values after the last.
float BisectKth(float* values, int64_t count, int64_t k, int32_t low_key, int32_t high_key);

}  // namespace qreport::internal

#endif  // QREPORT_SRC_CORE_OBSERVE_KTH_VALUE_H_

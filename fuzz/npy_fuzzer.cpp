// .npy files given to --data (and to the Python package's readers).
#include "fuzz_support.h"
#include "fuzz_targets.h"
#include "qreport/core/data/npy.h"
#include "qreport/core/error.h"
#include "qreport/core/observe/observer.h"

namespace qreport::fuzz {
namespace {

// Calibration data reaches the observers (through the model); small float arrays go there
// directly, non-finite values and float16 included.
void Observe(const TensorView& view) {
  if (!IsFloatingPoint(view.dtype()) || view.numel() > 4096) return;
  ObserverState state;  // every statistic, channels on axis 1
  state.Update(view);
  state.Update(view, /*site=*/1);
  const ObserverState other = state;
  state.Merge(other);
}

}  // namespace

int NpyTarget(const uint8_t* data, size_t size) {
  try {
    const NpyArray array = ParseNpy(data, size, "fuzz.npy");
    volatile double sum = ReadEveryElement(array.view());
    (void)sum;
    Observe(array.view());
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace qreport::fuzz

QREPORT_FUZZ_ENTRY_POINT(NpyTarget)

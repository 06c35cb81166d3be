// .npz archives given to --data: libzip's reading of the archive, then each entry's .npy.
#include "fuzz_support.h"
#include "fuzz_targets.h"
#include "qreport/core/data/npy.h"
#include "qreport/core/error.h"

namespace qreport::fuzz {

int NpzTarget(const uint8_t* data, size_t size) {
  try {
    for (const NamedArray& entry : ParseNpz(data, size, "fuzz.npz")) {
      volatile double sum = ReadEveryElement(entry.array.view());
      (void)sum;
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace qreport::fuzz

QREPORT_FUZZ_ENTRY_POINT(NpzTarget)

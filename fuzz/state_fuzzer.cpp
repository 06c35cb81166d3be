// State files (CBOR) given to analyze --state, merge and calibrate --resume.
#include "fuzz_targets.h"
#include "qreport/core/error.h"
#include "qreport/core/observe/observer_bank.h"

namespace qreport::fuzz {

int StateTarget(const uint8_t* data, size_t size) {
  try {
    ObserverBank bank = ObserverBank::FromBytes(data, size, "fuzz.qstate");
    // What merge and --resume do with a loaded state: fold it into one of the same points.
    const ObserverBank copy = bank;
    bank.Restore(copy);
    bank.Merge(copy);
    for (size_t slot = 0; slot < bank.size(); ++slot) {
      volatile float ratio = bank.state(slot).average_batch_range();
      (void)ratio;
      (void)bank.state(slot).average_percentile_ratio();
      (void)bank.state(slot).ToJson().dump();
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace qreport::fuzz

QREPORT_FUZZ_ENTRY_POINT(StateTarget)

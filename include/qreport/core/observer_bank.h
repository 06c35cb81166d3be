// Deprecated: this header moved to qreport/core/observe/observer_bank.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_OBSERVER_BANK_H_
#define QREPORT_CORE_OBSERVER_BANK_H_

#include "qreport/core/observe/observer_bank.h"

#endif  // QREPORT_CORE_OBSERVER_BANK_H_

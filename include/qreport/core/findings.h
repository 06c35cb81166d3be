// Deprecated: this header moved to qreport/core/detect/findings.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_FINDINGS_H_
#define QREPORT_CORE_FINDINGS_H_

#include "qreport/core/detect/findings.h"

#endif  // QREPORT_CORE_FINDINGS_H_

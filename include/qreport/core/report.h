// Deprecated: this header moved to qreport/core/detect/report.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_REPORT_H_
#define QREPORT_CORE_REPORT_H_

#include "qreport/core/detect/report.h"

#endif  // QREPORT_CORE_REPORT_H_

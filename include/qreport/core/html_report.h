// Deprecated: this header moved to qreport/core/render/html_report.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_HTML_REPORT_H_
#define QREPORT_CORE_HTML_REPORT_H_

#include "qreport/core/render/html_report.h"

#endif  // QREPORT_CORE_HTML_REPORT_H_

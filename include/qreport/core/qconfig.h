// Deprecated: this header moved to qreport/core/qconfig/qconfig.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_QCONFIG_H_
#define QREPORT_CORE_QCONFIG_H_

#include "qreport/core/qconfig/qconfig.h"

#endif  // QREPORT_CORE_QCONFIG_H_

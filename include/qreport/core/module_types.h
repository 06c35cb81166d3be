// Deprecated: this header moved to qreport/core/model/module_types.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_MODULE_TYPES_H_
#define QREPORT_CORE_MODULE_TYPES_H_

#include "qreport/core/model/module_types.h"

#endif  // QREPORT_CORE_MODULE_TYPES_H_

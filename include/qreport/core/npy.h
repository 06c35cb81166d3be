// Deprecated: this header moved to qreport/core/data/npy.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_NPY_H_
#define QREPORT_CORE_NPY_H_

#include "qreport/core/data/npy.h"

#endif  // QREPORT_CORE_NPY_H_

// Deprecated: this header moved to qreport/core/data/tensor_view.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_TENSOR_VIEW_H_
#define QREPORT_CORE_TENSOR_VIEW_H_

#include "qreport/core/data/tensor_view.h"

#endif  // QREPORT_CORE_TENSOR_VIEW_H_

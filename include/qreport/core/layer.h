// Deprecated: this header moved to qreport/core/model/layer.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_LAYER_H_
#define QREPORT_CORE_LAYER_H_

#include "qreport/core/model/layer.h"

#endif  // QREPORT_CORE_LAYER_H_

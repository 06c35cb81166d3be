// Deprecated: this header moved to qreport/core/render/visualizer.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_VISUALIZER_H_
#define QREPORT_CORE_VISUALIZER_H_

#include "qreport/core/render/visualizer.h"

#endif  // QREPORT_CORE_VISUALIZER_H_

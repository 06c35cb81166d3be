// Deprecated: this header moved to qreport/core/detect/detector.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_DETECTOR_H_
#define QREPORT_CORE_DETECTOR_H_

#include "qreport/core/detect/detector.h"

#endif  // QREPORT_CORE_DETECTOR_H_

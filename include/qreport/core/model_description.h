// Deprecated: this header moved to qreport/core/model/model_description.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_MODEL_DESCRIPTION_H_
#define QREPORT_CORE_MODEL_DESCRIPTION_H_

#include "qreport/core/model/model_description.h"

#endif  // QREPORT_CORE_MODEL_DESCRIPTION_H_

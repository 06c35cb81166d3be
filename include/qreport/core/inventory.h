// Deprecated: this header moved to qreport/core/render/inventory.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_INVENTORY_H_
#define QREPORT_CORE_INVENTORY_H_

#include "qreport/core/render/inventory.h"

#endif  // QREPORT_CORE_INVENTORY_H_

// Deprecated: this header moved to qreport/core/render/text_table.h.
// It forwards there until qreport 0.2.0, then goes.
#ifndef QREPORT_CORE_TEXT_TABLE_H_
#define QREPORT_CORE_TEXT_TABLE_H_

#include "qreport/core/render/text_table.h"

#endif  // QREPORT_CORE_TEXT_TABLE_H_

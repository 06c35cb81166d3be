// What the CLI needs to know about the terminal it writes to.
#ifndef QREPORT_TOOLS_TERMINAL_H_
#define QREPORT_TOOLS_TERMINAL_H_

#include <cstddef>

namespace qreport::cli {

// Width of stdout's terminal in columns; 0 when stdout is not a terminal (no fitting then).
// $COLUMNS wins when set, so scripts and tests can ask for a width.
size_t StdoutWidth();

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_TERMINAL_H_

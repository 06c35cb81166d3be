#include "terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace qreport::cli {

size_t StdoutWidth() {
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr && *columns != '\0') {
    try {
      const long value = std::stol(columns);
      if (value > 0) return static_cast<size_t>(value);
    } catch (const std::exception&) {
      // An unusable $COLUMNS is ignored, as other tools do.
    }
  }
  if (::isatty(STDOUT_FILENO) == 0) return 0;
  struct winsize size {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace qreport::cli

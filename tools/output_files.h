// Writes a command's output files all-or-nothing: every file goes to a temporary name in the
// target directory first and is renamed into place only when all of them were written, so a
// failure never leaves a half-written or half-updated set behind.
#ifndef QREPORT_TOOLS_OUTPUT_FILES_H_
#define QREPORT_TOOLS_OUTPUT_FILES_H_

#include <string>
#include <utility>
#include <vector>

#include "qreport/core/render/visualizer.h"

namespace qreport::cli {

struct OutputFile {
  std::string name;  // relative to the directory
  std::string content;
};

// Creates `directory` if needed. Throws qreport::Error(kIo) naming the path on failure.
void WriteOutputFiles(const std::string& directory, const std::vector<OutputFile>& files);

// tensor_table.csv and channel_table.csv: the visualizer's two tables.
std::vector<OutputFile> TableCsvFiles(const Visualizer& visualizer, const TableFilter& filter = {});

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_OUTPUT_FILES_H_

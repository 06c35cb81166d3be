// Writes a command's output files all-or-nothing, as qreport/core/io/output_file.h says: a
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

// Before long work: throws qreport::Error(kIo) unless `directory` exists or can be created
// and each of `names` could be written in it. Creates nothing.
void CheckOutputFiles(const std::string& directory, const std::vector<std::string>& names);

// tensor_table.csv and channel_table.csv: the visualizer's two tables.
std::vector<OutputFile> TableCsvFiles(const Visualizer& visualizer, const TableFilter& filter = {});

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_OUTPUT_FILES_H_

#include "output_files.h"

#include <filesystem>

#include "qreport/core/io/output_file.h"

namespace qreport::cli {

void WriteOutputFiles(const std::string& directory, const std::vector<OutputFile>& files) {
  CreateOutputDirectory(directory);
  std::vector<FileContent> contents;
  for (const OutputFile& file : files) {
    contents.push_back({(std::filesystem::path(directory) / file.name).string(), file.content});
  }
  WriteFilesAtomically(contents);
}

void CheckOutputFiles(const std::string& directory, const std::vector<std::string>& names) {
  CheckCanWriteDirectory(directory);
  if (!std::filesystem::is_directory(directory)) return;  // created later, empty
  for (const std::string& name : names) {
    CheckCanWrite((std::filesystem::path(directory) / name).string());
  }
}

std::vector<OutputFile> TableCsvFiles(const Visualizer& visualizer, const TableFilter& filter) {
  const FilteredTables tables = visualizer.GenerateFilteredTables(filter);
  return {{"tensor_table.csv", TensorTableCsv(tables.tensor)},
          {"channel_table.csv", ChannelTableCsv(tables.channel)}};
}

}  // namespace qreport::cli

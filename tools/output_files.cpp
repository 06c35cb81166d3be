#include "output_files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "qreport/core/error.h"

namespace qreport::cli {

void WriteOutputFiles(const std::string& directory, const std::vector<OutputFile>& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec || !fs::is_directory(directory)) {
    throw MakeError(ErrorKind::kIo, "{}: cannot create the output directory: {}", directory,
                    ec ? ec.message() : "a file of that name exists");
  }
  std::vector<fs::path> written;
  auto discard = [&] {
    for (const fs::path& path : written) fs::remove(path, ec);
  };
  for (const OutputFile& file : files) {
    const fs::path temporary = fs::path(directory) / (file.name + ".tmp");
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (out) written.push_back(temporary);
    out << file.content;
    out.flush();
    if (!out) {
      const std::string reason = std::strerror(errno);
      discard();
      throw MakeError(ErrorKind::kIo, "{}: cannot write: {}",
                      (fs::path(directory) / file.name).string(), reason);
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const fs::path target = fs::path(directory) / files[i].name;
    fs::rename(written[i], target, ec);
    if (ec) {
      discard();
      throw MakeError(ErrorKind::kIo, "{}: cannot move into place: {}", target.string(),
                      ec.message());
    }
  }
}

std::vector<OutputFile> TableCsvFiles(const Visualizer& visualizer, const TableFilter& filter) {
  const FilteredTables tables = visualizer.GenerateFilteredTables(filter);
  return {{"tensor_table.csv", TensorTableCsv(tables.tensor)},
          {"channel_table.csv", ChannelTableCsv(tables.channel)}};
}

}  // namespace qreport::cli

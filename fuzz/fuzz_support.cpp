#include "fuzz_support.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace qreport::fuzz {

double ReadEveryElement(const TensorView& view, int64_t limit) {
  const int64_t count = std::min(view.numel(), limit);
  std::vector<int64_t> index(static_cast<size_t>(view.dim()), 0);
  double sum = 0;
  for (int64_t n = 0; n < count; ++n) {
    int64_t offset = 0;
    for (int d = 0; d < view.dim(); ++d) offset += index[d] * view.stride(d);
    sum += view.ValueAt(offset);
    for (int d = view.dim() - 1; d >= 0 && ++index[d] == view.size(d); --d) index[d] = 0;
  }
  return sum;
}

namespace {

class ScratchDirectory {
 public:
  ScratchDirectory() {
    // Memory when there is a tmpfs: a file is written for every input.
    const std::filesystem::path parent = std::filesystem::is_directory("/dev/shm")
                                             ? std::filesystem::path("/dev/shm")
                                             : std::filesystem::temp_directory_path();
    std::string pattern = (parent / "qreport-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::string WriteScratchFile(const std::string& name, const uint8_t* data, size_t size) {
  static const ScratchDirectory directory;
  const std::string path = directory.path() + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || (size > 0 && std::fwrite(data, 1, size, file) != size) ||
      std::fclose(file) != 0) {
    std::abort();  // the machine, not the reader: no input may count as passing
  }
  return path;
}

}  // namespace qreport::fuzz

// Replays fuzz/regressions/<harness>/ through the fuzz targets (fuzz/fuzz_targets.h) in the
// normal build: every input that once crashed a reader, or made it throw something other than
// qreport::Error, is read again by `make test`, under whatever compiler and sanitizers the
// build has (`make test-sanitize` runs them under ASan and UBSan too).
#ifndef QREPORT_TESTS_FUZZ_REPLAY_H_
#define QREPORT_TESTS_FUZZ_REPLAY_H_

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace qreport::fuzz {

struct Harness {
  const char* name;  // the folder under fuzz/regressions/
  int (*target)(const uint8_t* data, size_t size);
};

inline std::vector<std::filesystem::path> RegressionInputs(const std::string& harness) {
  const std::filesystem::path dir = std::filesystem::path(QREPORT_FUZZ_REGRESSIONS_DIR) / harness;
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// An exception other than qreport::Error escapes the target and fails the test; a crash or a
// sanitizer report ends the test binary.
inline void Replay(const Harness& harness) {
  // The empty input too: the one input every reader must reject without reading a byte.
  EXPECT_EQ(harness.target(nullptr, 0), 0);
  for (const std::filesystem::path& file : RegressionInputs(harness.name)) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    EXPECT_EQ(harness.target(bytes.data(), bytes.size()), 0);
  }
}

inline std::string HarnessName(const testing::TestParamInfo<Harness>& info) {
  return info.param.name;
}

}  // namespace qreport::fuzz

#endif  // QREPORT_TESTS_FUZZ_REPLAY_H_

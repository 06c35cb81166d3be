// A progress line on stderr for long work: batches done, rate, time left. Drawn only when
// stderr is a terminal and the user did not ask for quiet.
#ifndef QREPORT_TOOLS_PROGRESS_H_
#define QREPORT_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace qreport::cli {

// -q/--quiet, the same on every subcommand (scripts pass it to all of them): no progress
// line. Results, warnings and errors still print.
void AddQuietFlag(CLI::App* cmd, bool& quiet);

class ProgressBar {
 public:
  ProgressBar(std::string label, std::optional<int64_t> total, bool quiet);
  ~ProgressBar();

  void Update(int64_t done);
  // Clears the line (the caller prints its own summary).
  void Finish();

 private:
  std::string label_;
  std::optional<int64_t> total_;
  bool enabled_;
  bool drawn_ = false;
  std::optional<int64_t> first_done_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_PROGRESS_H_

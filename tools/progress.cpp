#include "progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace qreport::cli {
namespace {

std::string Clock(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return fmt::format("{}:{:02d}", s / 60, s % 60);
}

}  // namespace

void AddQuietFlag(CLI::App* cmd, bool& quiet) {
  cmd->add_flag("--quiet,-q", quiet, "No progress line on stderr (results and errors still print)");
}

ProgressBar::ProgressBar(std::string label, std::optional<int64_t> total, bool quiet)
    : label_(std::move(label)),
      total_(total),
      enabled_(!quiet && ::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(int64_t done) {
  if (!enabled_) return;
  // A resumed run starts counting at the batches it took over; they took no time here.
  if (!first_done_) first_done_ = done - 1;
  const auto now = std::chrono::steady_clock::now();
  const bool last = total_ && done >= *total_;
  // Redrawing more than ~10 times a second only costs time.
  if (drawn_ && !last && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done - *first_done_) / elapsed : 0.0;
  std::string line;
  if (total_ && *total_ > 0) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * done / *total_);
    const double left = rate > 0 ? static_cast<double>(*total_ - done) / rate : 0.0;
    line = fmt::format("{} [{}{}] {}/{} batches  {:.1f}/s  {} left", label_,
                       std::string(static_cast<size_t>(filled), '#'),
                       std::string(static_cast<size_t>(kWidth - filled), '.'), done, *total_, rate,
                       Clock(left));
  } else {
    line = fmt::format("{} {} batches  {:.1f}/s  {} elapsed", label_, done, rate, Clock(elapsed));
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace qreport::cli

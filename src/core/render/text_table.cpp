#include "qreport/core/render/text_table.h"

#include <algorithm>
#include <numeric>

#include "qreport/core/error.h"

namespace qreport {
namespace {

constexpr size_t kGap = 2;
constexpr size_t kMinColumn = 4;

// Keeps the first `width` code points, the last one replaced by an ellipsis.
std::string Shorten(const std::string& text, size_t width) {
  if (DisplayWidth(text) <= width) return text;
  if (width == 0) return "";
  std::string out;
  size_t points = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) != 0x80) {
      if (points + 1 == width) break;
      ++points;
    }
    out += text[i];
  }
  return out + "\u2026";
}

std::string Pad(const std::string& text, size_t width, Align align) {
  const size_t fill = width - std::min(width, DisplayWidth(text));
  return align == Align::kLeft ? text + std::string(fill, ' ') : std::string(fill, ' ') + text;
}

}  // namespace

size_t DisplayWidth(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void TextTable::AddRow(std::vector<std::string> cells) {
  QREPORT_ASSERT(cells.size() == columns_.size(), "row has {} cells, table has {} columns",
                 cells.size(), columns_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::Render(size_t max_width) const {
  std::vector<size_t> widths(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = DisplayWidth(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  if (max_width > 0 && !widths.empty()) {
    const size_t gaps = kGap * (widths.size() - 1);
    auto total = [&] { return std::accumulate(widths.begin(), widths.end(), gaps); };
    // Shrink the widest column that may shrink, then, if that is not enough, the kept ones.
    for (const bool may_shrink_kept : {false, true}) {
      while (total() > max_width) {
        size_t widest = widths.size();
        for (size_t c = 0; c < widths.size(); ++c) {
          if (columns_[c].keep && !may_shrink_kept) continue;
          if (widths[c] > kMinColumn && (widest == widths.size() || widths[c] > widths[widest])) {
            widest = c;
          }
        }
        if (widest == widths.size()) break;
        --widths[widest];
      }
    }
  }

  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line += std::string(kGap, ' ');
      line += Pad(Shorten(cells[c], widths[c]), widths[c], columns_[c].align);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  };
  std::vector<std::string> header;
  std::vector<std::string> rule;
  for (size_t c = 0; c < columns_.size(); ++c) {
    header.push_back(columns_[c].header);
    rule.push_back(std::string(widths[c], '-'));
  }
  emit(header);
  emit(rule);
  for (const auto& row : rows_) emit(row);
  return out;
}

}  // namespace qreport

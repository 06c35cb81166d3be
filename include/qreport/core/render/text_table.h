// Aligned plain-text tables for terminals.
//
//   qreport::TextTable table({{"fqn"}, {"channels", qreport::Align::kRight}});
//   table.AddRow({"fc1", "32"});
//   std::cout << table.Render();
//
// Cells that do not fit `max_width` are shortened in the widest column first, with "…"
// marking the cut, so a table never wraps in a terminal.
#ifndef QREPORT_CORE_RENDER_TEXT_TABLE_H_
#define QREPORT_CORE_RENDER_TEXT_TABLE_H_

#include <string>
#include <vector>

namespace qreport {

enum class Align { kLeft, kRight };

struct Column {
  std::string header;
  Align align = Align::kLeft;
  // Shortened only when shortening every other column is not enough (names people search).
  bool keep = false;
};

class TextTable {
 public:
  explicit TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // REQUIRES: cells.size() == number of columns.
  void AddRow(std::vector<std::string> cells);

  size_t rows() const { return rows_.size(); }

  // The header, a rule, and the rows, each line ending in '\n'. Columns are separated by two
  // spaces. `max_width` 0 means no limit.
  std::string Render(size_t max_width = 0) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of UTF-8 text (code points; qreport prints no wide characters).
size_t DisplayWidth(const std::string& text);

}  // namespace qreport

#endif  // QREPORT_CORE_RENDER_TEXT_TABLE_H_

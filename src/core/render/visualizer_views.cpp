// The visualizer's views: aligned text, CSV and SVG plots of the tables. Nothing here computes
// a statistic; plots only summarise what the report holds (a mean over channels, a histogram).
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "detect/report_keys.h"
#include "qreport/core/error.h"
#include "qreport/core/render/text_table.h"
#include "qreport/core/render/visualizer.h"
#include "render/svg_plot.h"
#include "render/visualizer_values.h"

namespace qreport {
namespace {

using Json = nlohmann::ordered_json;

constexpr double kLargestWhole = 1e15;  // integers print whole below this

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  if (v == std::floor(v) && std::fabs(v) < kLargestWhole) return fmt::format("{:.0f}", v);
  const double magnitude = std::fabs(v);
  if (magnitude < 1e-3 || magnitude >= 1e6) return fmt::format("{:.3e}", v);
  const int decimals = std::max(0, 3 - static_cast<int>(std::floor(std::log10(magnitude))));
  std::string out = fmt::format("{:.{}f}", v, decimals);
  out.erase(out.find_last_not_of('0') + 1);
  if (out.back() == '.') out.pop_back();
  return out;
}

std::string CsvField(const TableValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return "";
  if (const bool* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
  if (const double* number = std::get_if<double>(&value)) return fmt::format("{}", *number);
  const std::string& text = std::get<std::string>(value);
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i > 0 ? "," : "") + fields[i];
  return line + "\r\n";
}

// Rows of text cells under headers; the first `keys` columns identify the row and are
// repeated in every block when the table is split to fit the width.
struct TextGrid {
  std::vector<std::string> headers;
  size_t keys = 0;
  std::vector<std::vector<std::string>> rows;

  std::string Render(size_t max_width) const {
    std::vector<size_t> widths(headers.size());
    for (size_t c = 0; c < headers.size(); ++c) {
      widths[c] = DisplayWidth(headers[c]);
      for (const auto& row : rows) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
    const size_t key_width =
        std::accumulate(widths.begin(), widths.begin() + static_cast<std::ptrdiff_t>(keys),
                        size_t{0}) +
        2 * keys;
    std::string out;
    for (size_t first = keys; first < headers.size();) {
      size_t last = first + 1, width = key_width + widths[first];
      while (last < headers.size() && (max_width == 0 || width + 2 + widths[last] <= max_width)) {
        width += 2 + widths[last++];
      }
      std::vector<Column> columns;
      // idx and channel are numbers; the fqn is the one left-aligned key.
      for (size_t c = 0; c < keys; ++c) {
        columns.push_back({headers[c], c == 1 ? Align::kLeft : Align::kRight, true});
      }
      for (size_t c = first; c < last; ++c) columns.push_back({headers[c], Align::kRight});
      TextTable table(columns);
      for (const auto& row : rows) {
        std::vector<std::string> cells(row.begin(),
                                       row.begin() + static_cast<std::ptrdiff_t>(keys));
        cells.insert(cells.end(), row.begin() + static_cast<std::ptrdiff_t>(first),
                     row.begin() + static_cast<std::ptrdiff_t>(last));
        table.AddRow(std::move(cells));
      }
      out += (first > keys ? "\n" : "") + table.Render(max_width);
      first = last;
    }
    return out;
  }
};

std::vector<double> Numbers(const Json& values) {
  std::vector<double> out;
  for (const Json& value : values) out.push_back(internal::NumberOf(value).value_or(NAN));
  return out;
}

std::string Where(const TableFilter& filter) {
  return filter.module_fqn.empty() ? std::string("no module")
                                   : fmt::format("no module matching '{}'", filter.module_fqn);
}

}  // namespace

std::string FormatTableValue(const TableValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return "-";
  if (const bool* flag = std::get_if<bool>(&value)) return *flag ? "yes" : "no";
  if (const double* number = std::get_if<double>(&value)) return FormatNumber(*number);
  return std::get<std::string>(value);
}

std::string TensorTableCsv(const TensorTable& table) {
  std::vector<std::string> header = {"idx", "layer_fqn"};
  header.insert(header.end(), table.features.begin(), table.features.end());
  std::string out = CsvLine(header);
  for (size_t r = 0; r < table.rows.size(); ++r) {
    std::vector<std::string> fields = {std::to_string(r), CsvField(table.rows[r].fqn)};
    for (const TableValue& value : table.rows[r].values) fields.push_back(CsvField(value));
    out += CsvLine(fields);
  }
  return out;
}

std::string ChannelTableCsv(const ChannelTable& table) {
  std::vector<std::string> header = {"idx", "layer_fqn", "channel"};
  header.insert(header.end(), table.features.begin(), table.features.end());
  std::string out = CsvLine(header);
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const ChannelTable::Row& row = table.rows[r];
    std::vector<std::string> fields = {std::to_string(r), CsvField(row.fqn),
                                       std::to_string(row.channel)};
    for (const TableValue& value : row.values) fields.push_back(CsvField(value));
    out += CsvLine(fields);
  }
  return out;
}

std::string Visualizer::RenderTables(const TableFilter& filter, size_t max_width) const {
  const FilteredTables tables = GenerateFilteredTables(filter);
  std::string out;
  if (!tables.tensor.rows.empty()) {
    TextGrid grid{{"idx", "layer_fqn"}, 2, {}};
    grid.headers.insert(grid.headers.end(), tables.tensor.features.begin(),
                        tables.tensor.features.end());
    for (size_t r = 0; r < tables.tensor.rows.size(); ++r) {
      std::vector<std::string> cells = {std::to_string(r), tables.tensor.rows[r].fqn};
      for (const TableValue& value : tables.tensor.rows[r].values) {
        cells.push_back(FormatTableValue(value));
      }
      grid.rows.push_back(std::move(cells));
    }
    out += fmt::format("Tensor-level features ({} module{})\n", grid.rows.size(),
                       grid.rows.size() == 1 ? "" : "s");
    out += grid.Render(max_width);
  }
  if (!tables.channel.rows.empty()) {
    TextGrid grid{{"idx", "layer_fqn", "channel"}, 3, {}};
    grid.headers.insert(grid.headers.end(), tables.channel.features.begin(),
                        tables.channel.features.end());
    // A ratio the reference saturated at FLT_MAX reads as what it means, not as 4.25e+37.
    // Rows come grouped by module, so the module of the last row is looked up once.
    const Module* module = nullptr;
    auto unbounded = [&](const std::string& fqn, int64_t channel) -> std::string {
      if (module == nullptr || module->fqn != fqn) {
        module = nullptr;
        for (const Module& candidate : modules_) {
          if (candidate.fqn != fqn) continue;
          module = &candidate;
          break;
        }
      }
      if (module == nullptr) return "";
      const Json* counts = module->Find(report_keys::kUnboundedRatioBatches);
      const Json* total = module->Find(report_keys::kOutlierTotalBatches);
      if (counts == nullptr || !counts->is_array() ||
          channel >= static_cast<int64_t>(counts->size())) {
        return "";
      }
      const std::optional<double> count =
          internal::NumberOf((*counts)[static_cast<size_t>(channel)]);
      if (!count || *count <= 0) return "";
      const std::optional<double> batches =
          total != nullptr ? internal::NumberOf(*total) : std::nullopt;
      return batches ? fmt::format("unbounded ({} of {} batches)", FormatNumber(*count),
                                   FormatNumber(*batches))
                     : fmt::format("unbounded ({} batches)", FormatNumber(*count));
    };
    for (size_t r = 0; r < tables.channel.rows.size(); ++r) {
      const ChannelTable::Row& row = tables.channel.rows[r];
      std::vector<std::string> cells = {std::to_string(r), row.fqn, std::to_string(row.channel)};
      for (size_t v = 0; v < row.values.size(); ++v) {
        std::string cell;
        if (tables.channel.features[v] == report_keys::kOutlierPercentileRatios) {
          cell = unbounded(row.fqn, row.channel);
        }
        cells.push_back(cell.empty() ? FormatTableValue(row.values[v]) : cell);
      }
      grid.rows.push_back(std::move(cells));
    }
    out += fmt::format("{}Channel-level features ({} rows)\n", out.empty() ? "" : "\n",
                       grid.rows.size());
    out += grid.Render(max_width);
  }
  if (out.empty()) {
    out = fmt::format("Nothing matches: no feature containing '{}' in a module containing '{}'.\n",
                      filter.feature, filter.module_fqn);
  }
  return out;
}

std::string Visualizer::PlotAcrossChannels(const TableFilter& filter) const {
  const std::string feature = SelectPlottableFeature(filter.feature);
  internal::LinePlot plot{feature + " across channels", "channel", feature, {}, {}};
  for (const Module* module : SelectModules(filter.module_fqn)) {
    const Json* value = module->Find(feature);
    if (value != nullptr && value->is_array() && !value->empty()) {
      plot.series.push_back({module->fqn, Numbers(*value)});
    }
  }
  QREPORT_CHECK(!plot.series.empty(), "{} has per-channel values of '{}'", Where(filter), feature);
  return internal::RenderLinePlotSvg(plot);
}

std::string Visualizer::PlotAcrossModules(const TableFilter& filter) const {
  const std::string feature = SelectPlottableFeature(filter.feature);
  internal::LinePlot plot{feature + " across modules", "module", feature, {}, {}};
  internal::PlotSeries mean{"mean over channels", {}}, low{"min over channels", {}},
      high{"max over channels", {}};
  bool per_channel = false;
  for (const Module* module : SelectModules(filter.module_fqn)) {
    const Json* value = module->Find(feature);
    if (value == nullptr || value->is_null()) continue;
    std::vector<double> finite;
    for (const double v : value->is_array() ? Numbers(*value) : Numbers(Json::array({*value}))) {
      if (std::isfinite(v)) finite.push_back(v);
    }
    per_channel = per_channel || value->is_array();
    plot.x_names.push_back(module->fqn);
    if (finite.empty()) {
      for (auto* series : {&mean, &low, &high}) series->values.push_back(NAN);
      continue;
    }
    mean.values.push_back(std::accumulate(finite.begin(), finite.end(), 0.0) /
                          static_cast<double>(finite.size()));
    low.values.push_back(*std::min_element(finite.begin(), finite.end()));
    high.values.push_back(*std::max_element(finite.begin(), finite.end()));
  }
  QREPORT_CHECK(!plot.x_names.empty(), "{} has values of '{}'", Where(filter), feature);
  if (per_channel) {
    plot.series = {std::move(mean), std::move(low), std::move(high)};
  } else {
    mean.name = feature;
    plot.series = {std::move(mean)};
  }
  return internal::RenderLinePlotSvg(plot);
}

std::string Visualizer::Histogram(const TableFilter& filter, int bins) const {
  QREPORT_CHECK(bins >= 1, "a histogram needs at least one bin, got {}", bins);
  const std::string feature = SelectPlottableFeature(filter.feature);
  std::vector<double> values;
  for (const Module* module : SelectModules(filter.module_fqn)) {
    const Json* value = module->Find(feature);
    if (value == nullptr) continue;
    for (const double v : value->is_array() ? Numbers(*value) : Numbers(Json::array({*value}))) {
      if (std::isfinite(v)) values.push_back(v);
    }
  }
  QREPORT_CHECK(!values.empty(), "{} has finite values of '{}'", Where(filter), feature);
  double lo = *std::min_element(values.begin(), values.end());
  double hi = *std::max_element(values.begin(), values.end());
  if (lo == hi) lo -= 0.5, hi += 0.5;
  internal::HistogramPlot plot{fmt::format("{} ({} values)", feature, values.size()),
                               feature,
                               {},
                               std::vector<int64_t>(static_cast<size_t>(bins), 0)};
  // In halves: hi - lo overflows to infinity for values near +-DBL_MAX (and the bin of each
  // value would be NaN); lo == hi stays so past 2^53, where +-0.5 changes nothing.
  const double half_range = hi / 2 - lo / 2;
  for (int b = 0; b <= bins; ++b) {
    const double half_offset = half_range * b / bins;
    plot.edges.push_back(lo + half_offset + half_offset);
  }
  for (const double v : values) {
    const double position = half_range > 0 ? (v / 2 - lo / 2) / half_range : 0.0;
    const auto bin = static_cast<size_t>(std::clamp(position, 0.0, 1.0) * bins);
    ++plot.counts[std::min(bin, plot.counts.size() - 1)];
  }
  return internal::RenderHistogramSvg(plot);
}

}  // namespace qreport

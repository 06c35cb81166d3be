// The reference's visualizer over a report.json (saved, or just made): filtered tables as
// Python lists, the same tables as text, and plots as SVG documents the core draws.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "qreport/core/error.h"
#include "qreport/core/render/html_report.h"
#include "qreport/core/render/visualizer.h"

namespace qreport::python {
namespace {

namespace nb = nanobind;

nb::object ToPython(const TableValue& value) {
  if (const auto* number = std::get_if<double>(&value)) return nb::float_(*number);
  if (const auto* flag = std::get_if<bool>(&value)) return nb::bool_(*flag);
  if (const auto* text = std::get_if<std::string>(&value)) return nb::str(text->c_str());
  return nb::none();
}

nb::list Values(const std::vector<TableValue>& values) {
  nb::list out;
  for (const TableValue& value : values) out.append(ToPython(value));
  return out;
}

// ({"headers": [...], "rows": [[...], ...]}) for both tables, rows led by their module (and
// channel), as the reference's generate_filtered_tables lays them out.
nb::dict Tables(const FilteredTables& tables) {
  nb::list tensor_rows, channel_rows;
  for (const TensorTable::Row& row : tables.tensor.rows) {
    nb::list cells;
    cells.append(nb::str(row.fqn.c_str()));
    for (nb::handle value : Values(row.values)) cells.append(value);
    tensor_rows.append(cells);
  }
  for (const ChannelTable::Row& row : tables.channel.rows) {
    nb::list cells;
    cells.append(nb::str(row.fqn.c_str()));
    cells.append(nb::int_(row.channel));
    for (nb::handle value : Values(row.values)) cells.append(value);
    channel_rows.append(cells);
  }
  nb::dict out;
  out["tensor_features"] = nb::cast(tables.tensor.features);
  out["tensor_rows"] = tensor_rows;
  out["channel_features"] = nb::cast(tables.channel.features);
  out["channel_rows"] = channel_rows;
  return out;
}

Visualizer FromJsonText(const std::string& text, const std::string& source) {
  const nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(text, nullptr, false);
  QREPORT_CHECK(!parsed.is_discarded(), "{}: not valid JSON", source);
  return Visualizer::FromReportJson(parsed, source);
}

}  // namespace

void BindRender(nb::module_& m) {
  nb::class_<Visualizer>(m, "Visualizer")
      .def(
          "__init__",
          [](Visualizer* self, const std::string& report_json, const std::string& source) {
            new (self) Visualizer(FromJsonText(report_json, source));
          },
          nb::arg("report_json"), nb::arg("source") = "report.json")
      .def("module_fqns", &Visualizer::ModuleFqns)
      .def("feature_names", &Visualizer::FeatureNames, nb::arg("plottable_only") = true)
      .def(
          "filtered_tables",
          [](const Visualizer& v, const std::string& feature, const std::string& module) {
            return Tables(v.GenerateFilteredTables({feature, module}));
          },
          nb::arg("feature") = "", nb::arg("module") = "")
      .def(
          "render_tables",
          [](const Visualizer& v, const std::string& feature, const std::string& module,
             size_t max_width) {
            return v.RenderTables({feature, module}, max_width);
          },
          nb::arg("feature") = "", nb::arg("module") = "", nb::arg("max_width") = 0)
      .def(
          "plot_across_channels",
          [](const Visualizer& v, const std::string& feature, const std::string& module) {
            return v.PlotAcrossChannels({feature, module});
          },
          nb::arg("feature"), nb::arg("module") = "")
      .def(
          "plot_across_modules",
          [](const Visualizer& v, const std::string& feature, const std::string& module) {
            return v.PlotAcrossModules({feature, module});
          },
          nb::arg("feature"), nb::arg("module") = "")
      .def(
          "histogram",
          [](const Visualizer& v, const std::string& feature, const std::string& module, int bins) {
            QREPORT_CHECK(bins >= 1, "a histogram needs at least one bin, not {}", bins);
            return v.Histogram({feature, module}, bins);
          },
          nb::arg("feature"), nb::arg("module") = "", nb::arg("bins") = 10);

  m.def(
      "html_from_files",
      [](const std::string& report_path) {
        return RenderHtmlReport(LoadReportDocuments(report_path));
      },
      nb::arg("report_path"),
      "report.html for a saved report.json and the mappings beside it (what `qreport view` "
      "shows).");
}

}  // namespace qreport::python

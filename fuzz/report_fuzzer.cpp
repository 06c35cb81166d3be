// report.json given to qreport view: read from a file as the command reads it, then every view
// the command can make of it.
#include <string>

#include "fuzz_support.h"
#include "fuzz_targets.h"
#include "qreport/core/error.h"
#include "qreport/core/render/html_report.h"
#include "qreport/core/render/visualizer.h"

namespace qreport::fuzz {

int ReportTarget(const uint8_t* data, size_t size) {
  try {
    const ReportDocuments documents =
        LoadReportDocuments(WriteScratchFile("report.json", data, size));
    const Visualizer visualizer = Visualizer::FromReportJson(documents.report, "report.json");
    (void)RenderHtmlReport(documents);
    (void)visualizer.RenderTables({}, /*max_width=*/80);
    const FilteredTables tables = visualizer.GenerateFilteredTables({});
    (void)TensorTableCsv(tables.tensor);
    (void)ChannelTableCsv(tables.channel);
    for (const std::string& feature : visualizer.FeatureNames(/*plottable_only=*/true)) {
      // A plot throws Error when the name also matches another feature, or has no values.
      try {
        (void)visualizer.PlotAcrossChannels({feature, ""});
      } catch (const Error&) {
      }
      try {
        (void)visualizer.PlotAcrossModules({feature, ""});
      } catch (const Error&) {
      }
      try {
        (void)visualizer.Histogram({feature, ""}, /*bins=*/7);
      } catch (const Error&) {
      }
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace qreport::fuzz

QREPORT_FUZZ_ENTRY_POINT(ReportTarget)

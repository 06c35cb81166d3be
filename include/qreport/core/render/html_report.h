// report.html: one self-contained page (no network, no external files) that shows a report to
// a person: a summary of the recommendations, a sortable and filterable table of the modules,
// each module's findings with per-channel plots, and the recommended mappings.
//
//   qreport::ReportDocuments docs{qreport::ReportToJson(report), mapping.ToJson(), equalization};
//   WriteFile("report.html", qreport::RenderHtmlReport(docs));
//   // or, from files saved earlier:
//   WriteFile("report.html", qreport::RenderHtmlReport(qreport::LoadReportDocuments("r.json")));
//
// The page embeds the documents as JSON once (numbers rounded to four significant digits,
// per-channel yes/no arrays as strings of 0s and 1s) and
// draws each module's plots with a small script only when the module is opened, so a model
// with hundreds of layers stays a small, fast page.
#ifndef QREPORT_CORE_RENDER_HTML_REPORT_H_
#define QREPORT_CORE_RENDER_HTML_REPORT_H_

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace qreport {

// What the page shows: report.json and, when available, the two mappings analyze writes.
struct ReportDocuments {
  nlohmann::ordered_json report;                               // ReportToJson's schema
  std::optional<nlohmann::ordered_json> qconfig_mapping;       // QConfigMapping::ToJson
  std::optional<nlohmann::ordered_json> equalization_mapping;  // RecommendEqualizationMapping
};

// Reads `report_path` and, when they exist in the same directory, qconfig_mapping.json and
// equalization_mapping.json. Throws qreport::Error naming the file: kIo when it cannot be
// read, kInvalidArgument when it is not valid JSON of the expected schema.
ReportDocuments LoadReportDocuments(const std::string& report_path);

// The page. Throws qreport::Error(kInvalidArgument) when `documents.report` does not have
// report.json's schema (see Visualizer::FromReportJson).
std::string RenderHtmlReport(const ReportDocuments& documents);

}  // namespace qreport

#endif  // QREPORT_CORE_RENDER_HTML_REPORT_H_

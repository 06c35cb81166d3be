// RenderHtmlReport fills the page template (src/core/html/) with its style, script and data;
// everything the page shows is computed in the browser from the embedded documents.
#include "qreport/core/render/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "detect/report_keys.h"
#include "qreport/core/error.h"
#include "qreport/core/qconfig/qconfig.h"
#include "qreport/core/render/visualizer.h"
#include "qreport/version.h"
#include "render/html_assets.h"

namespace qreport {
namespace {

namespace k = report_keys;
using Json = nlohmann::ordered_json;

// What the page shows needs three digits; four keep plots and readouts exact to the eye and
// make a large model's page a fraction of its report.json.
constexpr int kSignificantDigits = 4;

// Names the script reads report.json with, from the one list of keys, so the page and the
// writer cannot drift apart.
Json ScriptKeys() {
  return {{"problem", k::kProblem},
          {"perChannelSupported", k::kPerChannelSupported},
          {"perChannelUsed", k::kPerChannelUsed},
          {"backend", k::kBackend},
          {"configurationSource", k::kConfigurationSource},
          {"dynamicStaticTolerance", k::kDynamicStaticTolerance},
          {"dynamicRecommended", k::kDynamicRecommended},
          {"inputComparisonStat", k::kInputComparisonStat},
          {"outputComparisonStat", k::kOutputComparisonStat},
          {"inputClassification", k::kInputClassification},
          {"outputClassification", k::kOutputClassification},
          {"isDynamicSupported", k::kIsDynamicSupported},
          {"equalizationRecommended", k::kEqualizationRecommended},
          {"equalizationComparison", k::kEqualizationComparison},
          {"equalizationThreshold", k::kEqualizationThreshold},
          {"equalizationChannelAxis", k::kEqualizationChannelAxis},
          {"inputPerChannelMax", k::kInputPerChannelMax},
          {"inputPerChannelMin", k::kInputPerChannelMin},
          {"weightPerChannelMax", k::kWeightPerChannelMax},
          {"weightPerChannelMin", k::kWeightPerChannelMin},
          {"moduleEqualizationRecommended", k::kModuleEqualizationRecommended},
          {"outlierChannelAxis", k::kOutlierChannelAxis},
          {"outlierReferencePercentile", k::kOutlierReferencePercentile},
          {"outlierRatioThreshold", k::kOutlierRatioThreshold},
          {"outlierPercentileRatios", k::kOutlierPercentileRatios},
          {"outlierBatchesUsed", k::kOutlierBatchesUsed},
          {"outliersDetected", k::kOutliersDetected},
          {"outlierSufficientBatches", k::kOutlierSufficientBatches},
          {"constantBatchCounts", k::kConstantBatchCounts},
          {"deadChannels", k::kDeadChannels},
          {"moduleType", k::kModuleType},
          {"outlierTotalBatches", k::kOutlierTotalBatches},
          {"unboundedRatioBatches", k::kUnboundedRatioBatches},
          {"model", k::kModel},
          {"batches", k::kBatches},
          {"threads", k::kThreads},
          {"notObserved", k::kNotObserved},
          {"notAnalysed", k::kNotAnalysed},
          {"reason", k::kReason},
          {"schemaVersion", k::kSchemaVersionKey},
          {"modules", k::kModules},
          {"moduleName", k::kModuleName},
          {"channelsRecommended", k::kChannelsRecommended},
          {"channels", k::kChannels},
          {"inf", k::kInf},
          {"negInf", k::kNegInf},
          {"nan", k::kNan}};
}

bool AllBooleans(const Json& array) {
  return !array.empty() &&
         std::all_of(array.begin(), array.end(), [](const Json& v) { return v.is_boolean(); });
}

// report.json made compact for the page: numbers rounded, and per-channel yes/no arrays as a
// string of 0s and 1s in {"bits": ...} (report.json never holds an object as a value, so the
// script can tell them apart). A quarter of a large report is such arrays.
Json ForPage(const Json& value) {
  if (value.is_number_float()) {
    const double v = value.get<double>();
    if (!std::isfinite(v)) return v;
    // strtod, not stod: rounding -DBL_MAX to six digits overflows, and stod throws for that
    // (found by fuzz/report_fuzzer); such a value keeps all its digits.
    const double rounded =
        std::strtod(fmt::format("{:.{}g}", v, kSignificantDigits).c_str(), nullptr);
    return std::isfinite(rounded) ? rounded : v;
  }
  if (value.is_array() && AllBooleans(value)) {
    std::string bits;
    for (const Json& flag : value) bits += flag.get<bool>() ? '1' : '0';
    return {{"bits", bits}};
  }
  if (!value.is_structured()) return value;
  Json out = value.is_array() ? Json::array() : Json::object();
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (value.is_array()) {
      out.push_back(ForPage(*it));
    } else {
      out[it.key()] = ForPage(*it);
    }
  }
  return out;
}

// JSON inside <script>: "<" is escaped so no string in the data can close the element.
std::string ScriptSafe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (const char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string HtmlText(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

// Replaces each @@NAME@@ of the template once, in one pass, so filled-in text is never
// searched for markers itself.
std::string Fill(std::string_view page,
                 const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  size_t at = 0;
  while (true) {
    const size_t open = page.find("@@", at);
    if (open == std::string_view::npos) break;
    const size_t close = page.find("@@", open + 2);
    QREPORT_ASSERT(close != std::string_view::npos, "report.html: unclosed marker");
    const std::string_view name = page.substr(open + 2, close - open - 2);
    const auto value = std::find_if(values.begin(), values.end(),
                                    [&](const auto& pair) { return pair.first == name; });
    QREPORT_ASSERT(value != values.end(), "report.html: unknown marker @@{}@@", name);
    out.append(page.substr(at, open - at));
    out += value->second;
    at = close + 2;
  }
  out.append(page.substr(at));
  return out;
}

Json ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  QREPORT_CHECK_KIND(
      static_cast<bool>(in), ErrorKind::kIo, "{}: cannot read: {}", path,
      std::filesystem::exists(path) ? "permission denied or not a file" : "no such file");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return Json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {  // a number too large for a double: out_of_range
    throw MakeError(ErrorKind::kInvalidArgument, "{}: expected JSON: {}", path, e.what());
  }
}

void CheckEqualizationMapping(const Json& mapping, const std::string& path) {
  const auto modules = mapping.is_object() ? mapping.find(k::kModules) : mapping.end();
  QREPORT_CHECK(mapping.is_object() && modules != mapping.end() && modules->is_array(),
                "{}: expected an object with a \"{}\" array (equalization_mapping.json)", path,
                k::kModules);
  for (const Json& module : *modules) {
    QREPORT_CHECK(
        module.is_object() && module.contains(k::kModuleName) && module[k::kModuleName].is_string(),
        "{}: expected every entry of \"{}\" to be an object with a \"{}\" string, got {}", path,
        k::kModules, k::kModuleName, module.dump());
  }
}

}  // namespace

ReportDocuments LoadReportDocuments(const std::string& report_path) {
  namespace fs = std::filesystem;
  ReportDocuments documents{ReadJsonFile(report_path), std::nullopt, std::nullopt};
  Visualizer::FromReportJson(documents.report, report_path);  // checks the schema
  const fs::path directory = fs::path(report_path).parent_path();
  const std::string qconfig_path = (directory / "qconfig_mapping.json").string();
  if (fs::exists(qconfig_path)) {
    // Read through QConfigMapping: validated, and shown as qreport writes it.
    documents.qconfig_mapping = QConfigMapping::FromJsonFile(qconfig_path).ToJson();
  }
  const std::string equalization_path = (directory / "equalization_mapping.json").string();
  if (fs::exists(equalization_path)) {
    documents.equalization_mapping = ReadJsonFile(equalization_path);
    CheckEqualizationMapping(*documents.equalization_mapping, equalization_path);
  }
  return documents;
}

std::string RenderHtmlReport(const ReportDocuments& documents) {
  // Also checks the schema; the page lists modules in the order the visualizer merged.
  const Visualizer visualizer = Visualizer::FromReportJson(documents.report, "report.json");
  const Json data = {
      {"generator", fmt::format("qreport {}", QREPORT_VERSION)},
      {"keys", ScriptKeys()},
      {"modules", visualizer.ModuleFqns()},
      {"report", ForPage(documents.report)},
      {"qconfig_mapping", documents.qconfig_mapping.value_or(Json())},
      {"equalization_mapping", documents.equalization_mapping.value_or(Json())},
  };
  const auto model = documents.report.find(k::kModel);
  const std::string title =
      model != documents.report.end() && model->is_string() && !model->get<std::string>().empty()
          ? model->get<std::string>()
          : std::string("model");
  return Fill(internal::html_assets::ReportHtml(),
              {{"TITLE", HtmlText(title)},
               {"STYLE", std::string(internal::html_assets::ReportCss())},
               {"DATA", ScriptSafe(data.dump())},
               {"SCRIPT", std::string(internal::html_assets::ReportJs())}});
}

}  // namespace qreport

#include "qreport/core/render/html_report.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/report.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::ordered_json;

Report SampleReport(const std::string& fqn) {
  OutlierFinding outlier;
  outlier.fqn = fqn;
  outlier.module_type = "torch.nn.modules.linear.Linear";
  outlier.ratios = {1.0 / 3.0, std::numeric_limits<double>::infinity()};
  outlier.batches_used = {2, 2};
  outlier.outliers = {false, true};
  outlier.sufficient_batches = {true, true};
  outlier.constant_batches = {0, 0};
  outlier.channel_max = {1, 2};
  outlier.dead_channels = {false, false};
  outlier.unbounded_batches = {0, 0};
  outlier.total_batches = 2;
  return Report{"nets/<model>.pt", 2, {{"outlier_detector", {outlier}, {}, {}}}};
}

// The JSON the page embeds, cut out of the page.
Json EmbeddedData(const std::string& page) {
  const std::string open = "<script id=\"qreport-data\" type=\"application/json\">";
  const size_t start = page.find(open);
  EXPECT_NE(start, std::string::npos);
  const size_t end = page.find("</script>", start);
  return Json::parse(page.substr(start + open.size(), end - start - open.size()));
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string ScratchDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "qreport_html_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(HtmlReportTest, OnePageWithItsStyleScriptAndData) {
  const ReportDocuments documents{ReportToJson(SampleReport("fc")), Json(), std::nullopt};
  const std::string page = RenderHtmlReport(documents);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_THAT(
      page, AllOf(HasSubstr("<title>qreport: nets/&lt;model&gt;.pt</title>"), HasSubstr("<style>"),
                  HasSubstr("function renderTable"), Not(HasSubstr("@@"))));
  // Self-contained: nothing is fetched.
  EXPECT_THAT(page, AllOf(Not(HasSubstr("<link")), Not(HasSubstr(" src=")),
                          Not(HasSubstr("https://")), Not(HasSubstr("@import"))));

  const Json data = EmbeddedData(page);
  EXPECT_EQ(data["modules"], Json::array({"fc"}));
  EXPECT_EQ(data["keys"]["outlierPercentileRatios"], "outlier_detection_percentile_ratios");
  // Numbers are rounded to four significant digits and yes/no arrays are bit strings; the rest
  // is report.json as written.
  const Json& fc = data["report"]["outlier_detector"]["fc"];
  EXPECT_EQ(fc["outlier_detection_percentile_ratios"], Json::parse("[0.3333, \"inf\"]"));
  EXPECT_EQ(fc["outliers_detected"], Json::parse(R"({"bits": "01"})"));
  EXPECT_EQ(fc["outlier_detection_batches_used"], Json::parse("[2, 2]"));
  EXPECT_EQ(fc["module_type"], "torch.nn.modules.linear.Linear");
  EXPECT_TRUE(data["qconfig_mapping"].is_null());
}

// A module name cannot end the data's <script> element early.
TEST(HtmlReportTest, DataCannotCloseItsScriptElement) {
  const std::string fqn = "a</script><script>alert(1)</script>";
  const std::string page = RenderHtmlReport({ReportToJson(SampleReport(fqn)), {}, {}});
  EXPECT_THAT(page, Not(HasSubstr(fqn)));
  EXPECT_EQ(EmbeddedData(page)["modules"][0], fqn);
}

TEST(HtmlReportTest, RejectsAReportOfAnotherShape) {
  try {
    RenderHtmlReport({Json{{"schema_version", 2}}, {}, {}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr("expected \"schema_version\": 1"));
  }
}

TEST(HtmlReportTest, LoadReadsTheMappingsBesideTheReport) {
  const std::string dir = ScratchDir("load");
  const std::string report = WriteFile(dir, "r.json", ReportToJson(SampleReport("fc")).dump());
  ReportDocuments alone = LoadReportDocuments(report);
  EXPECT_FALSE(alone.qconfig_mapping.has_value());
  EXPECT_FALSE(alone.equalization_mapping.has_value());

  WriteFile(dir, "qconfig_mapping.json",
            R"({"global": "default_qconfig", "module_name": [{"name": "fc", "qconfig": null}]})");
  WriteFile(dir, "equalization_mapping.json", R"({"schema_version": 1, "modules": []})");
  const ReportDocuments both = LoadReportDocuments(report);
  ASSERT_TRUE(both.qconfig_mapping.has_value());
  EXPECT_EQ((*both.qconfig_mapping)["global"]["weight"], "per_tensor");  // as qreport writes it
  EXPECT_TRUE((*both.qconfig_mapping)["module_name"][0]["qconfig"].is_null());
  EXPECT_EQ(both.equalization_mapping, Json::parse(R"({"schema_version": 1, "modules": []})"));
}

TEST(HtmlReportTest, LoadErrorsNameTheFile) {
  const std::string dir = ScratchDir("errors");
  auto error_of = [](const std::string& path) {
    try {
      LoadReportDocuments(path);
    } catch (const Error& e) {
      return std::make_pair(e.kind(), std::string(e.what()));
    }
    return std::make_pair(ErrorKind::kInternal, std::string("no error"));
  };
  const auto missing = error_of(dir + "/none.json");
  EXPECT_EQ(missing.first, ErrorKind::kIo);
  EXPECT_THAT(missing.second, HasSubstr("none.json: cannot read: no such file"));

  const std::string broken = WriteFile(dir, "broken.json", "{\"schema_version\": 1,");
  EXPECT_THAT(error_of(broken).second, HasSubstr("broken.json: expected JSON"));

  const std::string report = WriteFile(dir, "report.json", ReportToJson(SampleReport("fc")).dump());
  WriteFile(dir, "equalization_mapping.json", R"({"modules": [3]})");
  EXPECT_THAT(error_of(report).second,
              HasSubstr("equalization_mapping.json: expected every entry of \"modules\""));
  WriteFile(dir, "qconfig_mapping.json", R"({"global": {"weight": "sideways"}})");
  const auto qconfig = error_of(report);
  EXPECT_EQ(qconfig.first, ErrorKind::kInvalidArgument);
  EXPECT_THAT(qconfig.second, HasSubstr("qconfig_mapping.json: "));
}

// A large model: 200 layers of 256 channels, each followed by a BatchNorm and a ReLU that the
// outlier detector also reports on. The page must stay small enough to open at once.
Report LargeReport() {
  constexpr int kLayers = 200, kChannels = 256;
  uint32_t state = 12345;
  auto next = [&state] {  // a fixed pseudo-random sequence, so numbers have all their digits
    state = state * 1664525u + 1013904223u;
    return static_cast<double>(state >> 8) / static_cast<double>(1u << 24);
  };
  DetectorReport per_channel{"per_channel_detector", {}, {}, {}};
  DetectorReport dynamic{"dynamic_vs_static_detector", {}, {}, {}};
  DetectorReport equalization{"input_weight_equalization_detector", {}, {}, {}};
  DetectorReport outliers{"outlier_detector", {}, {}, {}};
  for (int l = 0; l < kLayers; ++l) {
    const std::string block = "blocks." + std::to_string(l);
    per_channel.findings.push_back(
        PerChannelFinding{block + ".conv", Backend::kX86, true, false, "default_qconfig", true});
    DynamicStaticFinding ds;
    ds.fqn = block + ".conv";
    ds.input_ratio = next();
    ds.output_ratio = next();
    dynamic.findings.push_back(ds);
    EqualizationFinding eq;
    eq.fqn = block + ".conv";
    for (int c = 0; c < kChannels; ++c) {
      eq.channel_recommended.push_back(next() > 0.5);
      eq.comparison.push_back(next() * 4);
      eq.input_channel_max.push_back(static_cast<float>(next() * 8));
      eq.input_channel_min.push_back(static_cast<float>(-next()));
      eq.weight_channel_max.push_back(static_cast<float>(next()));
      eq.weight_channel_min.push_back(static_cast<float>(-next()));
    }
    equalization.findings.push_back(eq);
    for (const char* part : {".conv", ".bn", ".relu"}) {
      OutlierFinding f;
      f.fqn = block + part;
      f.module_type = "torch.nn.modules.conv.Conv2d";
      for (int c = 0; c < kChannels; ++c) {
        f.ratios.push_back(1 + next() * 3);
        f.batches_used.push_back(32);
        f.outliers.push_back(next() > 0.95);
        f.sufficient_batches.push_back(true);
        f.constant_batches.push_back(0);
        f.channel_max.push_back(static_cast<float>(next() * 8));
        f.dead_channels.push_back(false);
        f.unbounded_batches.push_back(0);
      }
      f.total_batches = 32;
      outliers.findings.push_back(f);
    }
  }
  return Report{"large.pt", 32, {per_channel, dynamic, equalization, outliers}};
}

TEST(HtmlReportTest, TwoHundredLayersStaySmall) {
  const Report report = LargeReport();
  const std::string json = ReportToJson(report).dump(2);
  const std::string page = RenderHtmlReport({ReportToJson(report), {}, {}});
  RecordProperty("report_json_bytes", std::to_string(json.size()));
  RecordProperty("report_html_bytes", std::to_string(page.size()));
  std::cout << "200 layers, 600 modules, 256 channels: report.json " << json.size()
            << " bytes, report.html " << page.size() << " bytes\n";
  EXPECT_LT(page.size(), json.size() / 4);
  EXPECT_LT(page.size(), 6u << 20);
}

}  // namespace
}  // namespace qreport

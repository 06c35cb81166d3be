#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/detector.h"
#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FakeDetector : public Detector {
 public:
  std::string_view name() const override { return "fake_detector"; }
  std::vector<PointRequest> RequestObservers(const ModelDescription&) const override { return {}; }
  DetectorReport Analyze(const AnalysisContext&) const override {
    DetectorReport report;
    report.detector = "fake_detector";
    return report;
  }
};

TEST(DetectorRegistryTest, BuiltInNamesInOrder) {
  EXPECT_THAT(DetectorRegistry::BuiltIn().names(),
              ElementsAre("per_channel_detector", "dynamic_vs_static_detector",
                          "input_weight_equalization_detector", "outlier_detector"));
}

TEST(DetectorRegistryTest, CreatesByFullOrShortName) {
  const DetectorRegistry registry = DetectorRegistry::BuiltIn();
  const DetectorOptions options;
  for (const auto& [full, short_name] : std::vector<std::pair<std::string, std::string>>{
           {"per_channel_detector", "per_channel"},
           {"dynamic_vs_static_detector", "dynamic_static"},
           {"input_weight_equalization_detector", "input_weight_equalization"},
           {"outlier_detector", "outlier"}}) {
    EXPECT_EQ(registry.Create(full, options)->name(), full);
    EXPECT_EQ(registry.Create(short_name, options)->name(), full);
  }
}

TEST(DetectorRegistryTest, UnknownNameListsTheKnownOnes) {
  try {
    DetectorRegistry::BuiltIn().Create("outliers", {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr("unknown detector 'outliers'"));
    EXPECT_THAT(e.what(), HasSubstr("per_channel_detector (per_channel)"));
    EXPECT_THAT(e.what(), HasSubstr("outlier_detector (outlier)"));
  }
}

TEST(DetectorRegistryTest, PassesEachDetectorItsOptions) {
  DetectorOptions options;
  options.equalization.ratio_threshold = 2.0;
  const DetectorRegistry registry = DetectorRegistry::BuiltIn();
  EXPECT_NO_THROW(registry.Create("outlier", options));
  try {
    registry.Create("input_weight_equalization", options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("ratio threshold must be in (0, 1), got 2"));
  }
}

TEST(DetectorRegistryTest, HoldsAFakeAndRefusesDuplicates) {
  DetectorRegistry registry;
  registry.Add("fake_detector", "fake",
               [](const DetectorOptions&) { return std::make_unique<FakeDetector>(); });
  EXPECT_EQ(registry.Create("fake", {})->name(), "fake_detector");
  EXPECT_THAT(registry.names(), ElementsAre("fake_detector"));
  EXPECT_THROW(registry.Add("fake", "other", nullptr), Error);
  EXPECT_THROW(registry.Add("other", "fake_detector", nullptr), Error);
  try {
    DetectorRegistry().Create("x", {});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("known detectors: none"));
  }
}

}  // namespace
}  // namespace qreport

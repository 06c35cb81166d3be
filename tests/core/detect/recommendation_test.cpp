#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/report.h"

namespace qreport {
namespace {

using Json = nlohmann::ordered_json;

const QConfig kStatic{ActivationMode::kStatic, WeightScheme::kPerTensor};
const QConfig kStaticPc{ActivationMode::kStatic, WeightScheme::kPerChannel};
const QConfig kDynamic{ActivationMode::kDynamic, WeightScheme::kPerTensor};
const QConfig kDynamicPc{ActivationMode::kDynamic, WeightScheme::kPerChannel};

constexpr char kLinear[] = "torch.nn.modules.linear.Linear";
constexpr char kConv2d[] = "torch.nn.modules.conv.Conv2d";

LayerDescription Layer(std::string fqn, LayerKind kind, std::string type) {
  LayerDescription layer;
  layer.fqn = std::move(fqn);
  layer.weight_path = layer.fqn + ".weight";
  layer.kind = kind;
  layer.module_type = std::move(type);
  return layer;
}

// fc1 (Linear), conv (Conv2d), fc2 (Linear).
ModelDescription ThreeLayers() {
  ModelDescription model;
  model.path = "model.pt";
  model.layers = {Layer("fc1", LayerKind::kLinear, kLinear),
                  Layer("conv", LayerKind::kConv2d, kConv2d),
                  Layer("fc2", LayerKind::kLinear, kLinear)};
  return model;
}

ModuleAdvice Dynamic(std::string fqn, bool dynamic) {
  return {std::move(fqn), dynamic, std::nullopt, std::nullopt};
}
ModuleAdvice PerChannel(std::string fqn, bool per_channel) {
  return {std::move(fqn), std::nullopt, per_channel, std::nullopt};
}
ModuleAdvice Equalize(std::string fqn, bool equalize) {
  return {std::move(fqn), std::nullopt, std::nullopt, equalize};
}

DetectorReport AdviceOnly(std::string name, std::vector<ModuleAdvice> advice) {
  return {std::move(name), {}, std::move(advice), {}};
}

// The reference's flow: per-channel for every layer, dynamic where the output moves.
Report PerChannelAndDynamic() {
  Report report;
  report.detectors = {
      AdviceOnly("per_channel_detector",
                 {PerChannel("fc1", true), PerChannel("conv", true), PerChannel("fc2", true)}),
      AdviceOnly("dynamic_vs_static_detector",
                 {Dynamic("fc1", true), Dynamic("conv", true), Dynamic("fc2", false)}),
  };
  return report;
}

TEST(RecommendQConfigMappingTest, WithoutCurrentConfigurationStartsFromDefaultQConfig) {
  const ModelDescription model = ThreeLayers();
  const QConfigMapping mapping =
      RecommendQConfigMapping(model, PerChannelAndDynamic(), QConfigMapping());
  EXPECT_TRUE(mapping.has_global());
  EXPECT_EQ(mapping.global_qconfig(), DefaultQConfig());
  // Conv cannot be dynamically quantized (prepare_fx would leave it in float): static.
  EXPECT_EQ(
      mapping.module_names(),
      (QConfigMapping::Entries{{"fc1", kDynamicPc}, {"conv", kStaticPc}, {"fc2", kStaticPc}}));
}

TEST(RecommendQConfigMappingTest, UnchangedLayersGetNoEntry) {
  Report report;
  report.detectors = {
      AdviceOnly("dynamic_vs_static_detector", {Dynamic("fc1", true), Dynamic("fc2", false)})};
  const QConfigMapping mapping = RecommendQConfigMapping(ThreeLayers(), report, QConfigMapping());
  EXPECT_EQ(mapping.module_names(), (QConfigMapping::Entries{{"fc1", kDynamic}}));
  EXPECT_EQ(mapping.Resolve("fc2", kLinear), kStatic);
  EXPECT_EQ(mapping.Resolve("conv", kConv2d), kStatic);
}

TEST(RecommendQConfigMappingTest, AdviceOfSeveralDetectorsIsOred) {
  Report report;
  report.detectors = {
      AdviceOnly("a", {Dynamic("fc1", false), PerChannel("fc1", false)}),
      AdviceOnly("b", {Dynamic("fc1", true)}),
      AdviceOnly("c", {PerChannel("fc1", true), Dynamic("fc1", false)}),
  };
  const QConfigMapping mapping = RecommendQConfigMapping(ThreeLayers(), report, QConfigMapping());
  EXPECT_EQ(mapping.Resolve("fc1", kLinear), kDynamicPc);
}

TEST(RecommendQConfigMappingTest, KeepsTheUsersEntriesAndChangesOnlyWhatDiffers) {
  QConfigMapping current;
  current.SetGlobal(kStatic)
      .SetObjectType("torch.nn.Linear", kStaticPc)
      .SetModuleNameRegex("co.*", kStaticPc)
      .SetModuleName("fc2", kDynamicPc);
  const QConfigMapping mapping =
      RecommendQConfigMapping(ThreeLayers(), PerChannelAndDynamic(), current);
  EXPECT_EQ(mapping.global_qconfig(), kStatic);
  EXPECT_EQ(mapping.object_types(), current.object_types());
  EXPECT_EQ(mapping.module_name_regexes(), current.module_name_regexes());
  // fc1: per-channel already (object_type), dynamic is new. conv: already per-channel, and
  // dynamic is not valid for it: no entry. fc2: the detector says static; the user's entry
  // is replaced in place.
  EXPECT_EQ(mapping.module_names(),
            (QConfigMapping::Entries{{"fc2", kStaticPc}, {"fc1", kDynamicPc}}));
}

TEST(RecommendQConfigMappingTest, FloatLayersStayInFloat) {
  QConfigMapping current;
  current.SetModuleName("fc1", kStatic).SetModuleName("conv", kStatic);  // no global: fc2 float
  const QConfigMapping mapping =
      RecommendQConfigMapping(ThreeLayers(), PerChannelAndDynamic(), current);
  EXPECT_FALSE(mapping.has_global());
  EXPECT_EQ(mapping.Resolve("fc2", kLinear), std::nullopt);
  EXPECT_EQ(mapping.module_names(),
            (QConfigMapping::Entries{{"fc1", kDynamicPc}, {"conv", kStaticPc}}));
}

TEST(RecommendQConfigMappingTest, PerChannelOnlyWhereTheBackendSupportsIt) {
  // A per-channel detector for a backend without per-channel kernels: per-tensor, even when
  // the user asked for per-channel and another detector's advice says per-channel.
  Report report;
  PerChannelFinding unsupported;
  unsupported.fqn = "conv";
  unsupported.per_channel_supported = false;
  unsupported.per_channel_used = true;
  report.detectors = {{"per_channel_detector", {unsupported}, {PerChannel("fc1", true)}, {}},
                      AdviceOnly("other", {PerChannel("conv", true)})};
  QConfigMapping current;
  current.SetGlobal(kStaticPc);
  const QConfigMapping mapping = RecommendQConfigMapping(ThreeLayers(), report, current);
  EXPECT_EQ(mapping.module_names(), (QConfigMapping::Entries{{"conv", kStatic}}));
}

TEST(RecommendQConfigMappingTest, DynamicOnlyOnLinearEvenWhenTheUserAskedForIt) {
  QConfigMapping current;
  current.SetGlobal(kDynamic);
  const QConfigMapping mapping = RecommendQConfigMapping(ThreeLayers(), Report{}, current);
  EXPECT_EQ(mapping.module_names(), (QConfigMapping::Entries{{"conv", kStatic}}));
  EXPECT_EQ(mapping.Resolve("fc1", kLinear), kDynamic);
}

// An eager torch.nn.intrinsic.LinearReLU "head" whose layer is "head.0".
ModelDescription FusedLinearReluHead() {
  ModelDescription model;
  LayerDescription layer = Layer("head.0", LayerKind::kLinear, kLinear);
  layer.fused_parent_fqn = "head";
  layer.fused_parent_type = "torch.ao.nn.intrinsic.modules.fused.LinearReLU";
  model.layers = {layer};
  return model;
}

TEST(RecommendQConfigMappingTest, FusedLayersAreNamedAfterTheirContainer) {
  // An eager torch.nn.intrinsic.LinearReLU "head": the layer is "head.0", but prepare_fx
  // looks up "head" (reference B15).
  const ModelDescription model = FusedLinearReluHead();
  Report report;
  report.detectors = {AdviceOnly("per_channel_detector", {PerChannel("head.0", true)})};
  const QConfigMapping mapping = RecommendQConfigMapping(model, report, QConfigMapping());
  EXPECT_EQ(mapping.module_names(), (QConfigMapping::Entries{{"head", kStaticPc}}));
}

TEST(RecommendQConfigMappingTest, AParentsEntryDoesNotChangeItsChildren) {
  // "block" is a custom module owning a weight and also the parent of "block.fc".
  ModelDescription model;
  model.layers = {Layer("block", LayerKind::kConv2d, "models.Block"),
                  Layer("block.fc", LayerKind::kLinear, kLinear)};
  Report report;
  report.detectors = {AdviceOnly("per_channel_detector", {PerChannel("block", true)})};
  const QConfigMapping mapping = RecommendQConfigMapping(model, report, QConfigMapping());
  EXPECT_EQ(mapping.Resolve("block", "models.Block"), kStaticPc);
  EXPECT_EQ(mapping.Resolve("block.fc", kLinear), kStatic);
  EXPECT_EQ(mapping.module_names(),
            (QConfigMapping::Entries{{"block", kStaticPc}, {"block.fc", kStatic}}));
}

TEST(RecommendQConfigMappingTest, SeveralWeightsOfOneModuleShareOneEntry) {
  // A custom module with a functional linear and a functional conv: one name, one config;
  // dynamic is not valid for the conv, so not for the module.
  ModelDescription model;
  LayerDescription a = Layer("mix", LayerKind::kLinear, "models.Mix");
  LayerDescription b = Layer("mix", LayerKind::kConv2d, "models.Mix");
  b.weight_path = "mix.conv_weight";
  model.layers = {a, b};
  Report report;
  report.detectors = {AdviceOnly("d", {Dynamic("mix", true), PerChannel("mix", true)})};
  const QConfigMapping mapping = RecommendQConfigMapping(model, report, QConfigMapping());
  EXPECT_EQ(mapping.module_names(), (QConfigMapping::Entries{{"mix", kStaticPc}}));
}

TEST(RecommendQConfigMappingTest, AdviceForModulesThatAreNotLayersIsIgnored) {
  Report report;
  report.detectors = {AdviceOnly("d", {Dynamic("relu", true), PerChannel("bn", true)})};
  const QConfigMapping mapping = RecommendQConfigMapping(ThreeLayers(), report, QConfigMapping());
  EXPECT_TRUE(mapping.module_names().empty());
}

// --- equalization --------------------------------------------------------------------------

EqualizationFinding EqFinding(std::string fqn, std::vector<bool> channels, bool recommended) {
  EqualizationFinding f;
  f.fqn = std::move(fqn);
  f.channel_recommended = std::move(channels);
  f.recommended = recommended;
  return f;
}

TEST(RecommendEqualizationMappingTest, OnlyModulesWhereEqualizationIsRecommended) {
  Report report;
  report.detectors = {
      {"input_weight_equalization_detector",
       {EqFinding("fc1", {true, true, false}, true), EqFinding("conv", {false, false, true}, false),
        EqFinding("fc2", {true, false}, true)},
       {Equalize("fc1", true), Equalize("conv", false), Equalize("fc2", true)},
       {}}};
  EXPECT_EQ(RecommendEqualizationMapping(ThreeLayers(), report), Json::parse(R"({
      "schema_version": 1,
      "modules": [{"name": "fc1", "channels_recommended": 2, "channels": 3},
                  {"name": "fc2", "channels_recommended": 1, "channels": 2}]})"));
}

TEST(RecommendEqualizationMappingTest, NothingRecommendedMeansNoModules) {
  // The reference lists every module any detector reported on (B4); qreport none.
  Report report = PerChannelAndDynamic();
  report.detectors.push_back({"input_weight_equalization_detector",
                              {EqFinding("fc1", {false, false}, false)},
                              {Equalize("fc1", false)},
                              {}});
  EXPECT_EQ(RecommendEqualizationMapping(ThreeLayers(), report),
            Json::parse(R"({"schema_version": 1, "modules": []})"));
}

TEST(RecommendEqualizationMappingTest, AModuleWithAProblemIsNotRecommended) {
  EqualizationFinding f = EqFinding("fc1", {true}, true);
  f.problem = Problem{"constant input"};
  Report report;
  report.detectors = {{"input_weight_equalization_detector", {f}, {}, {}}};
  EXPECT_TRUE(RecommendEqualizationMapping(ThreeLayers(), report)["modules"].empty());
}

TEST(RecommendEqualizationMappingTest, UsesTheFusedContainersName) {
  const ModelDescription model = FusedLinearReluHead();
  Report report;
  report.detectors = {{"input_weight_equalization_detector",
                       {EqFinding("head.0", {true, true}, true)},
                       {Equalize("head.0", true)},
                       {}}};
  EXPECT_EQ(RecommendEqualizationMapping(model, report)["modules"],
            Json::parse(R"([{"name": "head", "channels_recommended": 2, "channels": 2}])"));
}

}  // namespace
}  // namespace qreport

#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/detect/detector.h"

namespace qreport {
namespace {

LayerDescription Layer(const std::string& fqn, LayerKind kind, const std::string& type) {
  LayerDescription layer;
  layer.fqn = fqn;
  layer.kind = kind;
  layer.module_type = type;
  return layer;
}

ModelDescription ThreeLayers() {
  ModelDescription model;
  model.layers = {Layer("conv", LayerKind::kConv2d, "torch.nn.modules.conv.Conv2d"),
                  Layer("fc1", LayerKind::kLinear, "torch.nn.modules.linear.Linear"),
                  Layer("fc2", LayerKind::kLinear, "torch.nn.modules.linear.Linear")};
  return model;
}

const PerChannelFinding& At(const DetectorReport& report, size_t i) {
  return std::get<PerChannelFinding>(report.findings.at(i));
}
// A finding of a temporary report would dangle.
const PerChannelFinding& At(DetectorReport&& report, size_t i) = delete;

DetectorReport AnalyzeWith(const ModelDescription& model, const QConfigMapping& current,
                           Backend backend = Backend::kOnednn) {
  PerChannelOptions options;
  options.backend = backend;
  const ObserverBank bank({"fp", "m.pt"}, {});
  return MakePerChannelDetector(options)->Analyze({model, bank, current});
}

TEST(PerChannelDetectorTest, NeedsNoObservers) {
  const auto detector = MakePerChannelDetector({});
  EXPECT_EQ(detector->name(), "per_channel_detector");
  EXPECT_TRUE(detector->RequestObservers(ThreeLayers()).empty());
}

// Without a configuration every layer gets default_qconfig: per-tensor weights, so every
// supported layer could switch (the reference's "can be configured to use per_channel").
TEST(PerChannelDetectorTest, DefaultQConfigUsesPerTensorWeights) {
  const DetectorReport report = AnalyzeWith(ThreeLayers(), QConfigMapping());
  EXPECT_EQ(report.detector, "per_channel_detector");
  ASSERT_EQ(report.findings.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const PerChannelFinding& f = At(report, i);
    EXPECT_EQ(f.backend, Backend::kOnednn);
    EXPECT_TRUE(f.per_channel_supported);
    EXPECT_FALSE(f.per_channel_used);
    EXPECT_TRUE(f.quantized);
    EXPECT_EQ(f.configuration_source, "default_qconfig");
  }
  EXPECT_EQ(At(report, 1).fqn, "fc1");
  ASSERT_EQ(report.advice.size(), 3u);
  EXPECT_EQ(report.advice[2].fqn, "fc2");
  EXPECT_EQ(report.advice[2].per_channel_weight, true);
  EXPECT_FALSE(report.advice[2].dynamic_activation.has_value());
  EXPECT_FALSE(report.advice[2].equalization.has_value());
}

// The reference's test_multiple_q_config_options: Conv2d per-channel by object type, the
// Linears per-tensor; plus one module left in float.
TEST(PerChannelDetectorTest, ReadsTheGivenConfiguration) {
  QConfigMapping current;
  current.SetGlobal(QConfig{});
  current.SetObjectType("torch.nn.Conv2d",
                        QConfig{ActivationMode::kStatic, WeightScheme::kPerChannel});
  current.SetModuleName("fc2", std::nullopt);
  const DetectorReport report = AnalyzeWith(ThreeLayers(), current, Backend::kQnnpack);
  EXPECT_TRUE(At(report, 0).per_channel_used);
  EXPECT_EQ(At(report, 0).configuration_source, "--qconfig");
  EXPECT_EQ(At(report, 0).backend, Backend::kQnnpack);
  EXPECT_FALSE(At(report, 1).per_channel_used);
  EXPECT_TRUE(At(report, 1).quantized);
  EXPECT_FALSE(At(report, 2).quantized) << "qconfig None: left in float";
  EXPECT_FALSE(At(report, 2).per_channel_used);
  EXPECT_TRUE(At(report, 2).per_channel_supported);
}

// Spec B1: a QAT model's own fake-quant decides, whatever the configuration says.
TEST(PerChannelDetectorTest, TheModelsFakeQuantWins) {
  ModelDescription model = ThreeLayers();
  model.weight_scheme_in_model = {WeightScheme::kPerChannel, WeightScheme::kPerTensor,
                                  std::nullopt};
  QConfigMapping current;
  current.SetGlobal(QConfig{ActivationMode::kStatic, WeightScheme::kPerChannel});
  const DetectorReport report = AnalyzeWith(model, current);
  EXPECT_TRUE(At(report, 0).per_channel_used);
  EXPECT_EQ(At(report, 0).configuration_source, "the model's fake-quant");
  EXPECT_FALSE(At(report, 1).per_channel_used);
  EXPECT_EQ(At(report, 1).configuration_source, "the model's fake-quant");
  EXPECT_TRUE(At(report, 2).per_channel_used);
  EXPECT_EQ(At(report, 2).configuration_source, "--qconfig");
}

TEST(PerChannelDetectorTest, EveryKindSupportedOnEveryBackend) {
  ModelDescription model;
  for (LayerKind kind :
       {LayerKind::kLinear, LayerKind::kConv1d, LayerKind::kConv2d, LayerKind::kConv3d}) {
    model.layers.push_back(Layer(ToString(kind), kind, ""));
  }
  for (Backend backend : {Backend::kFbgemm, Backend::kQnnpack, Backend::kOnednn, Backend::kX86}) {
    const DetectorReport report = AnalyzeWith(model, QConfigMapping(), backend);
    for (size_t i = 0; i < model.layers.size(); ++i) {
      EXPECT_TRUE(At(report, i).per_channel_supported) << ToString(backend) << " " << i;
    }
  }
}

TEST(PerChannelDetectorTest, BackendNames) {
  for (Backend backend : {Backend::kFbgemm, Backend::kQnnpack, Backend::kOnednn, Backend::kX86}) {
    EXPECT_EQ(BackendFromString(ToString(backend)), backend);
  }
  EXPECT_EQ(std::string(ToString(Backend::kX86)), "x86");
  EXPECT_FALSE(BackendFromString("none").has_value());
  EXPECT_FALSE(BackendFromString("FBGEMM").has_value());
}

TEST(PerChannelDetectorTest, FindLayerAndFqnOf) {
  const ModelDescription model = ThreeLayers();
  ASSERT_NE(model.FindLayer("fc1"), nullptr);
  EXPECT_EQ(model.FindLayer("fc1")->kind, LayerKind::kLinear);
  EXPECT_EQ(model.FindLayer("fc"), nullptr);
  OutlierFinding outlier;
  outlier.fqn = "block.relu";
  const Finding finding = outlier;
  EXPECT_EQ(FqnOf(finding), "block.relu");
}

}  // namespace
}  // namespace qreport

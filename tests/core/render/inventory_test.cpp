#include "qreport/core/render/inventory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qreport {
namespace {

using ::testing::HasSubstr;

LayerInventory SampleInventory() {
  LayerDescription conv;
  conv.fqn = "features.0";
  conv.weight_path = "features.0.weight";
  conv.kind = LayerKind::kConv2d;
  conv.module_type = "torch.nn.modules.conv.Conv2d";
  conv.weight_shape = {8, 3, 3, 3};
  conv.call_sites = {{"aten::conv2d", "model.py:12"}};
  conv.observation_points = {{ObservationPosition::kPre, "input of aten::conv2d", ""},
                             {ObservationPosition::kPost, "output of aten::relu_", "features.2"}};
  conv.fusion.batch_norm_fqn = "features.1";
  conv.fusion.relu = true;
  conv.fusion.relu_fqn = "features.2";

  LayerDescription fc;
  fc.fqn = "fc.0";
  fc.weight_path = "fc.0.weight";
  fc.kind = LayerKind::kLinear;
  fc.module_type = "torch.nn.modules.linear.Linear";
  fc.fused_parent_fqn = "fc";
  fc.fused_parent_type = "torch.ao.nn.intrinsic.modules.fused.LinearReLU";
  fc.weight_shape = {4, 8};
  fc.input_channel_axis = -1;
  fc.call_sites = {{"aten::linear", ""}, {"aten::linear", ""}};
  fc.observation_points = {{ObservationPosition::kPre, "input of aten::linear", ""},
                           {ObservationPosition::kPost, "output of aten::linear", ""}};

  LayerInventory inventory;
  inventory.model_path = "model.pt";
  inventory.layers = {conv, fc};
  inventory.unattributed = {
      {{"aten::linear", "model.py:30"}, "the weight is computed from the model's inputs"}};
  return inventory;
}

TEST(ShortTypeNameTest, DropsPrivatePackages) {
  EXPECT_EQ(ShortTypeName("torch.nn.modules.conv.Conv2d"), "nn.Conv2d");
  EXPECT_EQ(ShortTypeName("torch.ao.nn.qat.modules.linear.Linear"), "nn.qat.Linear");
  EXPECT_EQ(ShortTypeName("torch.nn.intrinsic.qat.modules.conv_fused.ConvBnReLU2d"),
            "nn.intrinsic.qat.ConvBnReLU2d");
  EXPECT_EQ(ShortTypeName("LegacyLinear"), "LegacyLinear");
}

TEST(FormatShapeTest, JoinsWithX) {
  EXPECT_EQ(FormatShape({64, 3, 7, 7}), "64x3x7x7");
  EXPECT_EQ(FormatShape({}), "");
}

TEST(InventoryTableTest, OneRowPerLayerAndASummary) {
  const std::string out = RenderInventoryTable(SampleInventory());
  EXPECT_THAT(out, HasSubstr("features.0  Conv2d  nn.Conv2d"));
  EXPECT_THAT(out, HasSubstr("8x3x3x3"));
  EXPECT_THAT(out, HasSubstr("input \u2192 relu (bn folded)"));
  EXPECT_THAT(out, HasSubstr("fc.0        Linear  nn.Linear in nn.intrinsic.LinearReLU"));
  EXPECT_THAT(out, HasSubstr("1 call(s) not attributed to a module"));
  EXPECT_THAT(out, HasSubstr("aten::linear at model.py:30: the weight is computed"));
  EXPECT_THAT(out, HasSubstr("2 quantizable layer(s): 1 Linear, 1 Conv2d; fusion on"));
}

TEST(InventoryJsonTest, CarriesEveryField) {
  const nlohmann::json json = InventoryToJson(SampleInventory());
  EXPECT_EQ(json["schema_version"], 1);
  EXPECT_EQ(json["model"], "model.pt");
  ASSERT_EQ(json["layers"].size(), 2u);
  const auto& conv = json["layers"][0];
  EXPECT_EQ(conv["fqn"], "features.0");
  EXPECT_EQ(conv["kind"], "Conv2d");
  EXPECT_EQ(conv["weight_shape"], nlohmann::json({8, 3, 3, 3}));
  EXPECT_EQ(conv["fusion"]["batch_norm"], "features.1");
  EXPECT_EQ(conv["fusion"]["relu_module"], "features.2");
  EXPECT_EQ(conv["observation_points"][1]["module"], "features.2");
  EXPECT_EQ(conv["fused_parent"], nullptr);
  const auto& fc = json["layers"][1];
  EXPECT_EQ(fc["fused_parent"]["fqn"], "fc");
  EXPECT_EQ(fc["input_channel_axis"], -1);
  EXPECT_EQ(fc["call_sites"].size(), 2u);
  EXPECT_EQ(fc["call_sites"][0]["location"], nullptr);
  EXPECT_EQ(fc["fusion"]["batch_norm"], nullptr);
  EXPECT_EQ(json["unattributed"][0]["reason"], "the weight is computed from the model's inputs");
}

}  // namespace
}  // namespace qreport

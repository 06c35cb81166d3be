#include "qreport/core/model/layer.h"

#include <gtest/gtest.h>

namespace qreport {
namespace {

TEST(LayerKindTest, NamesRoundTrip) {
  for (LayerKind kind :
       {LayerKind::kLinear, LayerKind::kConv1d, LayerKind::kConv2d, LayerKind::kConv3d}) {
    EXPECT_EQ(LayerKindFromString(ToString(kind)), kind);
  }
  EXPECT_EQ(LayerKindFromString("ConvTranspose2d"), std::nullopt);
}

TEST(LayerKindTest, SpatialDims) {
  EXPECT_EQ(SpatialDims(LayerKind::kLinear), 0);
  EXPECT_EQ(SpatialDims(LayerKind::kConv1d), 1);
  EXPECT_EQ(SpatialDims(LayerKind::kConv3d), 3);
}

TEST(FusionTest, EmptyAndEquality) {
  Fusion none;
  EXPECT_TRUE(none.empty());
  Fusion bn;
  bn.batch_norm_fqn = "bn";
  EXPECT_FALSE(bn.empty());
  EXPECT_FALSE(bn == none);
  Fusion bn2 = bn;
  EXPECT_TRUE(bn == bn2);
  bn2.relu = true;
  EXPECT_FALSE(bn == bn2);
}

TEST(EnumNamesTest, FamiliesAndPositions) {
  EXPECT_STREQ(ToString(ModuleFamily::kQat), "qat");
  EXPECT_STREQ(ToString(ModuleFamily::kQatFused), "qat_fused");
  EXPECT_STREQ(ToString(ObservationPosition::kPre), "pre");
  EXPECT_STREQ(ToString(ObservationPosition::kPost), "post");
}

}  // namespace
}  // namespace qreport

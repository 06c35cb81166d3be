#include "qreport/core/model/module_types.h"

#include <gtest/gtest.h>

namespace qreport {
namespace {

struct Case {
  const char* name;
  ModuleRole role;
  LayerKind kind;
  ModuleFamily family;
};

class ClassifyModuleTypeTest : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifyModuleTypeTest, Classifies) {
  const Case& c = GetParam();
  auto info = ClassifyModuleType(c.name);
  ASSERT_TRUE(info.has_value()) << c.name;
  EXPECT_EQ(info->role, c.role) << c.name;
  if (c.role == ModuleRole::kLayer || c.role == ModuleRole::kFusedContainer) {
    EXPECT_EQ(info->kind, c.kind) << c.name;
    EXPECT_EQ(info->family, c.family) << c.name;
  }
}

// Names as PyTorch 1.13 prints type(m).__module__ + "." + type(m).__qualname__, plus the
// older and newer package paths of the same classes.
INSTANTIATE_TEST_SUITE_P(
    Known, ClassifyModuleTypeTest,
    ::testing::Values(Case{"torch.nn.modules.linear.Linear", ModuleRole::kLayer, LayerKind::kLinear,
                           ModuleFamily::kFloat},
                      Case{"torch.nn.modules.linear.NonDynamicallyQuantizableLinear",
                           ModuleRole::kLayer, LayerKind::kLinear, ModuleFamily::kFloat},
                      Case{"torch.nn.modules.conv.Conv1d", ModuleRole::kLayer, LayerKind::kConv1d,
                           ModuleFamily::kFloat},
                      Case{"torch.nn.modules.conv.Conv3d", ModuleRole::kLayer, LayerKind::kConv3d,
                           ModuleFamily::kFloat},
                      Case{"torch.ao.nn.qat.modules.linear.Linear", ModuleRole::kLayer,
                           LayerKind::kLinear, ModuleFamily::kQat},
                      Case{"torch.nn.qat.modules.conv.Conv2d", ModuleRole::kLayer,
                           LayerKind::kConv2d, ModuleFamily::kQat},
                      Case{"torch.nn.intrinsic.qat.modules.conv_fused.ConvBnReLU2d",
                           ModuleRole::kLayer, LayerKind::kConv2d, ModuleFamily::kQatFused},
                      Case{"torch.ao.nn.intrinsic.qat.modules.linear_relu.LinearReLU",
                           ModuleRole::kLayer, LayerKind::kLinear, ModuleFamily::kQatFused},
                      Case{"torch.ao.nn.intrinsic.modules.fused.LinearReLU",
                           ModuleRole::kFusedContainer, LayerKind::kLinear, ModuleFamily::kFloat},
                      Case{"torch.nn.intrinsic.modules.fused.ConvBnReLU3d",
                           ModuleRole::kFusedContainer, LayerKind::kConv3d, ModuleFamily::kFloat},
                      Case{"torch.nn.modules.batchnorm.BatchNorm2d", ModuleRole::kBatchNorm,
                           LayerKind::kLinear, ModuleFamily::kFloat},
                      Case{"torch.nn.modules.activation.ReLU", ModuleRole::kReLU,
                           LayerKind::kLinear, ModuleFamily::kFloat}));

TEST(ClassifyModuleTypeTest, UnknownClassesAreNotClassified) {
  EXPECT_FALSE(ClassifyModuleType("torch.nn.modules.conv.ConvTranspose2d").has_value());
  EXPECT_FALSE(ClassifyModuleType("torch.nn.modules.activation.ReLU6").has_value());
  EXPECT_FALSE(ClassifyModuleType("mymodels.Linear").has_value());
  EXPECT_FALSE(ClassifyModuleType("Linear").has_value());
  EXPECT_FALSE(ClassifyModuleType("").has_value());
}

}  // namespace
}  // namespace qreport

#include "qreport/torchscript/weights.h"

#include <gtest/gtest.h>

#include "qreport/torchscript/layer_graph.h"
#include "torchscript/fixtures.h"

namespace qreport::torchscript {
namespace {

using qreport::testing::Expected;
using qreport::testing::FixturePath;

class FoldedWeightTest : public ::testing::TestWithParam<std::string> {};

// The folded weight equals the weight of the module fuse_fx builds in Python.
TEST_P(FoldedWeightTest, EqualsFuseFx) {
  const std::string name = GetParam();
  const nlohmann::json expected = Expected(name);
  const Model model = Model::Load(FixturePath(name + ".pt"));
  const LayerGraph graph = LayerGraph::Build(model);
  int checked = 0;
  for (const auto& want : expected["layers"]) {
    if (want["folded_weight"].is_null()) continue;
    const LayerDescription* layer = graph.Find(want["fqn"].get<std::string>());
    ASSERT_NE(layer, nullptr);
    const at::Tensor weight = AnalysedWeight(model, *layer).flatten();
    const auto values = want["folded_weight"].get<std::vector<float>>();
    ASSERT_EQ(weight.numel(), static_cast<int64_t>(values.size()));
    const float* data = weight.data_ptr<float>();
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_NEAR(data[i], values[i], 1e-6f + 1e-6f * std::abs(values[i])) << i;
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FoldedWeightTest,
                         ::testing::Values("conv_bn_relu", "conv_bn_relu_traced"));

TEST(AnalysedWeightTest, WithoutFusionIsTheParameter) {
  const Model model = Model::Load(FixturePath("conv_bn_relu.pt"));
  const LayerGraph graph = LayerGraph::Build(model, LayerGraphOptions{/*fusion=*/false});
  const LayerDescription* conv = graph.Find("conv1");
  ASSERT_NE(conv, nullptr);
  const at::Tensor param = model.module().attr("conv1").toModule().attr("weight").toTensor();
  const at::Tensor weight = AnalysedWeight(model, *conv);
  EXPECT_TRUE(weight.equal(param));
  // Read only: sharing the parameter spares a copy of every weight of the model.
  EXPECT_EQ(weight.data_ptr(), param.data_ptr()) << "an unfolded float32 weight is not copied";
}

}  // namespace
}  // namespace qreport::torchscript

#include "qreport/torchscript/layer_graph.h"

#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "torchscript/fixtures.h"

namespace qreport::torchscript {
namespace {

using qreport::testing::Expected;
using qreport::testing::FixturePath;

// Python names classes of a script run as __main__ "__main__.X"; TorchScript has no such
// module, so such names are compared without it.
std::string WithoutMain(const std::string& name) {
  const std::string prefix = "__main__.";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

class LayerGraphFixtureTest : public ::testing::TestWithParam<std::string> {};

// The layer set, names, kinds and shapes equal what Python's named_modules() says, in model
// order; call counts and fusion equal what forward hooks and fuse_fx say.
TEST_P(LayerGraphFixtureTest, MatchesPython) {
  const std::string name = GetParam();
  const nlohmann::json expected = Expected(name);
  const Model model = Model::Load(FixturePath(name + ".pt"));
  const LayerGraph graph = LayerGraph::Build(model);

  std::vector<std::string> expected_fqns, actual_fqns;
  for (const auto& layer : expected["layers"]) expected_fqns.push_back(layer["weight"]);
  for (const auto& layer : graph.layers()) actual_fqns.push_back(layer.weight_path);
  ASSERT_EQ(actual_fqns, expected_fqns);

  for (size_t i = 0; i < graph.layers().size(); ++i) {
    const LayerDescription& actual = graph.layers()[i];
    const nlohmann::json& want = expected["layers"][i];
    SCOPED_TRACE(actual.weight_path);
    EXPECT_EQ(actual.fqn, want["fqn"].get<std::string>());
    EXPECT_EQ(ToString(actual.kind), want["kind"].get<std::string>());
    EXPECT_EQ(actual.module_type, WithoutMain(want["module_type"].get<std::string>()));
    EXPECT_EQ(actual.weight_shape, want["weight_shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(actual.groups, want["groups"].get<int64_t>());
    if (!want["call_sites"].is_null()) {
      EXPECT_EQ(actual.call_sites.size(), want["call_sites"].get<size_t>());
    }
    if (!want["fusion"].is_null()) {
      const auto& bn = want["fusion"]["batch_norm"];
      EXPECT_EQ(actual.fusion.batch_norm_fqn, bn.is_null() ? "" : bn.get<std::string>());
      EXPECT_EQ(actual.fusion.relu, want["fusion"]["relu"].get<bool>());
    }
    ASSERT_EQ(actual.observation_points.size(), 2u);
    EXPECT_EQ(actual.observation_points[0].position, ObservationPosition::kPre);
    EXPECT_EQ(actual.observation_points[1].position, ObservationPosition::kPost);
    EXPECT_EQ(actual.input_channel_axis, actual.kind == LayerKind::kLinear ? -1 : 1);
  }
  EXPECT_EQ(graph.unattributed().size(), expected["unattributed"].get<size_t>());

  // Leaf modules: those forward-pre hooks see called, with as many tensor inputs, in order.
  // Only modules whose forward computes nothing (Identity; Dropout in a trace) leave no code
  // in the graph and cannot be found.
  if (expected["leaf_modules"].is_null()) return;
  std::vector<std::string> expected_leaves, actual_leaves;
  for (const auto& leaf : expected["leaf_modules"]) {
    const std::string type = leaf["module_type"];
    const bool computes_nothing = type.find(".Identity") != std::string::npos ||
                                  (expected["mode"].get<std::string>().rfind("trace", 0) == 0 &&
                                   type.find(".Dropout") != std::string::npos);
    if (computes_nothing) continue;
    // A BatchNorm folded at every call is marked with its layer (absent: not known).
    const std::string folded = leaf.value("folded_into", "");
    expected_leaves.push_back(leaf["fqn"].get<std::string>() + " " +
                              std::to_string(leaf["tensor_inputs"].get<int>()) +
                              (folded.empty() ? "" : " folded into " + folded));
  }
  const bool folding_known =
      expected["leaf_modules"].empty() || expected["leaf_modules"].front().contains("folded_into");
  for (const LeafModule& leaf : graph.leaf_modules()) {
    const bool folded = folding_known && !leaf.folded_into.empty();
    actual_leaves.push_back(leaf.fqn + " " + std::to_string(leaf.tensor_inputs) +
                            (folded ? " folded into " + leaf.folded_into : ""));
  }
  EXPECT_EQ(actual_leaves, expected_leaves);
}

// The fixtures whose layers Python's expectations describe in full.
std::vector<std::string> ComparedFixtures() {
  return {"mlp",
          "mlp_traced",
          "nested_cnn",
          "nested_cnn_traced",
          "conv_dims",
          "called_twice",
          "functional_linear",
          "old_linear_forms",
          "conv_bn_relu",
          "shared_bn",
          "conv_bn_relu_traced",
          "linear_relu",
          "qat_prepared",
          "fused_intrinsic",
          "fused_qat",
          "fused_qat_bn_traced",
          "resnet18",
          "resnet18_traced",
          "mobilenet_v2",
          "transformer_encoder",
          "transformer_encoder_traced",
          "encoder_layer_variants",
          "no_quantizable",
          "multi_input",
          "clamp_chain",
          "attention_fast_path_traced",
          "wide_attention_traced",
          "vit_b_16_traced",
          "attention_scripted",
          "wide_attention_scripted"};
}

// Those, and the ones whose weights a layer graph cannot all analyse.
std::vector<std::string> AllModelFixtures() {
  std::vector<std::string> names = ComparedFixtures();
  names.insert(names.end(), {"max_pools", "spare_layer", "einsum_weight"});
  return names;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LayerGraphFixtureTest, ::testing::ValuesIn(ComparedFixtures()),
                         [](const auto& info) { return info.param; });

class WeightAccountingTest : public ::testing::TestWithParam<std::string> {};

// Never a silent omission: the weight of every module Python calls a Linear/Conv is either an
// analysed layer's or listed as not analysed, with a reason.
TEST_P(WeightAccountingTest, EveryLinearConvWeightIsALayerOrListed) {
  const std::string name = GetParam();
  const nlohmann::json expected = Expected(name);
  const LayerGraph graph = LayerGraph::Build(Model::Load(FixturePath(name + ".pt")));
  std::set<std::string> accounted;
  for (const LayerDescription& layer : graph.layers()) accounted.insert(layer.weight_path);
  for (const UnanalysedWeight& weight : graph.unanalysed()) {
    EXPECT_FALSE(weight.reason.empty()) << weight.weight_path;
    EXPECT_TRUE(accounted.insert(weight.weight_path).second)
        << weight.weight_path << " is a layer and listed as not analysed";
  }
  for (const auto& layer : expected["layers"]) {
    EXPECT_TRUE(accounted.count(layer["weight"].get<std::string>()))
        << layer["weight"] << " is neither a layer nor listed";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, WeightAccountingTest, ::testing::ValuesIn(AllModelFixtures()),
                         [](const auto& info) { return info.param; });

TEST(LayerGraphTest, AnUnusedLayerIsListed) {
  const LayerGraph graph = LayerGraph::Build(Model::Load(FixturePath("spare_layer.pt")));
  ASSERT_EQ(graph.unanalysed().size(), 1u);
  EXPECT_EQ(graph.unanalysed()[0].weight_path, "spare.weight");
  EXPECT_EQ(graph.unanalysed()[0].fqn, "spare");
  EXPECT_EQ(graph.unanalysed()[0].reason, "no use of it found in forward's graph");
}

// A weight an op other than a linear or conv call reads is named with that op.
TEST(LayerGraphTest, AWeightOtherOpsReadIsListedWithTheOp) {
  const LayerGraph graph = LayerGraph::Build(Model::Load(FixturePath("einsum_weight.pt")));
  ASSERT_EQ(graph.layers().size(), 1u);
  EXPECT_EQ(graph.layers()[0].fqn, "fc");
  ASSERT_EQ(graph.unanalysed().size(), 1u);
  EXPECT_EQ(graph.unanalysed()[0].weight_path, "proj.weight");
  EXPECT_EQ(graph.unanalysed()[0].reason, "used by aten::einsum, not by a linear or conv call");
}

// A MultiheadAttention traced on its fast path is one aten::_native_multi_head_attention;
// taken apart, both projections are layers, called once each, and the in projection's
// output is observed after its bias, as a Linear's is.
TEST(LayerGraphTest, AFusedAttentionsProjectionsAreLayers) {
  const LayerGraph graph =
      LayerGraph::Build(Model::Load(FixturePath("attention_fast_path_traced.pt")));
  ASSERT_EQ(graph.layers().size(), 3u);
  EXPECT_EQ(graph.layers()[0].weight_path, "attn.in_proj_weight");
  EXPECT_EQ(graph.layers()[1].weight_path, "attn.out_proj.weight");
  EXPECT_EQ(graph.layers()[2].weight_path, "fc.weight");
  for (const LayerDescription& layer : graph.layers()) {
    EXPECT_EQ(layer.call_sites.size(), 1u) << layer.fqn;
  }
  EXPECT_TRUE(graph.unanalysed().empty());
}

TEST(LayerGraphTest, NoFusionObservesRawOutputs) {
  const Model model = Model::Load(FixturePath("conv_bn_relu.pt"));
  const LayerGraph fused = LayerGraph::Build(model);
  const LayerGraph raw = LayerGraph::Build(model, LayerGraphOptions{/*fusion=*/false});
  ASSERT_EQ(fused.layers().size(), raw.layers().size());
  EXPECT_FALSE(fused.layers()[0].fusion.empty());
  for (const auto& layer : raw.layers()) {
    EXPECT_TRUE(layer.fusion.empty()) << layer.fqn;
    EXPECT_EQ(layer.observation_points[1].value, "output of " + layer.call_sites[0].op);
    EXPECT_EQ(layer.observation_points[1].producer_fqn, "");
  }
}

TEST(LayerGraphTest, FusedPostPointIsAfterTheReluModule) {
  const Model model = Model::Load(FixturePath("conv_bn_relu.pt"));
  const LayerGraph graph = LayerGraph::Build(model);
  const LayerDescription* conv1 = graph.Find("conv1");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(conv1->fusion.relu_fqn, "relu1");
  EXPECT_EQ(conv1->observation_points[1].producer_fqn, "relu1");
  EXPECT_THAT(conv1->observation_points[1].value, ::testing::StartsWith("output of aten::relu"));
  EXPECT_DOUBLE_EQ(conv1->fusion.batch_norm_eps, 1e-5);
}

TEST(LayerGraphTest, FusedIntrinsicInnerLayerKnowsItsContainer) {
  const Model model = Model::Load(FixturePath("fused_intrinsic.pt"));
  const LayerGraph graph = LayerGraph::Build(model);
  const LayerDescription* fc = graph.Find("fc.0");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(fc->fused_parent_fqn, "fc");
  EXPECT_THAT(fc->fused_parent_type, ::testing::EndsWith("intrinsic.modules.fused.LinearReLU"));
  EXPECT_TRUE(fc->fusion.relu);
}

TEST(LayerGraphTest, QatModulesAreRecognised) {
  const Model model = Model::Load(FixturePath("qat_prepared.pt"));
  const LayerGraph graph = LayerGraph::Build(model);
  ASSERT_FALSE(graph.layers().empty());
  for (const auto& layer : graph.layers()) EXPECT_EQ(layer.family, ModuleFamily::kQat);
}

TEST(LayerGraphTest, UnattributedCallsSayWhy) {
  const Model model = Model::Load(FixturePath("functional_linear.pt"));
  const LayerGraph graph = LayerGraph::Build(model);
  ASSERT_EQ(graph.unattributed().size(), 1u);
  EXPECT_EQ(graph.unattributed()[0].site.op, "aten::linear");
  EXPECT_THAT(graph.unattributed()[0].reason, ::testing::HasSubstr("model's inputs"));
  EXPECT_EQ(graph.layers()[0].family, ModuleFamily::kCustom);
}

TEST(LayerGraphTest, CallSitesHaveSourceLocations) {
  const Model model = Model::Load(FixturePath("called_twice.pt"));
  const LayerGraph graph = LayerGraph::Build(model);
  ASSERT_EQ(graph.layers().size(), 1u);
  for (const CallSite& site : graph.layers()[0].call_sites) {
    EXPECT_EQ(site.op, "aten::linear");
    EXPECT_THAT(site.location, ::testing::MatchesRegex(".+:[0-9]+"));
  }
}

TEST(LayerGraphTest, LeavesTheModelUntouched) {
  const Model model = Model::Load(FixturePath("resnet18.pt"));
  const std::string before = model.module().get_method("forward").graph()->toString();
  std::vector<at::Tensor> params_before;
  for (const auto& p : model.module().parameters()) params_before.push_back(p.clone());
  (void)LayerGraph::Build(model);
  EXPECT_EQ(model.module().get_method("forward").graph()->toString(), before);
  size_t i = 0;
  for (const auto& p : model.module().parameters()) EXPECT_TRUE(p.equal(params_before[i++]));
}

}  // namespace
}  // namespace qreport::torchscript

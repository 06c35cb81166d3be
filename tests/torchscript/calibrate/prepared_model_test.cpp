#include "qreport/torchscript/prepared_model.h"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/csrc/jit/runtime/graph_iterator.h>
#include <torch/version.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include "qreport/core/error.h"
#include "qreport/torchscript/calibrate.h"
#include "qreport/torchscript/calibration_data.h"
#include "testing/json_near.h"
#include "torchscript/fixtures.h"

namespace qreport::torchscript {
namespace {

using qreport::testing::Expected;
using qreport::testing::FixturePath;
using qreport::testing::JsonNear;

// Random inputs of the shapes the fixture was exported with.
std::vector<c10::IValue> ExampleInputs(const std::string& name, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<c10::IValue> inputs;
  const nlohmann::json expected = Expected(name);
  for (const auto& input : expected["inputs"]) {
    inputs.emplace_back(torch::randn(input["shape"].get<std::vector<int64_t>>()));
  }
  return inputs;
}

int CountCalls(const torch::jit::Module& module, const std::string& method) {
  const std::string text = module.get_method("forward").graph()->toString();
  const std::string call = "name=\"" + method + "\"";
  int count = 0;
  for (auto at = text.find(call); at != std::string::npos; at = text.find(call, at + 1)) {
    ++count;
  }
  return count;
}

int CountObserveCalls(const torch::jit::Module& module) { return CountCalls(module, "observe"); }

int CountNodes(const torch::jit::Module& module, const char* kind) {
  const c10::Symbol symbol = c10::Symbol::fromQualString(kind);
  int count = 0;
  std::shared_ptr<torch::jit::Graph> graph = module.get_method("forward").graph();
  torch::jit::DepthFirstGraphNodeIterator nodes(graph);
  for (const torch::jit::Node* node = nodes.next(); node != nullptr; node = nodes.next()) {
    count += node->kind() == symbol ? 1 : 0;
  }
  return count;
}

class PreparedModelFixtureTest : public ::testing::TestWithParam<std::string> {};

// Observers are side taps: the prepared clone computes what the original computes, bit for
// bit, and the original's graph and parameters are left exactly as they were.
TEST_P(PreparedModelFixtureTest, IdenticalOutputsAndUntouchedOriginal) {
  const std::string name = GetParam();
  const Model model = Model::Load(FixturePath(name + ".pt"));
  const std::string graph_before = model.module().get_method("forward").graph()->toString();
  std::vector<at::Tensor> params_before;
  for (const auto& p : model.module().parameters()) params_before.push_back(p.clone());

  PreparedModel prepared = PreparedModel::Prepare(model, {});
  for (uint64_t seed : {1, 2}) {
    const auto inputs = ExampleInputs(name, seed);
    // Plain inference, without grad: what calibrating must not change, the fused
    // transformer kernels included.
    torch::jit::Module original = model.module();  // a handle: forward is not const
    at::Tensor want;
    {
      torch::NoGradGuard no_grad;
      want = original.forward(inputs).toTensor();
    }
    const at::Tensor got = prepared.Forward(inputs).toTensor();
    EXPECT_TRUE(got.equal(want)) << "outputs differ for seed " << seed;
  }
  EXPECT_EQ(prepared.bank().batches(), 2);
  EXPECT_EQ(prepared.bank().size(), 2 * prepared.layers().size());

  EXPECT_EQ(model.module().get_method("forward").graph()->toString(), graph_before);
  EXPECT_FALSE(model.module().hasattr("_qreport_tap"));
  size_t i = 0;
  for (const auto& p : model.module().parameters()) {
    EXPECT_TRUE(p.equal(params_before[i++])) << "parameter " << i - 1 << " changed";
  }
  for (size_t slot = 0; slot < prepared.bank().size(); ++slot) {
    EXPECT_GE(prepared.bank().state(slot).num_batches(), 2) << ToString(prepared.bank().key(slot));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, PreparedModelFixtureTest,
    ::testing::Values("mlp", "mlp_traced", "conv_bn_relu", "conv_bn_relu_traced", "nested_cnn",
                      "resnet18", "mobilenet_v2", "transformer_encoder",
                      "transformer_encoder_traced", "multi_input", "old_linear_forms",
                      "linear_relu", "max_pools", "encoder_layer_variants",
                      "attention_fast_path_traced", "wide_attention_traced", "vit_b_16_traced",
                      "attention_scripted", "wide_attention_scripted", "weights_asked_scripted"),
    [](const auto& info) { return info.param; });

// The observer before the first layer sees exactly the model's input.
// forward(images: List[Tensor]) -> (dict, list of dicts, None), the shape of torchvision's
// detection models: each image of a batch passes every layer, and calibration takes whatever
// structure forward returns.
TEST(PreparedModelTest, ListsOfImagesInStructuredOutputsOut) {
  const Model model = Model::Load(FixturePath("image_list.pt"));
  PreparedModel prepared = PreparedModel::Prepare(model, {});
  SyntheticOptions options;
  options.input_shapes = {{3, 3, 8, 8}};
  options.batches = 2;
  options.arguments = ForwardArguments(model.module());
  auto data = SyntheticData(options);
  EXPECT_EQ(Calibrate(prepared, *data, {}).total(), 2);
  EXPECT_EQ(prepared.bank().batches(), 2);
  ASSERT_EQ(prepared.layers().size(), 2u);
  ASSERT_GT(prepared.bank().size(), 0u);
  for (size_t slot = 0; slot < prepared.bank().size(); ++slot) {
    // Three images a batch, each through conv and fc once.
    EXPECT_EQ(prepared.bank().state(slot).num_batches(), 6) << ToString(prepared.bank().key(slot));
  }

  auto batch = SyntheticData(options)->Next();
  ASSERT_TRUE(batch.has_value());
  const c10::IValue output = prepared.Forward(std::move(*batch));
  ASSERT_TRUE(output.isTuple());
  const auto& items = output.toTupleRef().elements();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_TRUE(items[0].isGenericDict());
  ASSERT_TRUE(items[1].isList());
  EXPECT_EQ(items[1].toListRef().size(), 3u);
  EXPECT_TRUE(items[2].isNone());
}

TEST(PreparedModelTest, PreObserverSeesTheInput) {
  const Model model = Model::Load(FixturePath("mlp.pt"));
  PreparedModel prepared = PreparedModel::Prepare(model, {});
  ObserverOptions options;
  options.channel_axis = -1;
  ObserverState direct(options);
  for (uint64_t seed : {3, 4, 5}) {
    auto inputs = ExampleInputs("mlp", seed);
    at::Tensor keep;
    direct.Update(ViewOf(inputs[0].toTensor(), keep));
    prepared.Forward(inputs);
  }
  const std::string first = prepared.layers().front().fqn;
  const ObserverState* observed = prepared.bank().Find({first, ObservationPosition::kPre});
  ASSERT_NE(observed, nullptr);
  EXPECT_EQ(observed->ToJson(), direct.ToJson());
}

// One observer serves every call site of a module.
TEST(PreparedModelTest, ModuleCalledTwiceFeedsOneObserverTwice) {
  const Model model = Model::Load(FixturePath("called_twice.pt"));
  PreparedModel prepared = PreparedModel::Prepare(model, {});
  ASSERT_EQ(prepared.bank().size(), 2u);
  EXPECT_EQ(CountObserveCalls(prepared.module()), 4);
  prepared.Forward(ExampleInputs("called_twice", 1));
  EXPECT_EQ(prepared.bank().state(0).num_batches(), 2);
  EXPECT_EQ(prepared.bank().state(1).num_batches(), 2);
}

TEST(PreparedModelTest, OnlyRequestedPointsAreObserved) {
  const Model model = Model::Load(FixturePath("resnet18.pt"));
  ObserverOptions range;
  range.statistics = kRangeStatistics;
  ObserverOptions minmax;
  minmax.statistics = kChannelMinMaxStatistics;
  PrepareOptions options;
  options.points = {{{"fc", ObservationPosition::kPre}, range},
                    {{"fc", ObservationPosition::kPre}, minmax},
                    {{"conv1", ObservationPosition::kPost}, range}};
  PreparedModel prepared = PreparedModel::Prepare(model, options);
  ASSERT_EQ(prepared.bank().size(), 2u) << "two requests for one point share an observer";
  EXPECT_EQ(prepared.bank().state(0).options().statistics,
            kRangeStatistics | kChannelMinMaxStatistics);
  EXPECT_EQ(CountObserveCalls(prepared.module()), 2);
}

// Runs two batches of `fixture` through both models and expects the observer of `key` in
// `shared` (which shares it with other points) to hold what `alone`'s own observer holds.
// Returns it (null after a failure).
const ObserverState* ExpectSameAsAlone(const std::string& fixture, PreparedModel& shared,
                                       PreparedModel& alone, const PointKey& key) {
  for (uint64_t seed : {1, 2}) {
    const auto inputs = ExampleInputs(fixture, seed);
    shared.Forward(inputs);
    alone.Forward(inputs);
  }
  const ObserverState* observed = shared.bank().Find(key);
  const ObserverState* own = alone.bank().Find(key);
  EXPECT_TRUE(observed != nullptr && own != nullptr) << ToString(key);
  if (observed == nullptr || own == nullptr) return nullptr;
  EXPECT_EQ(observed->num_batches(), 2);
  EXPECT_EQ(observed->ToJson(), own->ToJson()) << ToString(key);
  return observed;
}

// A fused layer output that is the next layer's input is observed once; the second point
// mirrors the first and holds what an observer of its own would have computed.
TEST(PreparedModelTest, PointsOnTheSameValueShareTheWork) {
  const Model model = Model::Load(FixturePath("resnet18.pt"));
  PreparedModel all = PreparedModel::Prepare(model, {});
  const PointKey follower{"layer1.0.conv2", ObservationPosition::kPre};
  PrepareOptions alone_options;
  alone_options.points = {{follower, ObserverOptions{}}};
  PreparedModel alone = PreparedModel::Prepare(model, alone_options);

  // Observe calls: one per leader point and call site; 21 layers called once each.
  const int calls = CountObserveCalls(all.module());
  EXPECT_LT(calls, 42) << "some points should be mirrored";
  EXPECT_GE(calls, 42 - 11);
  const ObserverState* mirrored = ExpectSameAsAlone("resnet18", all, alone, follower);
  ASSERT_NE(mirrored, nullptr);
  const ObserverState* leader =
      all.bank().Find(PointKey{"layer1.0.conv1", ObservationPosition::kPost});
  ASSERT_NE(leader, nullptr);
  EXPECT_EQ(leader->ToJson(), mirrored->ToJson());
}

// In eval mode a dropout returns its input itself: nn.TransformerEncoderLayer's linear2 reads
// dropout(relu(linear1(x))), the very tensor linear1's fused output point sees, so the two
// points share one observer, which holds what an observer of its own would have computed.
TEST(PreparedModelTest, EvalDropoutOutputSharesItsInputsObserver) {
  const Model model = Model::Load(FixturePath("transformer_encoder.pt"));
  const PointKey linear1_out{"layers.0.linear1", ObservationPosition::kPost};
  const PointKey linear2_in{"layers.0.linear2", ObservationPosition::kPre};
  ObserverOptions range, channels;
  range.statistics = kRangeStatistics;
  channels.statistics = kRangeStatistics | kChannelMinMaxStatistics;
  channels.channel_axis = -1;
  PrepareOptions pair_options;
  pair_options.points = {{linear1_out, range}, {linear2_in, channels}};
  PreparedModel pair = PreparedModel::Prepare(model, pair_options);
  PrepareOptions alone_options;
  alone_options.points = {{linear2_in, channels}};
  PreparedModel alone = PreparedModel::Prepare(model, alone_options);
  // One tap for each place linear2 is called from (the layer-by-layer path and the unfused
  // fast path) serves both points.
  EXPECT_EQ(CountObserveCalls(pair.module()), CountObserveCalls(alone.module()));
  EXPECT_EQ(CountObserveCalls(alone.module()), 2);
  ExpectSameAsAlone("transformer_encoder", pair, alone, linear2_in);
}

// How often each operator ran during `run`, from the profiler's trace.
std::map<std::string, int> OperatorsRun(const std::function<void()>& run) {
  std::ostringstream trace;
  {
    torch::autograd::profiler::RecordProfile profile(trace);
    run();
  }
  std::map<std::string, int> counts;
  for (const auto& event : nlohmann::json::parse(trace.str())) {
    if (event.value("ph", "") == "X") ++counts[event.value("name", "")];
  }
  return counts;
}

// PyTorch runs an eval nn.TransformerEncoderLayer without grad as one fused kernel, which
// calls no Linear layer. The prepared clone runs that kernel's own parts instead, with the
// layer's four projections as aten::linear calls its observers read: every point is fed,
// and the slow layer-by-layer path (which transposes q, k and v) does not run. A trace made
// for inference holds nothing but the fused kernel and is observed the same way.
TEST(PreparedModelTest, EncoderLayersRunTheFastPathsKernelsWithTheirLinearsObserved) {
  struct Case {
    std::string fixture;
    int encoder_layers;
    int masked;  // layers given a key padding mask
  };
  for (const Case& c : {Case{"transformer_encoder", 2, 0}, Case{"transformer_encoder_traced", 2, 0},
                        Case{"encoder_layer_variants", 3, 2}}) {
    SCOPED_TRACE(c.fixture);
    const Model model = Model::Load(FixturePath(c.fixture + ".pt"));
    PreparedModel prepared = PreparedModel::Prepare(model, {});
    ASSERT_EQ(prepared.layers().size(), 4u * c.encoder_layers);
    const auto inputs = ExampleInputs(c.fixture, 1);
    std::map<std::string, int> ran = OperatorsRun([&] { prepared.Forward(inputs); });
    EXPECT_EQ(ran["aten::_transformer_encoder_layer_fwd"], 0);
    EXPECT_EQ(ran["aten::_transform_bias_rescale_qkv"], c.encoder_layers);
    EXPECT_EQ(ran["aten::_masked_softmax"], c.masked);
    EXPECT_EQ(ran["aten::linear"], 4 * c.encoder_layers) << "four a layer, on one path only";
    for (size_t slot = 0; slot < prepared.bank().size(); ++slot) {
      EXPECT_EQ(prepared.bank().state(slot).num_batches(), 1)
          << ToString(prepared.bank().key(slot));
    }
  }
}

// Both paths compute the same projections: statistics gathered on the unfused fast path
// match those the layer-by-layer path gives (taken here by running the prepared clone with
// grad enabled, which sends the layers' guards down that path). In LibTorch 1.x that path is
// made of the fused kernel's own parts, so the two agree bit for bit. From 2.0 on it runs
// scaled_dot_product_attention, whose CPU kernel sums in another order, so from the first
// attention output on they agree to float rounding; ratio_sum divides by percentiles near zero
// and amplifies that rounding, hence the loose bound.
TEST(PreparedModelTest, UnfusedEncoderLayerObservesWhatTheLayerByLayerPathDoes) {
  const double tolerance = TORCH_VERSION_MAJOR >= 2 ? 1e-3 : 0.0;
  const Model model = Model::Load(FixturePath("transformer_encoder.pt"));
  PreparedModel fast = PreparedModel::Prepare(model, {});
  PreparedModel slow = PreparedModel::Prepare(model, {});
  for (uint64_t seed : {1, 2}) {
    const auto inputs = ExampleInputs("transformer_encoder", seed);
    fast.Forward(inputs);
    torch::jit::Module module = slow.module();
    std::map<std::string, int> ran = OperatorsRun([&] { module.forward(inputs); });
    ASSERT_EQ(ran["aten::_transform_bias_rescale_qkv"], 0) << "the slow path ran";
  }
  ASSERT_EQ(fast.bank().size(), slow.bank().size());
  for (size_t slot = 0; slot < fast.bank().size(); ++slot) {
    EXPECT_TRUE(
        JsonNear(fast.bank().state(slot).ToJson(), slow.bank().state(slot).ToJson(), tolerance))
        << ToString(fast.bank().key(slot));
  }
}

// A MultiheadAttention's fast path is one fused op, taken apart in the prepared clone: traced
// (the op alone) and scripted (the op behind PyTorch's guard, which calibration leaves to
// decide) the clone runs the same kernels and gathers the same statistics. Run with grad
// enabled, the scripted guard takes the layer-by-layer path instead, which observes the same
// points to the rounding of kernels that sum in other orders (it scales q before its product
// and, from 2.0 on, runs scaled_dot_product_attention); ratio_sum divides by percentiles near
// zero and amplifies that rounding, hence the loose bound.
TEST(PreparedModelTest, AttentionFastPathsObserveWhatTheLayerByLayerPathDoes) {
  PreparedModel traced =
      PreparedModel::Prepare(Model::Load(FixturePath("attention_fast_path_traced.pt")), {});
  PreparedModel scripted =
      PreparedModel::Prepare(Model::Load(FixturePath("attention_scripted.pt")), {});
  PreparedModel slow =
      PreparedModel::Prepare(Model::Load(FixturePath("attention_scripted.pt")), {});
  for (uint64_t seed : {1, 2, 3}) {
    const auto inputs = ExampleInputs("attention_scripted", seed);
    for (PreparedModel* fast : {&traced, &scripted}) {
      std::map<std::string, int> ran = OperatorsRun([&] { fast->Forward(inputs); });
      EXPECT_EQ(ran["aten::_native_multi_head_attention"], 0);
      EXPECT_EQ(ran["aten::_transform_bias_rescale_qkv"], 1);
    }
    torch::jit::Module module = slow.module();
    std::map<std::string, int> ran = OperatorsRun([&] { module.forward(inputs); });
    ASSERT_EQ(ran["aten::_transform_bias_rescale_qkv"], 0) << "the slow path ran";
  }
  ASSERT_EQ(traced.bank().size(), 6u);
  ASSERT_EQ(scripted.bank().size(), traced.bank().size());
  ASSERT_EQ(slow.bank().size(), traced.bank().size());
  for (size_t slot = 0; slot < traced.bank().size(); ++slot) {
    const std::string key = ToString(traced.bank().key(slot));
    EXPECT_EQ(ToString(scripted.bank().key(slot)), key);
    EXPECT_EQ(traced.bank().state(slot).ToJson(), scripted.bank().state(slot).ToJson()) << key;
    EXPECT_TRUE(
        JsonNear(scripted.bank().state(slot).ToJson(), slow.bank().state(slot).ToJson(), 1e-3))
        << key;
  }
}

// The prepared clone computes max_pool2d from strided views where ATen's kernel would also
// compute indices; the values are the same, infinities and NaN included, and pools it does
// not rewrite (ceil mode, dilation) keep ATen's kernel.
TEST(PreparedModelTest, MaxPoolsGiveWhatATenGives) {
  const Model model = Model::Load(FixturePath("max_pools.pt"));
  PreparedModel prepared = PreparedModel::Prepare(model, {});
  const c10::Symbol max_pool = c10::Symbol::fromQualString("aten::max_pool2d");
  int unconditional = 0;  // a rewritten pool keeps ATen's inside a branch, for integer inputs
  for (const torch::jit::Node* node : prepared.module().get_method("forward").graph()->nodes()) {
    unconditional += node->kind() == max_pool ? 1 : 0;
  }
  EXPECT_EQ(unconditional, 2) << "ceil mode and dilation";
  at::Tensor x = ExampleInputs("max_pools", 7).front().toTensor();
  x[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  x[0][1][5][4] = -std::numeric_limits<float>::infinity();
  x[1][2][12][10] = std::numeric_limits<float>::infinity();
  x[1][0] = -std::numeric_limits<float>::infinity();
  torch::jit::Module original = model.module();
  at::Tensor want;
  {
    torch::NoGradGuard no_grad;
    want = original.forward({x}).toTensor();
  }
  const at::Tensor got = prepared.Forward({x}).toTensor();
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_TRUE(got.isnan().equal(want.isnan()));
  EXPECT_TRUE(got.nan_to_num(0.0, 1e30, -1e30).equal(want.nan_to_num(0.0, 1e30, -1e30)));
}

// relu(x) of a Linear output nothing else reads runs in place in the prepared clone (as in
// PyTorch's fused kernels); an x that an observer reads keeps its out-of-place ReLU. Either
// way the outputs and statistics are those of the model as written.
TEST(PreparedModelTest, ReluOfAnUnreadLinearOutputRunsInPlace) {
  const Model model = Model::Load(FixturePath("linear_relu.pt"));
  // Layer points only: fc1's and fc2's raw outputs are read by their ReLUs alone.
  PreparedModel layers = PreparedModel::Prepare(model, {});
  EXPECT_EQ(CountNodes(layers.module(), "aten::relu_"), 2);
  EXPECT_EQ(CountNodes(layers.module(), "aten::relu"), 0);
  // The input of the nn.ReLU module (fc1's raw output) observed as well: that one stays.
  ObserverOptions last_axis;  // as the layer points above: a Linear's channels are its last
  last_axis.channel_axis = -1;
  PrepareOptions with_relu_input;
  with_relu_input.points = {{{"relu", ObservationPosition::kPre}, last_axis},
                            {{"fc2", ObservationPosition::kPre}, last_axis}};
  PreparedModel read = PreparedModel::Prepare(model, with_relu_input);
  EXPECT_EQ(CountNodes(read.module(), "aten::relu_"), 1);
  EXPECT_EQ(CountNodes(read.module(), "aten::relu"), 1);
  EXPECT_EQ(CountNodes(model.module(), "aten::relu_"), 0) << "the user's graph is untouched";
  for (uint64_t seed : {1, 2}) {
    const auto inputs = ExampleInputs("linear_relu", seed);
    torch::jit::Module original = model.module();
    const at::Tensor want = original.forward(inputs).toTensor();
    EXPECT_TRUE(layers.Forward(inputs).toTensor().equal(want));
    EXPECT_TRUE(read.Forward(inputs).toTensor().equal(want));
  }
  const PointKey fc2_in{"fc2", ObservationPosition::kPre};
  EXPECT_EQ(layers.bank().Find(fc2_in)->ToJson(), read.bank().Find(fc2_in)->ToJson());
}

// Two detectors asking for different percentiles at one point get an observer each.
TEST(PreparedModelTest, DifferentPercentilesAtOnePointGetTheirOwnObservers) {
  const Model model = Model::Load(FixturePath("mlp.pt"));
  const std::string first = "fc1";
  ObserverOptions p90, p975, minmax;
  p90.statistics = p975.statistics = kPercentileStatistics;
  p975.comp_percentile = 0.975f;
  minmax.statistics = kChannelMinMaxStatistics;
  p90.channel_axis = p975.channel_axis = minmax.channel_axis = -1;
  const PointKey key{first, ObservationPosition::kPre};
  PrepareOptions options;
  options.points = {{key, p975}, {key, minmax}, {key, p90}};
  PreparedModel prepared = PreparedModel::Prepare(model, options);
  ASSERT_EQ(prepared.bank().size(), 2u);
  const ObserverState* a = prepared.bank().FindServing(PointRequest{key, p975});
  const ObserverState* b = prepared.bank().FindServing(PointRequest{key, p90});
  ASSERT_TRUE(a && b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a->options().comp_percentile, 0.975f);
  EXPECT_EQ(b->options().comp_percentile, 0.9f);
  EXPECT_EQ(prepared.bank().FindServing(PointRequest{key, minmax}), a) << "min/max joins the first";
}

// What the outlier detector asks for, and more: every leaf module's input and every layer's
// input and output, all statistics along axis 1.
std::vector<PointRequest> EveryModuleInput(const Model& model) {
  const LayerGraph graph = LayerGraph::Build(model, {});
  std::vector<PointRequest> points;
  for (const LayerDescription& layer : graph.layers()) {
    for (ObservationPosition position : {ObservationPosition::kPre, ObservationPosition::kPost}) {
      points.push_back({{layer.fqn, position}, ObserverOptions{}});
    }
  }
  for (const LeafModule& leaf : graph.leaf_modules()) {
    points.push_back({{leaf.fqn, ObservationPosition::kPre}, ObserverOptions{}});
  }
  return points;
}

struct ClampMapping {
  int taps = 0;        // observe_clamp calls in the graph
  int64_t mapped = 0;  // updates made without reading the tensor
  ObserverBank bank;   // the statistics
};

// Calibrates `name` twice on the same batches, mapping clamp outputs and reading them, and
// expects every observer's statistics to be identical.
ClampMapping CalibrateBothWays(const std::string& name) {
  const Model model = Model::Load(FixturePath(name + ".pt"));
  PrepareOptions options;
  options.points = EveryModuleInput(model);
  PreparedModel mapped = PreparedModel::Prepare(model, options);
  options.map_through_clamps = false;
  PreparedModel read = PreparedModel::Prepare(model, options);
  EXPECT_EQ(CountCalls(read.module(), "observe_clamp"), 0);
  for (uint64_t seed : {1, 2, 3}) {
    const auto inputs = ExampleInputs(name, seed);
    const at::Tensor a = mapped.Forward(inputs).toTensor();
    EXPECT_TRUE(a.equal(read.Forward(inputs).toTensor()));
  }
  EXPECT_EQ(mapped.bank().size(), read.bank().size());
  for (size_t slot = 0; slot < mapped.bank().size(); ++slot) {
    EXPECT_EQ(mapped.bank().state(slot).ToJson(), read.bank().state(slot).ToJson())
        << name << ": " << ToString(mapped.bank().key(slot));
  }
  return {CountCalls(mapped.module(), "observe_clamp"), mapped.bank().mapped_updates(),
          mapped.bank()};
}

// ResNet-18's ReLU outputs (after BatchNorm, after the residual sums) are mapped from the
// observed ReLU inputs, in place; exactly as if they had been read.
TEST(PreparedModelTest, ReluOutputsAreMappedFromTheirInputs) {
  const ClampMapping resnet = CalibrateBothWays("resnet18");
  EXPECT_GE(resnet.taps, 17) << "conv1, 8 blocks' conv1 outputs, 8 sums";
  EXPECT_EQ(resnet.mapped, 3 * resnet.taps) << "every mapping held at run time";
}

// MobileNetV2's ReLU6 is an in-place hardtanh(0, 6).
TEST(PreparedModelTest, Relu6OutputsAreMappedFromTheirInputs) {
  const ClampMapping mobilenet = CalibrateBothWays("mobilenet_v2");
  EXPECT_GE(mobilenet.taps, 30);
  EXPECT_EQ(mobilenet.mapped, 3 * mobilenet.taps);
}

// clamp_chain: ReLU6 and hardtanh(-0.5, 0.1) outputs are mapped; the ReLU whose input was
// changed in place after its observer saw it is read instead, and so is the clamp whose
// upper bound is computed at run time (not a map known when the graph is prepared).
TEST(PreparedModelTest, ClampAfterAnInPlaceChangeIsReadNotMapped) {
  const ClampMapping chain = CalibrateBothWays("clamp_chain");
  EXPECT_EQ(chain.taps, 3);
  EXPECT_EQ(chain.mapped, 3 * 2);
  // Both of hardtanh's bounds cut values off, so a map that ignored one would be caught.
  const ObserverState* tanh_input = chain.bank.Find({"tanh", ObservationPosition::kPre});
  ASSERT_NE(tanh_input, nullptr);
  EXPECT_LT(tanh_input->epoch_min(), -0.5f);
  EXPECT_GT(tanh_input->epoch_max(), 0.1f);
}

TEST(PreparedModelTest, UnknownLayerIsAnError) {
  const Model model = Model::Load(FixturePath("mlp.pt"));
  PrepareOptions options;
  options.points = {{{"no_such_layer", ObservationPosition::kPre}, ObserverOptions{}}};
  EXPECT_THROW(PreparedModel::Prepare(model, options), Error);
}

TEST(PreparedModelTest, BadInputNamesTheModel) {
  const Model model = Model::Load(FixturePath("mlp.pt"));
  PreparedModel prepared = PreparedModel::Prepare(model, {});
  try {
    prepared.Forward({torch::randn({2, 3})});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadData);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("mlp.pt: the model rejected the input"));
  }
}

}  // namespace
}  // namespace qreport::torchscript

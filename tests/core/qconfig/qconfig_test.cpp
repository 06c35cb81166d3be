#include "qreport/core/qconfig/qconfig.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kLinear[] = "torch.nn.modules.linear.Linear";
constexpr char kConv2d[] = "torch.nn.modules.conv.Conv2d";
constexpr char kQatLinear[] = "torch.ao.nn.qat.modules.linear.Linear";

const QConfig kStatic{ActivationMode::kStatic, WeightScheme::kPerTensor};
const QConfig kStaticPc{ActivationMode::kStatic, WeightScheme::kPerChannel};
const QConfig kDynamic{ActivationMode::kDynamic, WeightScheme::kPerTensor};
const QConfig kDynamicPc{ActivationMode::kDynamic, WeightScheme::kPerChannel};

// The message of the qreport::Error that `f` throws, or "" if it throws none.
template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(QConfigTest, EnumNames) {
  EXPECT_STREQ(ToString(ActivationMode::kStatic), "static");
  EXPECT_STREQ(ToString(ActivationMode::kDynamic), "dynamic");
  EXPECT_STREQ(ToString(WeightScheme::kPerTensor), "per_tensor");
  EXPECT_STREQ(ToString(WeightScheme::kPerChannel), "per_channel");
  EXPECT_EQ(DefaultQConfig(), kStatic);
}

TEST(QConfigMappingTest, EmptyMappingIsDefaultQConfigEverywhere) {
  const QConfigMapping mapping;
  EXPECT_TRUE(mapping.empty());
  EXPECT_EQ(mapping.Resolve("fc", kLinear), DefaultQConfig());
  EXPECT_EQ(mapping.Resolve("", kConv2d), DefaultQConfig());
}

TEST(QConfigMappingTest, WithoutGlobalUnmatchedModulesAreNotQuantized) {
  QConfigMapping mapping;
  mapping.SetModuleName("fc1", kDynamic);
  EXPECT_FALSE(mapping.empty());
  EXPECT_EQ(mapping.Resolve("fc1", kLinear), kDynamic);
  EXPECT_EQ(mapping.Resolve("fc2", kLinear), std::nullopt);
}

TEST(QConfigMappingTest, PrecedenceModuleNameThenRegexThenObjectTypeThenGlobal) {
  QConfigMapping mapping;
  mapping.SetGlobal(kStatic)
      .SetObjectType("torch.nn.Linear", kDynamic)
      .SetModuleNameRegex("encoder\\..*", kStaticPc)
      .SetModuleName("encoder.fc", kDynamicPc);
  EXPECT_EQ(mapping.Resolve("encoder.fc", kLinear), kDynamicPc);  // name beats regex
  EXPECT_EQ(mapping.Resolve("encoder.fc2", kLinear), kStaticPc);  // regex beats type
  EXPECT_EQ(mapping.Resolve("decoder.fc", kLinear), kDynamic);    // type beats global
  EXPECT_EQ(mapping.Resolve("decoder.conv", kConv2d), kStatic);   // global
}

TEST(QConfigMappingTest, ModuleNameAppliesToDescendantsThroughNearestNamedAncestor) {
  QConfigMapping mapping;
  mapping.SetGlobal(kStatic)
      .SetModuleName("block", kDynamic)
      .SetModuleName("block.inner", std::nullopt)
      .SetModuleNameRegex("block\\.inner\\.fc", kStaticPc);
  EXPECT_EQ(mapping.Resolve("block.fc", kLinear), kDynamic);
  // The nearest named ancestor wins, and any module_name beats every regex.
  EXPECT_EQ(mapping.Resolve("block.inner.fc", kLinear), std::nullopt);
  // A name is a path component, not a string prefix.
  EXPECT_EQ(mapping.Resolve("blocks.fc", kLinear), kStatic);
}

TEST(QConfigMappingTest, RootModuleNameIsNeverMatched) {
  // prepare_fx's get_module_name_qconfig stops at "" without looking it up.
  QConfigMapping mapping;
  mapping.SetGlobal(kStatic).SetModuleName("", kDynamic);
  EXPECT_EQ(mapping.Resolve("fc", kLinear), kStatic);
  EXPECT_EQ(mapping.Resolve("", kLinear), kStatic);
}

TEST(QConfigMappingTest, RegexHasReMatchSemantics) {
  QConfigMapping mapping;
  mapping.SetGlobal(std::nullopt).SetModuleNameRegex("fc", kDynamic);
  // re.match anchors at the start only: "fc" matches "fc1" and "fc.0" but not "head.fc".
  EXPECT_EQ(mapping.Resolve("fc", kLinear), kDynamic);
  EXPECT_EQ(mapping.Resolve("fc1", kLinear), kDynamic);
  EXPECT_EQ(mapping.Resolve("fc.0", kLinear), kDynamic);
  EXPECT_EQ(mapping.Resolve("head.fc", kLinear), std::nullopt);

  QConfigMapping anchored;
  anchored.SetGlobal(std::nullopt).SetModuleNameRegex("fc$", kDynamic);
  EXPECT_EQ(anchored.Resolve("fc", kLinear), kDynamic);
  EXPECT_EQ(anchored.Resolve("fc1", kLinear), std::nullopt);

  QConfigMapping search;
  search.SetGlobal(std::nullopt).SetModuleNameRegex(".*\\.fc", kDynamic);
  EXPECT_EQ(search.Resolve("head.fc", kLinear), kDynamic);

  // re.match("fc|head", "head.x") matches the second alternative at the start.
  QConfigMapping alternatives;
  alternatives.SetGlobal(std::nullopt).SetModuleNameRegex("fc|head", kDynamic);
  EXPECT_EQ(alternatives.Resolve("head.x", kLinear), kDynamic);
  EXPECT_EQ(alternatives.Resolve("x.head", kLinear), std::nullopt);

  // re.match("x*", "fc") succeeds with an empty match.
  QConfigMapping empty_match;
  empty_match.SetGlobal(std::nullopt).SetModuleNameRegex("x*", kDynamic);
  EXPECT_EQ(empty_match.Resolve("fc", kLinear), kDynamic);
}

TEST(QConfigMappingTest, FirstMatchingRegexWins) {
  QConfigMapping mapping;
  mapping.SetModuleNameRegex("enc.*", kDynamic).SetModuleNameRegex("encoder\\.fc", kStaticPc);
  EXPECT_EQ(mapping.Resolve("encoder.fc", kLinear), kDynamic);
  // Setting a pattern again keeps its position.
  mapping.SetModuleNameRegex("enc.*", kStatic);
  EXPECT_EQ(mapping.Resolve("encoder.fc", kLinear), kStatic);
  ASSERT_EQ(mapping.module_name_regexes().size(), 2u);
  EXPECT_EQ(mapping.module_name_regexes()[0].first, "enc.*");
}

TEST(QConfigMappingTest, InvalidRegexIsAnError) {
  QConfigMapping mapping;
  EXPECT_THAT(ErrorOf([&] { mapping.SetModuleNameRegex("fc(", kStatic); }),
              HasSubstr("invalid regular expression \"fc(\""));
}

// libstdc++ accepts "a++" and nests the repetitions: a pattern of them took seconds per name.
TEST(QConfigMappingTest, StackedQuantifiersAreAnError) {
  QConfigMapping mapping;
  for (const char* regex : {"body\\.++", "fc*+", "fc+{2}", "fc{2}*", "fc+??"}) {
    SCOPED_TRACE(regex);
    EXPECT_THAT(ErrorOf([&] { mapping.SetModuleNameRegex(regex, kStatic); }),
                HasSubstr("nothing to repeat"));
  }
  for (const char* regex : {"fc+?", "fc{2}?", "(?:fc)+", "[+*]+", "\\++"}) {
    SCOPED_TRACE(regex);
    EXPECT_NO_THROW(mapping.SetModuleNameRegex(regex, kStatic));
  }
}

TEST(QConfigMappingTest, ObjectTypeSpellings) {
  for (const char* spelling : {"torch.nn.modules.linear.Linear", "torch.nn.Linear", "nn.Linear",
                               "Linear", "torch.ao.nn.Linear", "torch.nn.modules.Linear"}) {
    QConfigMapping mapping;
    mapping.SetObjectType(spelling, kDynamic);
    EXPECT_EQ(mapping.Resolve("fc", kLinear), kDynamic) << spelling;
    EXPECT_EQ(mapping.Resolve("conv", kConv2d), std::nullopt) << spelling;
  }
  for (const char* spelling : {"torch.nn.Conv2d", "nn.Conv2d", "Conv2d"}) {
    QConfigMapping mapping;
    mapping.SetObjectType(spelling, kStaticPc);
    EXPECT_EQ(mapping.Resolve("conv", kConv2d), kStaticPc) << spelling;
    EXPECT_EQ(mapping.Resolve("fc", kLinear), std::nullopt) << spelling;
  }
}

TEST(QConfigMappingTest, ObjectTypeMatchesTheExactClassAndPackage) {
  QConfigMapping mapping;
  mapping.SetObjectType("torch.nn.Linear", kDynamic);
  // QAT Linear is another class, in another package (also under its 1.13 alias).
  EXPECT_EQ(mapping.Resolve("fc", kQatLinear), std::nullopt);
  EXPECT_EQ(mapping.Resolve("fc", "torch.nn.qat.modules.linear.Linear"), std::nullopt);
  // Subclasses are other classes: PyTorch looks the type up in a dict.
  EXPECT_EQ(
      mapping.Resolve("attn.out_proj", "torch.nn.modules.linear.NonDynamicallyQuantizableLinear"),
      std::nullopt);

  for (const char* spelling : {"torch.ao.nn.qat.Linear", "torch.nn.qat.Linear", "nnqat.Linear",
                               "torch.ao.nn.qat.modules.linear.Linear"}) {
    QConfigMapping qat;
    qat.SetObjectType(spelling, kStaticPc);
    EXPECT_EQ(qat.Resolve("fc", kQatLinear), kStaticPc) << spelling;
    EXPECT_EQ(qat.Resolve("fc", kLinear), std::nullopt) << spelling;
  }
}

TEST(QConfigMappingTest, ObjectTypeOfUserClasses) {
  QConfigMapping mapping;
  mapping.SetObjectType("models.blocks.Block", kDynamic);
  EXPECT_EQ(mapping.Resolve("b", "models.blocks.Block"), kDynamic);
  EXPECT_EQ(mapping.Resolve("b", "other.Block"), std::nullopt);

  QConfigMapping relative;
  relative.SetObjectType("blocks.Block", kDynamic);
  EXPECT_EQ(relative.Resolve("b", "models.blocks.Block"), kDynamic);
  EXPECT_EQ(relative.Resolve("b", "models.myblocks.Block"), std::nullopt);

  // A class defined in the script TorchScript'ed it: "__torch__.Block" / "__main__.Block".
  QConfigMapping main;
  main.SetObjectType("__main__.Block", kDynamic);
  EXPECT_EQ(main.Resolve("b", "Block"), kDynamic);
  EXPECT_EQ(main.Resolve("b", "__torch__.___torch_mangle_3.Block"), kDynamic);
}

TEST(QConfigMappingTest, ObjectTypeSetTwiceKeepsTheLastValue) {
  QConfigMapping mapping;
  mapping.SetObjectType("torch.nn.Linear", kDynamic).SetObjectType("nn.Linear", kStaticPc);
  EXPECT_EQ(mapping.Resolve("fc", kLinear), kStaticPc);
  mapping.SetObjectType("torch.nn.Linear", kStatic);  // replaced in place: still first
  EXPECT_EQ(mapping.object_types().size(), 2u);
  EXPECT_EQ(mapping.Resolve("fc", kLinear), kStaticPc);
}

TEST(QConfigMappingTest, ObjectTypeMustNameAClass) {
  QConfigMapping mapping;
  EXPECT_THAT(ErrorOf([&] { mapping.SetObjectType("", kStatic); }),
              HasSubstr("expected a Python class name"));
  EXPECT_THAT(ErrorOf([&] { mapping.SetObjectType("torch.nn.", kStatic); }),
              HasSubstr("got \"torch.nn.\""));
}

// --- JSON ----------------------------------------------------------------------------------

TEST(QConfigJsonTest, ReadsTheDocumentedSchema) {
  const QConfigMapping mapping = QConfigMapping::FromJson(Json::parse(R"({
    "schema_version": 1,
    "global": {"activation": "static", "weight": "per_tensor"},
    "object_type": [{"type": "torch.nn.Conv2d", "qconfig": {"weight": "per_channel"}}],
    "module_name_regex": [{"regex": "encoder\\..*", "qconfig": null}],
    "module_name": [{"name": "fc1", "qconfig": {"activation": "dynamic"}}]
  })"));
  EXPECT_EQ(mapping.Resolve("conv", kConv2d), kStaticPc);
  EXPECT_EQ(mapping.Resolve("encoder.fc", kLinear), std::nullopt);
  EXPECT_EQ(mapping.Resolve("fc1", kLinear), kDynamic);
  EXPECT_EQ(mapping.Resolve("fc2", kLinear), kStatic);
}

TEST(QConfigJsonTest, AcceptsPyTorchObserverAndQConfigNames) {
  const QConfigMapping mapping = QConfigMapping::FromJson(Json::parse(R"({
    "module_name": [
      {"name": "a", "qconfig": {"activation": "default_dynamic_quant_observer",
                                "weight": "default_per_channel_weight_observer"}},
      {"name": "b", "qconfig": {"activation": "PlaceholderObserver",
                                "weight": "MovingAveragePerChannelMinMaxObserver"}},
      {"name": "c", "qconfig": {"activation": "torch.ao.quantization.HistogramObserver",
                                "weight": "default_per_channel_weight_fake_quant"}},
      {"name": "d", "qconfig": {"activation": "default_fake_quant",
                                "weight": "default_weight_observer"}},
      {"name": "e", "qconfig": "per_channel_dynamic_qconfig"},
      {"name": "f", "qconfig": "default_qconfig"},
      {"name": "g", "qconfig": "default_per_channel_symmetric_qnnpack_qat_qconfig"}
    ]})"));
  EXPECT_EQ(mapping.Resolve("a", kLinear), kDynamicPc);
  EXPECT_EQ(mapping.Resolve("b", kLinear), kDynamicPc);
  EXPECT_EQ(mapping.Resolve("c", kLinear), kStaticPc);
  EXPECT_EQ(mapping.Resolve("d", kLinear), kStatic);
  EXPECT_EQ(mapping.Resolve("e", kLinear), kDynamicPc);
  EXPECT_EQ(mapping.Resolve("f", kLinear), kStatic);
  EXPECT_EQ(mapping.Resolve("g", kLinear), kStaticPc);
}

TEST(QConfigJsonTest, RoundTrip) {
  QConfigMapping mapping;
  mapping.SetGlobal(std::nullopt)
      .SetObjectType("torch.nn.Linear", kDynamic)
      .SetObjectType("torch.ao.nn.qat.Conv2d", kStaticPc)
      .SetModuleNameRegex("enc\\.(fc|proj)\\d+", kDynamicPc)
      .SetModuleName("head", std::nullopt)
      .SetModuleName("fc1", kStatic);
  const nlohmann::ordered_json json = mapping.ToJson();
  // Keys in the schema's order, so the file reads as documented.
  EXPECT_EQ(json.dump(),
            R"({"schema_version":1,"global":null,)"
            R"("object_type":[{"type":"torch.nn.Linear","qconfig":{"activation":"dynamic",)"
            R"("weight":"per_tensor"}},{"type":"torch.ao.nn.qat.Conv2d","qconfig":{)"
            R"("activation":"static","weight":"per_channel"}}],)"
            R"("module_name_regex":[{"regex":"enc\\.(fc|proj)\\d+","qconfig":{)"
            R"("activation":"dynamic","weight":"per_channel"}}],)"
            R"("module_name":[{"name":"head","qconfig":null},{"name":"fc1","qconfig":{)"
            R"("activation":"static","weight":"per_tensor"}}]})");
  EXPECT_EQ(QConfigMapping::FromJson(json).ToJson(), json);
  EXPECT_EQ(QConfigMapping::FromJson(Json::parse(json.dump())).ToJson(), json);

  const nlohmann::ordered_json empty = QConfigMapping().ToJson();
  EXPECT_FALSE(empty.contains("global"));
  EXPECT_TRUE(QConfigMapping::FromJson(empty).empty());
}

// The message FromJson throws for `text`.
std::string JsonError(const std::string& text) {
  return ErrorOf([&] { QConfigMapping::FromJson(Json::parse(text)); });
}

TEST(QConfigJsonTest, ErrorsNameTheKeyPathAndTheAllowedValues) {
  EXPECT_EQ(JsonError(R"({"module_name": [{"name": "a", "qconfig": null},
                                          {"name": "b", "qconfig": null},
                                          {"name": "c", "qconfig": {"weight": "foo"}}]})"),
            "module_name[2].qconfig.weight: expected \"per_tensor\" or \"per_channel\" (or an "
            "observer name such as default_per_channel_weight_observer), got \"foo\"");
  EXPECT_THAT(JsonError(R"({"global": {"activation": "quantized"}})"),
              HasSubstr("global.activation: expected \"static\" or \"dynamic\""));
  EXPECT_EQ(JsonError(R"({"global": {"activation": 1}})"),
            "global.activation: expected a string, got number");
  EXPECT_THAT(JsonError(R"({"global": {"activation": "static", "bits": 8}})"),
              HasSubstr("global.bits: unknown key; expected \"activation\", \"weight\""));
  EXPECT_THAT(JsonError(R"({"global": "my_qconfig"})"),
              HasSubstr("global: expected {\"activation\": ..., \"weight\": ...}, null, or a "
                        "PyTorch qconfig name"));
  EXPECT_THAT(JsonError(R"({"globals": {}})"),
              HasSubstr("globals: unknown key; expected \"schema_version\", \"global\""));
  EXPECT_EQ(JsonError(R"({"schema_version": 2})"), "schema_version: expected 1, got 2");
  EXPECT_EQ(JsonError(R"([])"), "expected a JSON object, got array");
  EXPECT_THAT(JsonError(R"({"object_type": {"type": "Linear"}})"),
              HasSubstr("object_type: expected an array of {\"type\": ..., \"qconfig\": ...}"));
  EXPECT_EQ(JsonError(R"({"object_type": [{"qconfig": null}]})"),
            "object_type[0]: missing \"type\"");
  EXPECT_EQ(JsonError(R"({"object_type": [{"type": "Linear"}]})"),
            "object_type[0]: missing \"qconfig\" (null leaves the module in float)");
  EXPECT_THAT(JsonError(R"({"object_type": [{"type": "", "qconfig": null}]})"),
              HasSubstr("object_type[0].type: expected a Python class name"));
  EXPECT_THAT(JsonError(R"({"module_name_regex": [{"regex": "a[", "qconfig": null}]})"),
              HasSubstr("module_name_regex[0].regex: invalid regular expression \"a[\""));
  EXPECT_EQ(JsonError(R"({"module_name": [{"name": 3, "qconfig": null}]})"),
            "module_name[0].name: expected a string, got number");
  EXPECT_THAT(JsonError(R"({"module_name": [{"name": "", "qconfig": null}]})"),
              HasSubstr("module_name[0].name: the root module \"\" is never matched"));
  EXPECT_EQ(JsonError(R"({"module_name": ["fc"]})"),
            "module_name[0]: expected {\"name\": ..., \"qconfig\": ...}, got string");
}

class QConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::filesystem::path path_ = std::filesystem::temp_directory_path() /
                                ("qreport_qconfig_test_" + std::to_string(::getpid()) + ".json");
};

TEST_F(QConfigFileTest, ReadsAFile) {
  const std::string path = Write(R"({"global": {"weight": "per_channel"}})");
  EXPECT_EQ(QConfigMapping::FromJsonFile(path).Resolve("fc", kLinear), kStaticPc);
}

TEST_F(QConfigFileTest, ErrorsNameTheFile) {
  const std::string path =
      Write(R"({"module_name": [{"name": "a", "qconfig": {"weight": "foo"}}]})");
  EXPECT_THAT(ErrorOf([&] { QConfigMapping::FromJsonFile(path); }),
              HasSubstr(path + ": module_name[0].qconfig.weight: expected \"per_tensor\""));
  Write("{\"global\": ");
  EXPECT_THAT(ErrorOf([&] { QConfigMapping::FromJsonFile(path); }),
              HasSubstr(path + ": not valid JSON"));
}

TEST_F(QConfigFileTest, MissingFileIsAnIoError) {
  try {
    QConfigMapping::FromJsonFile("/nonexistent/current.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/current.json: cannot open"));
  }
}

// --- Python --------------------------------------------------------------------------------

TEST(QConfigPythonTest, WritesEveryEntryWithPyTorchsObservers) {
  QConfigMapping mapping;
  mapping.SetGlobal(kStatic)
      .SetObjectType("torch.nn.Linear", std::nullopt)
      .SetModuleNameRegex("enc\\..*", kDynamic)
      .SetModuleName("fc\"1", kDynamicPc);
  const std::string py = ToPython(mapping);
  EXPECT_THAT(py, HasSubstr("from torch.ao.quantization import (\n    QConfig,\n"));
  EXPECT_THAT(py, HasSubstr("qconfig_mapping.set_global(QConfig(activation=default_observer, "
                            "weight=default_weight_observer))\n"));
  EXPECT_THAT(py,
              HasSubstr("qconfig_mapping.set_object_type(\n    _find_class(\"torch.nn.Linear\"),"
                        "\n    None,\n)\n"));
  EXPECT_THAT(py, HasSubstr("qconfig_mapping.set_module_name_regex(\n    \"enc\\\\..*\",\n    "
                            "QConfig(activation=default_dynamic_quant_observer, "
                            "weight=default_weight_observer),\n)\n"));
  EXPECT_THAT(py, HasSubstr("qconfig_mapping.set_module_name(\n    \"fc\\\"1\",\n    "
                            "QConfig(activation=default_dynamic_quant_observer, "
                            "weight=default_per_channel_weight_observer),\n)\n"));
  EXPECT_THAT(py, HasSubstr("if __name__ == \"__main__\":\n"));
}

TEST(QConfigPythonTest, EmptyMappingSetsTheDefaultGlobally) {
  EXPECT_THAT(ToPython(QConfigMapping()),
              HasSubstr("qconfig_mapping.set_global(QConfig(activation=default_observer, "
                        "weight=default_weight_observer))\n"));
  QConfigMapping no_global;
  no_global.SetModuleName("fc", kStatic);
  EXPECT_THAT(ToPython(no_global), ::testing::Not(HasSubstr("set_global")));
}

}  // namespace
}  // namespace qreport

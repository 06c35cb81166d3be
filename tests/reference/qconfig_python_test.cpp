// Runs the Python that ToPython writes with PyTorch (check_qconfig_mapping.py): the mapping it
// builds has the reference's observers, and prepare_fx/convert_fx quantize each module of a
// tiny model exactly as QConfigMapping::Resolve says.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "qreport/core/qconfig/qconfig.h"

namespace qreport {
namespace {

namespace fs = std::filesystem;

const QConfig kStatic{ActivationMode::kStatic, WeightScheme::kPerTensor};
const QConfig kStaticPc{ActivationMode::kStatic, WeightScheme::kPerChannel};
const QConfig kDynamic{ActivationMode::kDynamic, WeightScheme::kPerTensor};
const QConfig kDynamicPc{ActivationMode::kDynamic, WeightScheme::kPerChannel};

std::string Setting(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

// The checker's TinyModel, with the classes the front-end would report.
const std::pair<const char*, const char*> kTinyModel[] = {
    {"conv", "torch.nn.modules.conv.Conv2d"},
    {"fc1", "torch.nn.modules.linear.Linear"},
    {"fc2", "torch.nn.modules.linear.Linear"},
};

nlohmann::json QConfigJson(const std::optional<QConfig>& config) {
  if (!config) return nullptr;
  return {{"activation", ToString(config->activation)}, {"weight", ToString(config->weight)}};
}

class PyTorchRunsToPythonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / (std::string("qreport_qconfig_python_") + info->name() +
                                        "_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Writes ToPython(mapping) and what Resolve says, runs the checker; "" when it passes.
  std::string Check(const QConfigMapping& mapping) {
    const fs::path py = dir_ / "qconfig_mapping.py";
    const fs::path expected = dir_ / "expected.json";
    std::ofstream(py) << ToPython(mapping);
    nlohmann::json modules = nlohmann::json::object();
    for (const auto& [name, type] : kTinyModel) {
      modules[name] = QConfigJson(mapping.Resolve(name, type));
    }
    std::ofstream(expected) << nlohmann::json{{"mapping", mapping.ToJson()}, {"modules", modules}};

    const std::string command = Setting("QREPORT_PYTHON_PATH", QREPORT_PYTHON_PATH) + " " +
                                Setting("QREPORT_QCONFIG_CHECKER", QREPORT_QCONFIG_CHECKER) + " " +
                                py.string() + " " + expected.string() + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return "cannot run: " + command;
    std::string output;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
    const int status = ::pclose(pipe);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
    return command + "\n" + output + "\n(files kept in " + dir_.string() + ")";
  }

  fs::path dir_;
};

TEST_F(PyTorchRunsToPythonTest, EmptyMappingIsDefaultQConfigEverywhere) {
  EXPECT_EQ(Check(QConfigMapping()), "");
}

TEST_F(PyTorchRunsToPythonTest, RecommendedMappingWithModuleNames) {
  QConfigMapping mapping;
  mapping.SetGlobal(DefaultQConfig())
      .SetModuleName("conv", kStaticPc)
      .SetModuleName("fc1", kDynamicPc)
      .SetModuleName("fc2", std::nullopt);
  EXPECT_EQ(Check(mapping), "");
}

TEST_F(PyTorchRunsToPythonTest, PrecedenceAgreesWithPrepareFx) {
  // No global; object_type < regex (re.match: "fc" matches fc1 and fc2) < module_name.
  QConfigMapping mapping;
  mapping.SetObjectType("nn.Conv2d", kStaticPc)
      .SetModuleNameRegex("fc", kDynamic)
      .SetModuleName("fc2", kStatic);
  EXPECT_EQ(Check(mapping), "");
}

TEST_F(PyTorchRunsToPythonTest, ObjectTypesByFullNameAndRegexBeatingThem) {
  QConfigMapping mapping;
  mapping.SetGlobal(kStatic)
      .SetObjectType("torch.nn.modules.linear.Linear", std::nullopt)
      .SetObjectType("torch.nn.Conv2d", kStaticPc)
      .SetModuleNameRegex("fc2$", kDynamicPc);
  EXPECT_EQ(Check(mapping), "");
}

TEST_F(PyTorchRunsToPythonTest, DynamicConvIsLeftInFloatByPyTorch) {
  // What qreport's recommendation never writes (reference B14); the checker expects float.
  QConfigMapping mapping;
  mapping.SetGlobal(kDynamic);
  EXPECT_EQ(Check(mapping), "");
}

}  // namespace
}  // namespace qreport

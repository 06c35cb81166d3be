#include "qreport/torchscript/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"
#include "torchscript/fixtures.h"

namespace qreport::torchscript {
namespace {

using qreport::testing::FixtureDir;
using qreport::testing::FixturePath;
using ::testing::HasSubstr;

struct BadFile {
  std::string file;
  ErrorKind kind;
  std::string says;
};

void PrintTo(const BadFile& bad, std::ostream* out) { *out << bad.file << ": " << bad.says; }

class BadModelTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadModelTest, GivesASpecificError) {
  const BadFile& bad = GetParam();
  const std::string path = bad.file.empty() ? FixtureDir() : FixturePath(bad.file);
  try {
    Model::Load(path);
    FAIL() << "loaded " << path;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), bad.kind) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(bad.says));
    EXPECT_THAT(e.what(), HasSubstr(path)) << "the message names the file";
    EXPECT_THAT(std::string(e.what()), ::testing::Not(HasSubstr("\n")));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BadModelTest,
    ::testing::Values(BadFile{"does_not_exist.pt", ErrorKind::kIo, "no such file"},
                      BadFile{"", ErrorKind::kIo, "is a directory"},
                      BadFile{"empty.pt", ErrorKind::kBadModel, "the file is empty"},
                      BadFile{"not_a_model.txt", ErrorKind::kBadModel, "not a TorchScript archive"},
                      BadFile{"truncated.pt", ErrorKind::kBadModel, "damaged or truncated"},
                      BadFile{"torch_save_module.pt", ErrorKind::kBadModel, "torch.save archive"},
                      BadFile{"torch_save_module.pt", ErrorKind::kBadModel, "torch.jit.script"},
                      BadFile{"torch_save_legacy.pt", ErrorKind::kBadModel, "torch.save pickle"},
                      BadFile{"newer_version.pt", ErrorKind::kBadModel, "newer PyTorch"},
                      BadFile{"newer_version.pt", ErrorKind::kBadModel, "version 99"},
                      BadFile{"no_forward.pt", ErrorKind::kBadModel,
                              "no forward method (it has: helper)"}));

TEST(ModelTest, LoadsScriptedAndTracedModels) {
  for (const char* name : {"mlp.pt", "mlp_traced.pt"}) {
    const Model model = Model::Load(FixturePath(name));
    EXPECT_EQ(model.path(), FixturePath(name));
    EXPECT_TRUE(model.module().find_method("forward").has_value());
  }
}

}  // namespace
}  // namespace qreport::torchscript

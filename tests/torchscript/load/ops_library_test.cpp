// Where qreport looks for torchvision's ops library: beside the running LibTorch only.
#include "load/ops_library.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qreport::torchscript::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(OpsLibraryTest, TheRunningLibTorchIsFound) {
  EXPECT_THAT(LibTorchCpuPath(), HasSubstr("libtorch_cpu.so"));
}

TEST(OpsLibraryTest, AWheelsTorchvisionSitsBesideItsTorch) {
  EXPECT_THAT(TorchvisionLibraryPatterns(
                  "/home/u/.venv/lib/python3.11/site-packages/torch/lib/libtorch_cpu.so"),
              ElementsAre("/home/u/.venv/lib/python3.11/site-packages/torchvision/_C*.so"));
}

TEST(OpsLibraryTest, DebiansLibTorchHasPython3Torchvision) {
  for (const char* path :
       {"/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13",
        "/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13", "/usr/lib/libtorch_cpu.so.2.6"}) {
    EXPECT_THAT(TorchvisionLibraryPatterns(path),
                ElementsAre("/usr/lib/python3/dist-packages/torchvision/_C*.so"))
        << path;
  }
}

// A LibTorch unpacked anywhere else has no torchvision qreport could know is built for it.
TEST(OpsLibraryTest, OtherLayoutsHaveNone) {
  EXPECT_THAT(TorchvisionLibraryPatterns("/opt/libtorch/lib/libtorch_cpu.so"), IsEmpty());
  EXPECT_THAT(TorchvisionLibraryPatterns("/usr/lib/x86_64-linux-gnu/torch/libtorch_cpu.so"),
              IsEmpty());
  EXPECT_THAT(TorchvisionLibraryPatterns("libtorch_cpu.so"), IsEmpty());
}

TEST(OpsLibraryTest, ALibraryThatDoesNotLoadSaysWhy) {
  EXPECT_THAT(OpenOpsLibrary("/etc/hostname"), HasSubstr("/etc/hostname"));
  EXPECT_THAT(OpenOpsLibrary("/nonexistent/_C.so"), HasSubstr("No such file"));
}

}  // namespace
}  // namespace qreport::torchscript::internal

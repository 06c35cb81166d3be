#include "qreport/torchscript/torch_errors.h"

#include <new>
#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/script.h>

namespace qreport::torchscript {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(TorchErrorsTest, AnAllocationLibTorchRefusesIsTheUsersError) {
  try {
    // 2^50 floats: more address space than any machine here has.
    at::empty({int64_t{1} << 50}, at::kFloat);
    GTEST_SKIP() << "the allocator promised 4 PiB";
  } catch (const std::exception& e) {
    const std::optional<Error> error = UserErrorOf(e);
    ASSERT_TRUE(error.has_value()) << e.what();
    EXPECT_EQ(error->kind(), ErrorKind::kBadData);
    EXPECT_THAT(error->what(),
                HasSubstr("out of memory: an allocation of 4.5 PB (4.0 PiB) failed"));
    EXPECT_THAT(error->what(), Not(HasSubstr("\n")));
  }
}

TEST(TorchErrorsTest, OtherErrorsAreNotTheUsers) {
  EXPECT_TRUE(UserErrorOf(std::bad_alloc()).has_value());
  EXPECT_FALSE(UserErrorOf(std::runtime_error("shape mismatch")).has_value());
  try {
    at::ones({2, 3}).matmul(at::ones({2, 3}));
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_FALSE(UserErrorOf(e).has_value());
  }
}

}  // namespace
}  // namespace qreport::torchscript

#include "qreport/core/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qreport {
namespace {

using ::testing::HasSubstr;

TEST(ErrorTest, CheckFormatsTheOffendingValue) {
  try {
    const int rank = 3;
    QREPORT_CHECK(rank == 2, "layer '{}' expects a 2-D weight, got {}-D", "fc", rank);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_STREQ(e.what(), "layer 'fc' expects a 2-D weight, got 3-D");
  }
}

TEST(ErrorTest, CheckKindKeepsTheKind) {
  EXPECT_THROW(
      {
        try {
          QREPORT_CHECK_KIND(false, ErrorKind::kIo, "{}: no such file", "a.pt");
        } catch (const Error& e) {
          EXPECT_EQ(e.kind(), ErrorKind::kIo);
          EXPECT_STREQ(e.what(), "a.pt: no such file");
          throw;
        }
      },
      Error);
}

TEST(ErrorTest, PassingChecksDoNotThrow) {
  EXPECT_NO_THROW(QREPORT_CHECK(true, "unused {}", 1));
  EXPECT_NO_THROW(QREPORT_ASSERT(1 + 1 == 2));
}

TEST(ErrorTest, AssertSaysItIsABug) {
  try {
    QREPORT_ASSERT(1 + 1 == 3, "arithmetic is {}", "broken");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    EXPECT_THAT(e.what(), HasSubstr("a bug in qreport"));
    EXPECT_THAT(e.what(), HasSubstr("1 + 1 == 3"));
    EXPECT_THAT(e.what(), HasSubstr("arithmetic is broken"));
  }
}

TEST(ErrorTest, KindsHaveNames) {
  EXPECT_STREQ(ToString(ErrorKind::kBadModel), "bad model");
  EXPECT_STREQ(ToString(ErrorKind::kIo), "I/O error");
}

}  // namespace
}  // namespace qreport

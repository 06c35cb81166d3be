#include "../../tools/thread_policy.h"

#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli_support.h"

#include "qreport/core/error.h"

namespace qreport::cli {
namespace {

using cli_testing::Environment;

using ::testing::HasSubstr;

TEST(ThreadPolicyTest, TheFlagThenTheEnvironmentThenTheUsableCpus) {
  const auto both = Environment({{"OMP_NUM_THREADS", "3"}, {"MKL_NUM_THREADS", "5"}});
  EXPECT_EQ(ChooseThreads(2, both, 8), 2);
  EXPECT_EQ(ChooseThreads(0, both, 8), 3);
  EXPECT_EQ(ChooseThreads(0, Environment({{"MKL_NUM_THREADS", "5"}}), 8), 5);
  EXPECT_EQ(ChooseThreads(0, Environment({}), 8), 8);
  EXPECT_EQ(ChooseThreads(0, Environment({{"OMP_NUM_THREADS", ""}}), 6), 6);
  EXPECT_EQ(ChooseThreads(0, Environment({}), 0), 1);
}

TEST(ThreadPolicyTest, AnOpenMpListGivesItsOutermostLevel) {
  EXPECT_EQ(ChooseThreads(0, Environment({{"OMP_NUM_THREADS", "4,2"}}), 8), 4);
}

TEST(ThreadPolicyTest, AVariableThatIsNotACountIsAnErrorNamingIt) {
  for (const char* bad : {"abc", "0", "-2", "2x", ",4", "99999999999"}) {
    try {
      ChooseThreads(0, Environment({{"MKL_NUM_THREADS", bad}}), 8);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_THAT(e.what(), HasSubstr(std::string("MKL_NUM_THREADS is '") + bad + "'"));
    }
  }
}

TEST(ThreadPolicyTest, UsableCpusIsAtLeastOne) { EXPECT_GE(UsableCpus(), 1); }

}  // namespace
}  // namespace qreport::cli

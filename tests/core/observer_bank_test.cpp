#include "qreport/core/observer_bank.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::HasSubstr;

std::vector<PointRequest> TwoPoints() {
  ObserverOptions range_only;
  range_only.statistics = kRangeStatistics;
  return {{{"fc1", ObservationPosition::kPre}, ObserverOptions{}},
          {{"fc1", ObservationPosition::kPost}, range_only}};
}

std::string TempPath(const std::string& name) { return ::testing::TempDir() + name; }

TEST(ObserverBankTest, SlotsFollowRequests) {
  ObserverBank bank({"abc", "m.pt"}, TwoPoints());
  ASSERT_EQ(bank.size(), 2u);
  EXPECT_EQ(bank.SlotOf({"fc1", ObservationPosition::kPost}), 1u);
  EXPECT_FALSE(bank.SlotOf({"fc2", ObservationPosition::kPre}).has_value());
  EXPECT_EQ(ToString(bank.key(0)), "fc1 (pre)");
  EXPECT_EQ(ToString(PointKey{"", ObservationPosition::kPost}), "<root> (post)");
}

TEST(ObserverBankTest, SaveLoadMergeRoundTrip) {
  const std::vector<float> a = {1, 2, 3, 4}, b = {-5, 0, 9, 1};
  ObserverBank whole({"abc", "m.pt"}, TwoPoints()), part1({"abc", "m.pt"}, TwoPoints()),
      part2({"abc", "m.pt"}, TwoPoints());
  for (size_t slot = 0; slot < 2; ++slot) {
    whole.Observe(slot, TensorView::Contiguous(a.data(), {2, 2}));
    whole.Observe(slot, TensorView::Contiguous(b.data(), {2, 2}));
    part1.Observe(slot, TensorView::Contiguous(a.data(), {2, 2}));
    part2.Observe(slot, TensorView::Contiguous(b.data(), {2, 2}));
  }
  whole.AddBatches(2);
  part1.AddBatches(1);
  part2.AddBatches(1);
  const std::string path = TempPath("bank_roundtrip.qstate");
  part2.Save(path);
  part1.Merge(ObserverBank::Load(path));
  EXPECT_EQ(part1.batches(), 2);
  for (size_t slot = 0; slot < 2; ++slot) {
    EXPECT_EQ(part1.state(slot).ToJson(), whole.state(slot).ToJson());
  }
  std::ifstream tmp(path + ".tmp");
  EXPECT_FALSE(tmp.good()) << "the temporary file is renamed away";
  std::remove(path.c_str());
}

TEST(ObserverBankTest, MergeRefusesAnotherModel) {
  ObserverBank a({"abc", "a.pt"}, TwoPoints()), b({"xyz", "b.pt"}, TwoPoints());
  try {
    a.Merge(b);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("different models (a.pt and b.pt)"));
  }
  ObserverBank c({"abc", "a.pt"}, {TwoPoints()[0]});
  EXPECT_THROW(a.Merge(c), Error);
}

TEST(ObserverBankTest, LoadErrorsNameTheFile) {
  const std::string path = TempPath("not_a_state.qstate");
  std::ofstream(path) << "hello";
  try {
    ObserverBank::Load(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadData);
    EXPECT_THAT(e.what(), HasSubstr(path + ": not a qreport state file"));
  }
  std::remove(path.c_str());
  try {
    ObserverBank::Load(TempPath("missing.qstate"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

TEST(ObserverBankTest, SaveIntoMissingDirectoryIsAnIoError) {
  ObserverBank bank({"abc", "m.pt"}, TwoPoints());
  try {
    bank.Save(TempPath("no/such/dir/state.qstate"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

}  // namespace
}  // namespace qreport

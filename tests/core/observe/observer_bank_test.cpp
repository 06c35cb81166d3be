#include "qreport/core/observe/observer_bank.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
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
  EXPECT_EQ(bank.SlotOf(PointKey{"fc1", ObservationPosition::kPost}), 1u);
  EXPECT_FALSE(bank.SlotOf(PointKey{"fc2", ObservationPosition::kPre}).has_value());
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

// A state file of the right format whose contents were edited, damaged or written by
// another version: rejected with a message naming the file and what is wrong.
class DamagedStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<float> values = {1, 2, 3, 4};
    ObserverBank bank({"abc", "m.pt"}, TwoPoints());
    for (size_t slot = 0; slot < 2; ++slot) {
      bank.Observe(slot, TensorView::Contiguous(values.data(), {2, 2}));
    }
    bank.AddBatches(1);
    bank.Save(path_);
    std::ifstream in(path_, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    saved_ = nlohmann::json::from_cbor(bytes);
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // Writes `json` as the state and returns Load's message.
  std::string LoadError(const nlohmann::json& json) {
    const std::vector<uint8_t> bytes = nlohmann::json::to_cbor(json);
    std::ofstream(path_, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    try {
      ObserverBank::Load(path_);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadData) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(path_ + ": "));
      return e.what();
    }
    ADD_FAILURE() << "loaded: " << json.dump();
    return "";
  }

  nlohmann::json& FirstState() { return saved_["points"][0]["state"]; }

  // One file per test: ctest runs the tests of this fixture in parallel processes.
  const std::string path_ =
      TempPath(std::string("damaged_") +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".qstate");
  nlohmann::json saved_;
};

TEST_F(DamagedStateTest, OtherFormatVersionsNameBothVersions) {
  saved_["version"] = 2;
  EXPECT_THAT(LoadError(saved_), HasSubstr("state format version 2 comes from a newer qreport; "
                                           "this one reads version 1: upgrade qreport"));
  saved_["version"] = 0;
  EXPECT_THAT(LoadError(saved_), HasSubstr("state format version 0 comes from an older qreport; "
                                           "this one reads version 1"));
  saved_["version"] = 1.5;
  EXPECT_THAT(LoadError(saved_), HasSubstr("no format version"));
}

TEST_F(DamagedStateTest, CountsMustBeWholeAndNotNegative) {
  nlohmann::json nan_count = saved_;
  nan_count["points"][0]["state"]["num_batches"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(LoadError(nan_count), HasSubstr("'num_batches' must hold whole numbers"));
  nlohmann::json negative = saved_;
  negative["points"][0]["state"]["percentile_batches"][1] = -3;
  EXPECT_THAT(LoadError(negative), HasSubstr("'percentile_batches' must not be negative, got -3"));
  nlohmann::json batches = saved_;
  batches["batches"] = -1;
  EXPECT_THAT(LoadError(batches), HasSubstr("'batches' must not be negative"));
  nlohmann::json issues = saved_;
  issues["points"][1]["state"]["issues"]["empty_batches"] = 2.5;
  EXPECT_THAT(LoadError(issues), HasSubstr("'empty_batches' must hold whole numbers"));
}

TEST_F(DamagedStateTest, ChannelArraysMustAgree) {
  FirstState()["max_val"].erase(0);
  EXPECT_THAT(LoadError(saved_), HasSubstr("per-channel arrays differ in length"));
}

TEST_F(DamagedStateTest, OptionsAndValuesMustBeInRange) {
  nlohmann::json axis = saved_;
  axis["points"][0]["state"]["options"]["channel_axis"] = 1e10;
  EXPECT_THAT(LoadError(axis), HasSubstr("bad channel axis"));
  nlohmann::json percentile = saved_;
  percentile["points"][0]["state"]["options"]["comp_percentile"] = 3;
  EXPECT_THAT(LoadError(percentile), HasSubstr("comp_percentile must be in (0, 1)"));
  nlohmann::json huge = saved_;
  huge["points"][0]["state"]["min_val"][0] = 1e300;
  EXPECT_THAT(LoadError(huge), HasSubstr("'min_val' is out of float32's range"));
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

ObserverOptions Options(uint32_t statistics, int axis = 1, float percentile = 0.9f) {
  ObserverOptions options;
  options.statistics = statistics;
  options.channel_axis = axis;
  options.comp_percentile = percentile;
  return options;
}

TEST(ObserverBankTest, RequestsShareAnObserverOnlyWhenTheirOptionsAllowIt) {
  // The axis matters only when both want channels; the percentile only when both want it.
  EXPECT_TRUE(CanShareObserver(Options(kRangeStatistics, 1), Options(kAllStatistics, -1)));
  EXPECT_FALSE(
      CanShareObserver(Options(kChannelMinMaxStatistics, 1), Options(kPercentileStatistics, -1)));
  EXPECT_TRUE(CanShareObserver(Options(kChannelMinMaxStatistics, 1, 0.9f),
                               Options(kChannelMinMaxStatistics, 1, 0.975f)));
  EXPECT_FALSE(CanShareObserver(Options(kPercentileStatistics, 1, 0.9f),
                                Options(kPercentileStatistics, 1, 0.975f)));

  const PointKey pre{"fc1", ObservationPosition::kPre}, post{"fc1", ObservationPosition::kPost};
  const auto merged = MergePointRequests({{pre, Options(kRangeStatistics, 0, 0.5f)},
                                          {post, Options(kRangeStatistics)},
                                          {pre, Options(kPercentileStatistics, 1, 0.975f)},
                                          {pre, Options(kPercentileStatistics, 1, 0.9f)},
                                          {pre, Options(kChannelMinMaxStatistics, 1)}});
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].key, pre);
  // The range-only request's axis and percentile give way to the first request needing them.
  EXPECT_EQ(merged[0].options, Options(kAllStatistics, 1, 0.975f));
  EXPECT_EQ(merged[1].key, post);
  EXPECT_EQ(merged[2].options, Options(kPercentileStatistics, 1, 0.9f));

  ObserverBank bank({"abc", "m.pt"}, merged);
  EXPECT_EQ(bank.SlotServing(PointRequest{pre, Options(kPercentileStatistics, 1, 0.9f)}), 2u);
  EXPECT_EQ(bank.SlotServing(PointRequest{pre, Options(kChannelMinMaxStatistics, 1)}), 0u);
  EXPECT_FALSE(bank.SlotServing(PointRequest{pre, Options(kPercentileStatistics, 1, 0.5f)}));
  EXPECT_FALSE(bank.SlotServing(PointRequest{post, Options(kChannelMinMaxStatistics, 1)}));
}

// One tensor at several points (a layer's output that is the next module's input): the
// observer with per-channel statistics reads it and the range-only one derives its batch;
// one with another channel axis cannot, and reads it. The states equal observing each
// point on its own, over batches with a NaN and with -0 as the minimum.
TEST(ObserverBankTest, ObserveAllEqualsObservingEachPoint) {
  ObserverOptions range_only;
  range_only.statistics = kRangeStatistics;
  ObserverOptions channels;
  channels.channel_axis = 1;
  ObserverOptions other_axis;
  other_axis.channel_axis = 0;
  const std::vector<PointRequest> points = {{{"conv", ObservationPosition::kPost}, range_only},
                                            {{"relu", ObservationPosition::kPre}, channels},
                                            {{"pool", ObservationPosition::kPre}, other_axis}};
  ObserverBank together({"abc", "m.pt"}, points), apart({"abc", "m.pt"}, points);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::vector<float>> batches = {{1, -2, 3, 4, 5, 6, 0.5f, 8, -1, 2, 3, 7},
                                                   {-0.0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
                                                   {1, nan, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
  for (const auto& batch : batches) {
    const TensorView view = TensorView::Contiguous(batch.data(), {2, 3, 2});
    together.ObserveAll({0, 1, 2}, view);
    for (size_t slot = 0; slot < 3; ++slot) apart.Observe(slot, view);
  }
  for (size_t slot = 0; slot < 3; ++slot) {
    EXPECT_EQ(together.state(slot).ToJson(), apart.state(slot).ToJson()) << "slot " << slot;
  }
  // Derived twice (the range-only point, on the finite batches); the NaN batch was read.
  EXPECT_EQ(together.mapped_updates(), 2);
  EXPECT_EQ(apart.mapped_updates(), 0);
}

TEST(ObserverBankTest, MirrorsHoldWhatTheirLeaderComputes) {
  const std::vector<PointRequest> points = {
      {{"conv1", ObservationPosition::kPost}, ObserverOptions{}},
      {{"conv2", ObservationPosition::kPre}, ObserverOptions{}}};
  ObserverBank bank({"abc", "m.pt"}, points), plain({"abc", "m.pt"}, points);
  bank.Mirror(1, 0);
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {0, -2, 7, 4, 1, 1};
  for (const auto* data : {&a, &b}) {
    bank.Observe(0, TensorView::Contiguous(data->data(), {3, 2}));
    plain.Observe(1, TensorView::Contiguous(data->data(), {3, 2}));
  }
  EXPECT_EQ(bank.state(1).num_batches(), 2);
  EXPECT_EQ(bank.state(1).ToJson(), plain.state(1).ToJson());
  EXPECT_EQ(bank.state(0).ToJson(), plain.state(1).ToJson());
}

TEST(ObserverBankTest, RestoreTakesACheckpointOfTheSamePointsOnly) {
  ObserverBank checkpoint({"abc", "m.pt"}, TwoPoints());
  const std::vector<float> a = {1, 2, 3, 4};
  checkpoint.Observe(0, TensorView::Contiguous(a.data(), {2, 2}));
  checkpoint.AddBatches(1);
  ObserverBank resumed({"abc", "m.pt"}, TwoPoints());
  resumed.Restore(checkpoint);
  EXPECT_EQ(resumed.batches(), 1);
  EXPECT_EQ(resumed.state(0).ToJson(), checkpoint.state(0).ToJson());

  std::vector<PointRequest> other_percentile = TwoPoints();
  other_percentile[0].options.comp_percentile = 0.975f;
  ObserverBank other({"abc", "m.pt"}, other_percentile);
  try {
    other.Restore(checkpoint);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot resume from states that observe different points"));
  }
  ObserverBank another_model({"xyz", "n.pt"}, TwoPoints());
  EXPECT_THROW(another_model.Restore(checkpoint), Error);
}

}  // namespace
}  // namespace qreport

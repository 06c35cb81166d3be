// Differential test: qreport's ObserverState against PyTorch's ModelReportObserver on the
// same batches (written by observer_reference.py at test time).
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "qreport/core/observe/observer.h"

namespace qreport {
namespace {

std::string CaseDir() {
  const char* dir = std::getenv("QREPORT_REFERENCE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : QREPORT_REFERENCE_DIR;
}

nlohmann::json LoadCases() {
  std::ifstream in(CaseDir() + "/observer_cases.json");
  if (!in) throw std::runtime_error("cannot open " + CaseDir() + "/observer_cases.json");
  return nlohmann::json::parse(in)["cases"];
}

double Decode(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    return s == "inf" ? std::numeric_limits<double>::infinity()
                      : -std::numeric_limits<double>::infinity();
  }
  return v.get<double>();
}

struct Batch {
  std::vector<float> data;
  std::vector<int64_t> shape;
  TensorView view() const { return TensorView::Contiguous(data.data(), shape); }
};

std::vector<Batch> LoadBatches(const nlohmann::json& c) {
  std::vector<Batch> batches;
  for (const auto& b : c["batches"]) {
    Batch batch;
    batch.shape = b["shape"].get<std::vector<int64_t>>();
    int64_t n = 1;
    for (int64_t s : batch.shape) n *= s;
    batch.data.resize(static_cast<size_t>(n));
    std::ifstream in(CaseDir() + "/" + b["file"].get<std::string>(), std::ios::binary);
    in.read(reinterpret_cast<char*>(batch.data.data()), n * 4);
    EXPECT_EQ(in.gcount(), n * 4);
    batches.push_back(std::move(batch));
  }
  return batches;
}

ObserverOptions OptionsOf(const nlohmann::json& c) {
  ObserverOptions options;
  options.channel_axis = c["channel_axis"].get<int>();
  options.comp_percentile = c["comp_percentile"].get<float>();
  return options;
}

// Float rounding: the reference accumulates running means in float32, we sum in double.
void ExpectClose(double actual, double expected, const std::string& what) {
  if (std::isinf(expected)) {
    EXPECT_EQ(actual, expected) << what;
    return;
  }
  EXPECT_NEAR(actual, expected, 1e-6 + 2e-6 * std::abs(expected)) << what;
}

void ExpectMatchesReference(const ObserverState& state, const nlohmann::json& ref) {
  EXPECT_EQ(state.num_batches(), ref["num_batches_tracked"].get<int64_t>());
  EXPECT_EQ(state.epoch_min(), Decode(ref["epoch_activation_min"]));
  EXPECT_EQ(state.epoch_max(), Decode(ref["epoch_activation_max"]));
  ExpectClose(state.average_batch_range(), Decode(ref["average_batch_activation_range"]),
              "average_batch_activation_range");
  const auto ratio = state.average_percentile_ratio();
  ASSERT_EQ(state.channels(), static_cast<int64_t>(ref["min_val"].size()));
  for (int64_t c = 0; c < state.channels(); ++c) {
    const auto i = static_cast<size_t>(c);
    const std::string at = " channel " + std::to_string(c);
    EXPECT_EQ(state.min_val()[i], Decode(ref["min_val"][i])) << "min_val" << at;
    EXPECT_EQ(state.max_val()[i], Decode(ref["max_val"][i])) << "max_val" << at;
    ExpectClose(ratio[i], Decode(ref["average_percentile_ratio"][i]),
                "average_percentile_ratio" + at);
    EXPECT_EQ(state.percentile_batches_tracked()[i],
              ref["percentile_batches_tracked"][i].get<int64_t>())
        << "percentile_batches_tracked" << at;
    EXPECT_EQ(state.constant_channels()[i], ref["constant_channels"][i].get<int64_t>())
        << "constant_channels" << at;
  }
  EXPECT_TRUE(state.issues().empty());
}

TEST(ObserverReferenceTest, EveryFieldMatchesOnEveryCase) {
  const nlohmann::json cases = LoadCases();
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    ObserverState state(OptionsOf(c));
    for (const Batch& batch : LoadBatches(c)) state.Update(batch.view());
    ExpectMatchesReference(state, c["reference"]);
  }
}

// Calibrating on A and on B separately and merging equals calibrating on A then B.
TEST(ObserverReferenceTest, MergedHalvesMatchTheReference) {
  for (const auto& c : LoadCases()) {
    const auto batches = LoadBatches(c);
    if (batches.size() < 2) continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    ObserverState first(OptionsOf(c));
    ObserverState second(OptionsOf(c));
    for (size_t i = 0; i < batches.size(); ++i) {
      (i < batches.size() / 2 ? first : second).Update(batches[i].view());
    }
    ObserverState restored = ObserverState::FromJson(
        nlohmann::json::from_cbor(nlohmann::json::to_cbor(second.ToJson())));
    first.Merge(restored);
    ExpectMatchesReference(first, c["reference"]);
  }
}

}  // namespace
}  // namespace qreport

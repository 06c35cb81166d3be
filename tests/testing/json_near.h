// Compares two JSON values the way statistics computed in another order, or by other
// kernels, should be compared: same shape, same keys, same strings and integers, and
// floating-point numbers within `tolerance` times max(1, |a|, |b|). The failure names the
// first path that differs.
//
//   EXPECT_TRUE(JsonNear(merged.ToJson(), sequential.ToJson(), 1e-9)) << slot;
#ifndef QREPORT_TESTS_TESTING_JSON_NEAR_H_
#define QREPORT_TESTS_TESTING_JSON_NEAR_H_

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace qreport::testing {

// REQUIRES: tolerance >= 0. With tolerance 0 only equal numbers pass.
::testing::AssertionResult JsonNear(const nlohmann::json& a, const nlohmann::json& b,
                                    double tolerance);

}  // namespace qreport::testing

#endif  // QREPORT_TESTS_TESTING_JSON_NEAR_H_

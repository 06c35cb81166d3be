#include "testing/json_near.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace qreport::testing {
namespace {

::testing::AssertionResult Near(const nlohmann::json& a, const nlohmann::json& b, double tolerance,
                                const std::string& path) {
  if (a.is_number_float() || b.is_number_float()) {
    if (!a.is_number() || !b.is_number()) {
      return ::testing::AssertionFailure() << path << ": " << a << " vs " << b;
    }
    const double x = a.get<double>(), y = b.get<double>();
    const double bound = tolerance * std::max({1.0, std::fabs(x), std::fabs(y)});
    if (x == y || std::fabs(x - y) <= bound) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << path << ": " << x << " vs " << y << " (tolerance " << tolerance << ")";
  }
  if (a.type() != b.type() || a.size() != b.size()) {
    return ::testing::AssertionFailure() << path << ": " << a.dump() << " vs " << b.dump();
  }
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key())) {
        return ::testing::AssertionFailure() << path << "/" << it.key() << ": missing";
      }
      auto same = Near(it.value(), b.at(it.key()), tolerance, path + "/" + it.key());
      if (!same) return same;
    }
    return ::testing::AssertionSuccess();
  }
  if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i) {
      auto same = Near(a[i], b[i], tolerance, path + "[" + std::to_string(i) + "]");
      if (!same) return same;
    }
    return ::testing::AssertionSuccess();
  }
  if (a == b) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << path << ": " << a << " vs " << b;
}

}  // namespace

::testing::AssertionResult JsonNear(const nlohmann::json& a, const nlohmann::json& b,
                                    double tolerance) {
  return Near(a, b, tolerance, "");
}

}  // namespace qreport::testing

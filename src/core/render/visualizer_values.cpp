#include "render/visualizer_values.h"

#include <limits>

#include "detect/report_keys.h"

namespace qreport::internal {

namespace k = report_keys;

std::optional<double> NumberOf(const nlohmann::ordered_json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  if (text == k::kInf) return std::numeric_limits<double>::infinity();
  if (text == k::kNegInf) return -std::numeric_limits<double>::infinity();
  if (text == k::kNan) return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

Numeric NumbersIn(const nlohmann::ordered_json& value) {
  if (value.is_null()) return Numeric::kEmpty;
  if (!value.is_array()) return NumberOf(value) ? Numeric::kYes : Numeric::kNo;
  Numeric result = Numeric::kEmpty;
  for (const auto& element : value) {
    if (element.is_null()) continue;
    if (element.is_array() || !NumberOf(element)) return Numeric::kNo;
    result = Numeric::kYes;
  }
  return result;
}

TableValue ToTableValue(const nlohmann::ordered_json& value) {
  if (value.is_null()) return std::monostate{};
  if (value.is_boolean()) return value.get<bool>();
  if (const std::optional<double> number = NumberOf(value)) return *number;
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

}  // namespace qreport::internal

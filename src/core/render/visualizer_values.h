// How the visualizer reads report.json values: numbers (the strings "inf", "-inf", "nan"
// included), yes/no and text, each as a table cell. Private to the visualizer's sources.
#ifndef QREPORT_SRC_CORE_RENDER_VISUALIZER_VALUES_H_
#define QREPORT_SRC_CORE_RENDER_VISUALIZER_VALUES_H_

#include <optional>

#include <nlohmann/json.hpp>

#include "qreport/core/render/visualizer.h"

namespace qreport::internal {

// The number a JSON value stands for: a JSON number or a non-finite number's string; nullopt
// for anything else.
std::optional<double> NumberOf(const nlohmann::ordered_json& value);

enum class Numeric {
  kYes,    // numbers (nulls allowed among them)
  kNo,     // something else: text, yes/no, nested arrays
  kEmpty,  // null or an empty array: says nothing
};
// Whether a value (a scalar, or an array of per-channel scalars) holds only numbers.
Numeric NumbersIn(const nlohmann::ordered_json& value);

TableValue ToTableValue(const nlohmann::ordered_json& value);

}  // namespace qreport::internal

#endif  // QREPORT_SRC_CORE_RENDER_VISUALIZER_VALUES_H_

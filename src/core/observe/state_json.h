// Private: reading the counts of a saved state, which come from files users did not write
// (states from other machines), so a NaN, a fraction or a negative number where a count
// belongs is rejected with a message instead of being cast.
#ifndef QREPORT_SRC_CORE_OBSERVE_STATE_JSON_H_
#define QREPORT_SRC_CORE_OBSERVE_STATE_JSON_H_

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace qreport::internal {

// object[key] as a count: a whole number in [0, 2^63). Throws Error(kBadData) naming `key`;
// nlohmann::json::exception when the key is missing.
int64_t CountFromJson(const nlohmann::json& object, const char* key);
// object[key] as a list of counts.
std::vector<int64_t> CountsFromJson(const nlohmann::json& object, const char* key);
// object[key] as a float32 (Inf and NaN allowed, finite values beyond float32's range not).
float FloatFromJson(const nlohmann::json& object, const char* key);
std::vector<float> FloatsFromJson(const nlohmann::json& object, const char* key);

}  // namespace qreport::internal

#endif  // QREPORT_SRC_CORE_OBSERVE_STATE_JSON_H_

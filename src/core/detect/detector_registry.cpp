#include <algorithm>
#include <string>

#include "qreport/core/detect/detector.h"
#include "qreport/core/error.h"

namespace qreport {

DetectorRegistry DetectorRegistry::BuiltIn() {
  DetectorRegistry registry;
  registry.Add("per_channel_detector", "per_channel", [](const DetectorOptions& options) {
    return MakePerChannelDetector(options.per_channel);
  });
  registry.Add("dynamic_vs_static_detector", "dynamic_static", [](const DetectorOptions& options) {
    return MakeDynamicStaticDetector(options.dynamic_static);
  });
  registry.Add("input_weight_equalization_detector", "input_weight_equalization",
               [](const DetectorOptions& options) {
                 return MakeEqualizationDetector(options.equalization);
               });
  registry.Add("outlier_detector", "outlier",
               [](const DetectorOptions& options) { return MakeOutlierDetector(options.outlier); });
  return registry;
}

void DetectorRegistry::Add(std::string name, std::string short_name, Factory factory) {
  for (const Entry& entry : entries_) {
    QREPORT_CHECK(
        entry.name != name && entry.short_name != name &&
            (short_name.empty() || (entry.name != short_name && entry.short_name != short_name)),
        "detector name '{}' ('{}') is already registered", name, short_name);
  }
  entries_.push_back({std::move(name), std::move(short_name), std::move(factory)});
}

std::unique_ptr<Detector> DetectorRegistry::Create(std::string_view name,
                                                   const DetectorOptions& options) const {
  for (const Entry& entry : entries_) {
    if (entry.name == name || (!entry.short_name.empty() && entry.short_name == name)) {
      return entry.factory(options);
    }
  }
  std::string known;
  for (const Entry& entry : entries_) {
    if (!known.empty()) known += ", ";
    known += entry.short_name.empty() ? entry.name : entry.name + " (" + entry.short_name + ")";
  }
  throw MakeError(ErrorKind::kInvalidArgument, "unknown detector '{}'; known detectors: {}", name,
                  known.empty() ? "none" : known);
}

std::vector<std::string> DetectorRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const Entry& entry : entries_) out.push_back(entry.name);
  return out;
}

}  // namespace qreport

// Visualizer: report.json merged per module, split into tensor- and channel-level tables.
// The text, CSV and SVG views are in visualizer_views.cpp.
#include "qreport/core/render/visualizer.h"

#include <algorithm>
#include <set>

#include "detect/report_keys.h"
#include "qreport/core/error.h"
#include "render/visualizer_values.h"

namespace qreport {
namespace {

namespace k = report_keys;
using Json = nlohmann::ordered_json;

bool IsTopLevelKey(const std::string& key) {
  return key == k::kSchemaVersionKey || key == k::kModel || key == k::kBatches ||
         key == k::kThreads || key == k::kNotObserved || key == k::kNotAnalysed;
}

// A report.json is read back from disk (qreport view, report.html), possibly edited or damaged:
// what qreport itself would never write is refused, not drawn.
void CheckCount(const Json& value, const std::string& where, const char* key) {
  const bool whole =
      value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
  QREPORT_CHECK(whole, "{}: \"{}\" must hold counts (whole numbers, not negative), got {}", where,
                key, value.dump());
}

void CheckFindings(const std::string& source, const std::string& detector, const std::string& fqn,
                   const Json& keys) {
  const std::string where = fmt::format("{}: module '{}' under \"{}\"", source, fqn, detector);
  for (const char* key :
       {k::kOutlierBatchesUsed, k::kConstantBatchCounts, k::kUnboundedRatioBatches}) {
    const auto found = keys.find(key);
    if (found == keys.end() || found->is_null()) continue;
    QREPORT_CHECK(found->is_array(), "{}: \"{}\" must be a list of counts, got {}", where, key,
                  found->type_name());
    for (const Json& value : *found) CheckCount(value, where, key);
  }
  const auto total = keys.find(k::kOutlierTotalBatches);
  if (total != keys.end() && !total->is_null()) CheckCount(*total, where, k::kOutlierTotalBatches);
  // The outlier detector's per-channel lists describe the same channels.
  const char* first = nullptr;
  size_t channels = 0;
  for (const char* key : {k::kOutlierPercentileRatios, k::kOutlierBatchesUsed, k::kOutliersDetected,
                          k::kOutlierSufficientBatches, k::kConstantBatchCounts,
                          k::kInputPerChannelMax, k::kDeadChannels, k::kUnboundedRatioBatches}) {
    if (detector != "outlier_detector") break;
    const auto found = keys.find(key);
    if (found == keys.end() || !found->is_array()) continue;
    if (first == nullptr) {
      first = key;
      channels = found->size();
    }
    QREPORT_CHECK(found->size() == channels, "{}: \"{}\" has {} channels but \"{}\" has {}", where,
                  key, found->size(), first, channels);
  }
}

bool Contains(const std::string& text, const std::string& part) {
  return part.empty() || text.find(part) != std::string::npos;
}

}  // namespace

Visualizer::Visualizer(const Report& report)
    : Visualizer(FromReportJson(ReportToJson(report), "the report")) {}

Visualizer Visualizer::FromReportJson(const Json& report, const std::string& source) {
  QREPORT_CHECK(report.is_object(), "{}: expected a JSON object (report.json), got {}", source,
                report.type_name());
  const auto version = report.find(k::kSchemaVersionKey);
  QREPORT_CHECK(version != report.end() && *version == k::kSchemaVersion,
                "{}: expected \"{}\": {} (a report.json written by qreport), got {}", source,
                k::kSchemaVersionKey, k::kSchemaVersion,
                version == report.end() ? std::string("none") : version->dump());
  const auto batches = report.find(k::kBatches);
  if (batches != report.end()) CheckCount(*batches, source, k::kBatches);
  const auto threads = report.find(k::kThreads);
  QREPORT_CHECK(threads == report.end() || threads->is_null() ||
                    (threads->is_number_integer() && threads->get<int64_t>() > 0),
                "{}: \"{}\" must be a positive count or null, got {}", source, k::kThreads,
                threads == report.end() ? std::string() : threads->dump());
  Visualizer visualizer;
  for (const auto& [detector, modules] : report.items()) {
    if (IsTopLevelKey(detector)) continue;
    QREPORT_CHECK(modules.is_object(),
                  "{}: expected \"{}\" to map module names to findings (an object), got {}", source,
                  detector, modules.type_name());
    size_t insert_at = 0;
    for (const auto& [fqn, keys] : modules.items()) {
      QREPORT_CHECK(keys.is_object(),
                    "{}: expected the findings of module '{}' under \"{}\" to be an object, got {}",
                    source, fqn, detector, keys.type_name());
      CheckFindings(source, detector, fqn, keys);
      visualizer.Add(detector, fqn, keys, insert_at);
    }
  }
  return visualizer;
}

// Detectors list modules in the model's order but each only some of them (layers, or every
// leaf module); a module first seen goes right after the one its detector listed before it, so
// every detector's order survives the merge.
void Visualizer::Add(const std::string& detector, const std::string& fqn, const Json& keys,
                     size_t& insert_at) {
  auto found =
      std::find_if(modules_.begin(), modules_.end(), [&](const Module& m) { return m.fqn == fqn; });
  if (found == modules_.end()) {
    found =
        modules_.insert(modules_.begin() + static_cast<std::ptrdiff_t>(insert_at), Module{fqn, {}});
  }
  insert_at = static_cast<size_t>(found - modules_.begin()) + 1;
  // Not a structured binding: C++17 lets no lambda capture one, and clang enforces it.
  for (const auto& item : keys.items()) {
    const std::string& key = item.key();
    const Json& value = item.value();
    auto same = std::find_if(found->features.begin(), found->features.end(),
                             [&](const Feature& f) { return f.name == key; });
    if (same == found->features.end()) {
      found->features.push_back({key, value});
    } else if (same->value != value) {
      found->features.push_back({key + " [" + detector + "]", value});
    }
  }
}

const Json* Visualizer::Module::Find(const std::string& name) const {
  for (const Feature& feature : features) {
    if (feature.name == name) return &feature.value;
  }
  return nullptr;
}

std::vector<std::string> Visualizer::ModuleFqns() const {
  std::vector<std::string> fqns;
  for (const Module& module : modules_) fqns.push_back(module.fqn);
  return fqns;
}

std::vector<std::string> Visualizer::FeatureNames(bool plottable_only) const {
  std::set<std::string> all, unplottable, numeric;
  for (const Module& module : modules_) {
    for (const Feature& feature : module.features) {
      all.insert(feature.name);
      switch (internal::NumbersIn(feature.value)) {
        case internal::Numeric::kYes:
          numeric.insert(feature.name);
          break;
        case internal::Numeric::kNo:
          unplottable.insert(feature.name);
          break;
        case internal::Numeric::kEmpty:
          break;
      }
    }
  }
  std::vector<std::string> names;
  for (const std::string& name : all) {
    if (!plottable_only || (numeric.count(name) > 0 && unplottable.count(name) == 0)) {
      names.push_back(name);
    }
  }
  return names;
}

std::vector<const Visualizer::Module*> Visualizer::SelectModules(
    const std::string& module_filter) const {
  std::vector<const Module*> selected;
  for (const Module& module : modules_) {
    if (Contains(module.fqn, module_filter)) selected.push_back(&module);
  }
  return selected;
}

FilteredTables Visualizer::GenerateFilteredTables(const TableFilter& filter) const {
  const std::vector<const Module*> modules = SelectModules(filter.module_fqn);
  std::set<std::string> tensor_names, channel_names;
  for (const Module* module : modules) {
    for (const Feature& feature : module->features) {
      if (!Contains(feature.name, filter.feature)) continue;
      (feature.value.is_array() ? channel_names : tensor_names).insert(feature.name);
    }
  }
  FilteredTables tables;
  tables.tensor.features.assign(tensor_names.begin(), tensor_names.end());
  tables.channel.features.assign(channel_names.begin(), channel_names.end());
  for (const Module* module : modules) {
    TensorTable::Row row{module->fqn, {}};
    bool any = false;
    for (const std::string& name : tables.tensor.features) {
      const Json* value = module->Find(name);
      row.values.push_back(value && !value->is_array() ? internal::ToTableValue(*value)
                                                       : TableValue{});
      any = any || !std::holds_alternative<std::monostate>(row.values.back());
    }
    if (any) tables.tensor.rows.push_back(std::move(row));

    std::vector<const Json*> columns;
    size_t channels = 0;
    for (const std::string& name : tables.channel.features) {
      const Json* value = module->Find(name);
      columns.push_back(value && value->is_array() ? value : nullptr);
      if (columns.back()) channels = std::max(channels, columns.back()->size());
    }
    for (size_t c = 0; c < channels; ++c) {
      ChannelTable::Row channel_row{module->fqn, static_cast<int64_t>(c), {}};
      for (const Json* column : columns) {
        channel_row.values.push_back(
            column && c < column->size() ? internal::ToTableValue((*column)[c]) : TableValue{});
      }
      tables.channel.rows.push_back(std::move(channel_row));
    }
  }
  return tables;
}

std::string Visualizer::SelectPlottableFeature(const std::string& feature_filter) const {
  const std::vector<std::string> plottable = FeatureNames(/*plottable_only=*/true);
  std::vector<std::string> candidates;
  for (const std::string& name : plottable) {
    if (name == feature_filter) return name;
    if (Contains(name, feature_filter)) candidates.push_back(name);
  }
  if (candidates.size() == 1) return candidates.front();
  const std::vector<std::string>& listed = candidates.empty() ? plottable : candidates;
  std::string names;
  for (const std::string& name : listed) names += (names.empty() ? "" : ", ") + name;
  throw MakeError(ErrorKind::kInvalidArgument,
                  "feature '{}' {} plottable features; pick one of: {}", feature_filter,
                  candidates.empty() ? "matches no" : "matches several", names);
}

}  // namespace qreport

// The reference's ModelReportVisualizer: the findings of every detector merged per module and
// laid out as tables a person can filter, print, export and plot.
//
//   qreport::Visualizer visualizer(report);              // or FromReportJson(saved, "r.json")
//   std::cout << visualizer.RenderTables({"per_channel", "block1"}, /*max_width=*/120);
//   WriteFile("channels.csv", ChannelTableCsv(visualizer.GenerateFilteredTables({})));
//   WriteFile("ratios.svg", visualizer.PlotAcrossChannels({"percentile_ratios", "fc1"}));
//
// Features are report.json's keys (the reference's names). A feature is channel-level when its
// value is an array (one entry per channel), tensor-level otherwise. When two detectors report
// the same key for a module, equal values are one feature, as in the reference; different
// values (each detector's own "problem", say) keep the first detector's under the plain key
// and name the later one "<key> [<detector>]" instead of failing.
#ifndef QREPORT_CORE_RENDER_VISUALIZER_H_
#define QREPORT_CORE_RENDER_VISUALIZER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "qreport/core/detect/report.h"

namespace qreport {

// One cell: absent (the feature does not apply to the module), a number (non-finite ones
// included), a yes/no, or text.
using TableValue = std::variant<std::monostate, double, bool, std::string>;

// Which part of the data a view shows: features whose name contains `feature` and modules
// whose fqn contains `module_fqn`; empty matches everything.
struct TableFilter {
  std::string feature;
  std::string module_fqn;
};

// One row per module, one column per tensor-level feature (sorted by name).
struct TensorTable {
  struct Row {
    std::string fqn;
    std::vector<TableValue> values;  // one per feature
  };
  std::vector<std::string> features;
  std::vector<Row> rows;  // in the model's order
};

// One row per module and channel, one column per channel-level feature (sorted by name). A
// module has as many rows as its longest selected feature; shorter ones are absent beyond.
struct ChannelTable {
  struct Row {
    std::string fqn;
    int64_t channel = 0;
    std::vector<TableValue> values;  // one per feature
  };
  std::vector<std::string> features;
  std::vector<Row> rows;  // modules in the model's order, channels ascending
};

struct FilteredTables {
  TensorTable tensor;  // no features: nothing tensor-level matched (rows are then empty too)
  ChannelTable channel;
};

class Visualizer {
 public:
  // REQUIRES: as for ReportToJson (distinct detector names, one finding per module).
  explicit Visualizer(const Report& report);

  // From a saved report.json (ReportToJson's schema). Throws qreport::Error(kInvalidArgument)
  // naming `source` and what was expected when the JSON does not have that shape.
  static Visualizer FromReportJson(const nlohmann::ordered_json& report, const std::string& source);

  // Every module any detector reported on, in the model's order.
  std::vector<std::string> ModuleFqns() const;

  // Every feature name, sorted. Plottable features have numbers (per module or per channel).
  std::vector<std::string> FeatureNames(bool plottable_only = true) const;

  FilteredTables GenerateFilteredTables(const TableFilter& filter) const;

  // Both tables as aligned text under a heading each, numbers shortened for reading. A table
  // wider than `max_width` (0: no limit) is split into blocks of columns, each repeating the
  // module (and channel) columns. Says so when nothing matches the filter.
  std::string RenderTables(const TableFilter& filter, size_t max_width = 0) const;

  // Line plots as standalone SVG documents. `filter.feature` must select exactly one plottable
  // feature (a name equal to it wins over names containing it); throws qreport::Error
  // (kInvalidArgument) listing the candidates otherwise, or when no module has its values.
  //
  // Across channels: x is the channel, one line per selected module (channel-level features).
  std::string PlotAcrossChannels(const TableFilter& filter) const;
  // Across modules: x is the module; a channel-level feature is drawn as its mean over the
  // channels with the minimum and maximum beside it, so hundreds of channels stay readable.
  std::string PlotAcrossModules(const TableFilter& filter) const;
  // Histogram of every finite value of the feature (all channels of all selected modules) in
  // `bins` equal bins. REQUIRES: bins >= 1.
  std::string Histogram(const TableFilter& filter, int bins = 10) const;

 private:
  struct Feature {
    std::string name;
    nlohmann::ordered_json value;
  };
  struct Module {
    std::string fqn;
    std::vector<Feature> features;  // in the order first reported

    const nlohmann::ordered_json* Find(const std::string& name) const;  // nullptr: absent
  };

  Visualizer() = default;
  // Merges one detector's findings for `fqn`; a new module goes at `insert_at`, which then
  // points just after the module.
  void Add(const std::string& detector, const std::string& fqn, const nlohmann::ordered_json& keys,
           size_t& insert_at);
  std::string SelectPlottableFeature(const std::string& feature_filter) const;
  std::vector<const Module*> SelectModules(const std::string& module_filter) const;

  std::vector<Module> modules_;
};

// The tables as CSV (RFC 4180): a header row "idx,layer_fqn[,channel],<features>", numbers at
// full precision, absent cells empty, non-finite numbers "inf", "-inf", "nan".
std::string TensorTableCsv(const TensorTable& table);
std::string ChannelTableCsv(const ChannelTable& table);

// A cell as the tables print it: up to four significant digits, integers whole, "-" when
// absent, "yes"/"no" for yes/no.
std::string FormatTableValue(const TableValue& value);

}  // namespace qreport

#endif  // QREPORT_CORE_RENDER_VISUALIZER_H_

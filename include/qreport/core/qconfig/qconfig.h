// Quantization configurations as qreport reasons about them: what a layer's activations and
// weights are quantized with, the user's current configuration, and the mapping qreport
// recommends. Mirrors PyTorch's QConfig / QConfigMapping closely enough to round-trip:
//
//   QConfigMapping current = QConfigMapping::FromJsonFile("current.json");
//   QConfig config = current.Resolve("block.fc", "torch.nn.modules.linear.Linear");
//
// JSON (schema_version 1; every key optional):
//   {"schema_version": 1,
//    "global": {"activation": "static", "weight": "per_tensor"},
//    "object_type": [{"type": "torch.nn.Linear", "qconfig": {...}}],
//    "module_name_regex": [{"regex": "encoder\\..*", "qconfig": {...}}],
//    "module_name": [{"name": "fc1", "qconfig": null}]}
// A qconfig is {"activation": "static"|"dynamic", "weight": "per_tensor"|"per_channel"} or null
// (leave the module in float); a missing "activation"/"weight" is "static"/"per_tensor".
// Observer names PyTorch users know are accepted in place of the two words: e.g.
// "default_per_channel_weight_observer", "PerChannelMinMaxObserver",
// "default_per_channel_weight_fake_quant" (per_channel); "default_dynamic_quant_observer",
// "PlaceholderObserver" (dynamic); "default_observer", "HistogramObserver" (static). A whole
// qconfig may also be one of PyTorch's names: "default_qconfig", "default_per_channel_qconfig",
// "default_dynamic_qconfig", "per_channel_dynamic_qconfig", "default_qat_qconfig", ...
// module_name "" (the root) is rejected: prepare_fx never applies it; use "global".
#ifndef QREPORT_CORE_QCONFIG_QCONFIG_H_
#define QREPORT_CORE_QCONFIG_QCONFIG_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace qreport {

enum class ActivationMode { kStatic, kDynamic };
enum class WeightScheme { kPerTensor, kPerChannel };

const char* ToString(ActivationMode mode);  // "static" / "dynamic"
const char* ToString(WeightScheme scheme);  // "per_tensor" / "per_channel"

struct QConfig {
  ActivationMode activation = ActivationMode::kStatic;
  WeightScheme weight = WeightScheme::kPerTensor;

  bool operator==(const QConfig& o) const {
    return activation == o.activation && weight == o.weight;
  }
  bool operator!=(const QConfig& o) const { return !(*this == o); }
};

// PyTorch's default_qconfig: static activations (MinMaxObserver), per-tensor weights.
inline QConfig DefaultQConfig() { return {}; }

// Which configuration applies to a module, with prepare_fx's order of precedence: module_name
// (the module or its nearest named ancestor) > module_name_regex (the first pattern that
// re.match accepts: anchored at the start of the name, not at its end) > object_type (the
// module's exact class; a class set twice keeps the last value) > global. nullopt means
// "not quantized". Without a global entry, modules nothing else matches are not quantized,
// as in PyTorch -- except in a mapping with no entries at all (see the constructor).
class QConfigMapping {
 public:
  // No entries at all: every module gets DefaultQConfig(), the configuration the reference
  // assumes when the user gives none.
  QConfigMapping() = default;

  QConfigMapping& SetGlobal(std::optional<QConfig> config);
  // Setting a key again replaces its value in place, as PyTorch's OrderedDicts do.
  // `type` is a Python class name, full ("torch.nn.modules.linear.Linear") or as users
  // write it ("torch.nn.Linear", "nn.Linear", "Linear"): matched on the class name and, when
  // given, the package ("torch.nn" is not "torch.nn.qat"; torch.ao.nn.X is torch.nn.X).
  QConfigMapping& SetObjectType(std::string type, std::optional<QConfig> config);
  // Throws qreport::Error(kInvalidArgument) when `regex` is not a valid ECMAScript regex.
  QConfigMapping& SetModuleNameRegex(std::string regex, std::optional<QConfig> config);
  QConfigMapping& SetModuleName(std::string name, std::optional<QConfig> config);

  // True for a default-constructed mapping (no global, no entries).
  bool empty() const;

  // The configuration of the module `fqn` whose class is `module_type` (as the front-end
  // reports it, e.g. "torch.nn.modules.linear.Linear").
  std::optional<QConfig> Resolve(std::string_view fqn, std::string_view module_type) const;

  // Throws qreport::Error(kInvalidArgument) naming the bad key or value; FromJsonFile adds
  // the path (kIo when it cannot be read).
  static QConfigMapping FromJson(const nlohmann::json& json);
  static QConfigMapping FromJsonFile(const std::string& path);
  // Keys in the schema's order, entries in the mapping's: FromJson(ToJson()) is the same.
  nlohmann::ordered_json ToJson() const;

  // The entries, in the order they were first set.
  using Entries = std::vector<std::pair<std::string, std::optional<QConfig>>>;
  bool has_global() const { return has_global_; }
  const std::optional<QConfig>& global_qconfig() const { return global_; }
  const Entries& object_types() const { return object_type_; }
  const Entries& module_name_regexes() const { return module_name_regex_; }
  const Entries& module_names() const { return module_name_; }

 private:
  bool has_global_ = false;
  std::optional<QConfig> global_;
  Entries object_type_;
  Entries module_name_regex_;
  Entries module_name_;
};

// A Python program that builds the same torch.ao.quantization.QConfigMapping with PyTorch's
// observers (default_observer / default_dynamic_quant_observer for activations,
// default_weight_observer / default_per_channel_weight_observer for weights): set_global,
// set_object_type (the class imported by name), set_module_name_regex, set_module_name, in
// that order. Run as a script it prints a summary of the mapping.
std::string ToPython(const QConfigMapping& mapping);

}  // namespace qreport

#endif  // QREPORT_CORE_QCONFIG_QCONFIG_H_

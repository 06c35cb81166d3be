// QConfigMapping <-> JSON (the schema in qconfig.h). Every error names the key path of the
// offending value and what was allowed there.
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "qreport/core/error.h"
#include "qreport/core/qconfig/qconfig.h"

namespace qreport {
namespace {

constexpr int kSchemaVersion = 1;

using Json = nlohmann::json;

template <typename T>
struct Named {
  std::string_view name;
  T value;
};

using A = ActivationMode;
using W = WeightScheme;

// Names from torch/ao/quantization/{observer,fake_quantize}.py, by what they quantize with.
constexpr Named<ActivationMode> kActivationNames[] = {
    {"static", A::kStatic},
    {"dynamic", A::kDynamic},
    {"default_observer", A::kStatic},
    {"MinMaxObserver", A::kStatic},
    {"MovingAverageMinMaxObserver", A::kStatic},
    {"HistogramObserver", A::kStatic},
    {"default_histogram_observer", A::kStatic},
    {"FakeQuantize", A::kStatic},
    {"FusedMovingAvgObsFakeQuantize", A::kStatic},
    {"default_fake_quant", A::kStatic},
    {"default_histogram_fake_quant", A::kStatic},
    {"default_fused_act_fake_quant", A::kStatic},
    {"default_dynamic_quant_observer", A::kDynamic},
    {"PlaceholderObserver", A::kDynamic},
    {"default_placeholder_observer", A::kDynamic},
    {"default_dynamic_fake_quant", A::kDynamic},
};

constexpr Named<WeightScheme> kWeightNames[] = {
    {"per_tensor", W::kPerTensor},
    {"per_channel", W::kPerChannel},
    {"default_weight_observer", W::kPerTensor},
    {"MinMaxObserver", W::kPerTensor},
    {"MovingAverageMinMaxObserver", W::kPerTensor},
    {"weight_observer_range_neg_127_to_127", W::kPerTensor},
    {"FakeQuantize", W::kPerTensor},
    {"FusedMovingAvgObsFakeQuantize", W::kPerTensor},
    {"default_weight_fake_quant", W::kPerTensor},
    {"default_fused_wt_fake_quant", W::kPerTensor},
    {"fused_wt_fake_quant_range_neg_127_to_127", W::kPerTensor},
    {"default_per_channel_weight_observer", W::kPerChannel},
    {"PerChannelMinMaxObserver", W::kPerChannel},
    {"MovingAveragePerChannelMinMaxObserver", W::kPerChannel},
    {"per_channel_weight_observer_range_neg_127_to_127", W::kPerChannel},
    {"default_per_channel_weight_fake_quant", W::kPerChannel},
    {"default_fused_per_channel_wt_fake_quant", W::kPerChannel},
    {"fused_per_channel_wt_fake_quant_range_neg_127_to_127", W::kPerChannel},
};

// torch/ao/quantization/qconfig.py's ready-made QConfigs.
constexpr Named<QConfig> kQConfigNames[] = {
    {"default_qconfig", {A::kStatic, W::kPerTensor}},
    {"default_per_channel_qconfig", {A::kStatic, W::kPerChannel}},
    {"default_dynamic_qconfig", {A::kDynamic, W::kPerTensor}},
    {"per_channel_dynamic_qconfig", {A::kDynamic, W::kPerChannel}},
    {"default_qat_qconfig", {A::kStatic, W::kPerTensor}},
    {"default_qat_qconfig_v2", {A::kStatic, W::kPerTensor}},
    {"default_dynamic_qat_qconfig", {A::kDynamic, W::kPerTensor}},
    {"default_symmetric_qnnpack_qconfig", {A::kStatic, W::kPerTensor}},
    {"default_per_channel_symmetric_qnnpack_qconfig", {A::kStatic, W::kPerChannel}},
    {"default_symmetric_qnnpack_qat_qconfig", {A::kStatic, W::kPerTensor}},
    {"default_per_channel_symmetric_qnnpack_qat_qconfig", {A::kStatic, W::kPerChannel}},
};

// Where a value sits in the document, for messages: "module_name[2].qconfig.weight".
class KeyPath {
 public:
  KeyPath Key(std::string_view key) const {
    return KeyPath(text_.empty() ? std::string(key) : fmt::format("{}.{}", text_, key));
  }
  KeyPath Index(size_t index) const { return KeyPath(fmt::format("{}[{}]", text_, index)); }

  template <typename... Args>
  [[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) const {
    const std::string what = fmt::format(format, std::forward<Args>(args)...);
    throw Error(ErrorKind::kInvalidArgument,
                text_.empty() ? what : fmt::format("{}: {}", text_, what));
  }

 private:
  explicit KeyPath(std::string text = "") : text_(std::move(text)) {}
  friend KeyPath Root();
  std::string text_;
};

KeyPath Root() { return KeyPath(); }

const Json& Require(const Json& object, const char* key, const KeyPath& path) {
  const auto it = object.find(key);
  if (it == object.end()) path.Fail("missing \"{}\"", key);
  return *it;
}

std::string RequireString(const Json& value, const KeyPath& path) {
  if (!value.is_string()) path.Fail("expected a string, got {}", value.type_name());
  return value.get<std::string>();
}

void RequireKeys(const Json& object, std::initializer_list<std::string_view> allowed,
                 const KeyPath& path) {
  for (const auto& item : object.items()) {
    bool known = false;
    for (std::string_view key : allowed) known = known || item.key() == key;
    if (!known) {
      path.Key(item.key()).Fail("unknown key; expected \"{}\"", fmt::join(allowed, "\", \""));
    }
  }
}

// "torch.ao.quantization.default_observer" and "default_observer" alike.
std::string_view LastComponent(std::string_view name) {
  const auto dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

template <typename T, size_t N>
std::optional<T> Lookup(const Named<T> (&table)[N], std::string_view name) {
  for (const Named<T>& entry : table) {
    if (entry.name == LastComponent(name)) return entry.value;
  }
  return std::nullopt;
}

std::optional<QConfig> ParseQConfig(const Json& value, const KeyPath& path) {
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) {
    const std::string name = value.get<std::string>();
    if (auto config = Lookup(kQConfigNames, name)) return config;
    path.Fail(
        "expected {{\"activation\": ..., \"weight\": ...}}, null, or a PyTorch qconfig name such "
        "as default_qconfig or default_per_channel_qconfig, got \"{}\"",
        name);
  }
  if (!value.is_object()) {
    path.Fail("expected {{\"activation\": ..., \"weight\": ...}} or null, got {}",
              value.type_name());
  }
  RequireKeys(value, {"activation", "weight"}, path);
  QConfig config = DefaultQConfig();
  if (const auto it = value.find("activation"); it != value.end()) {
    const KeyPath at = path.Key("activation");
    const std::string name = RequireString(*it, at);
    const auto mode = Lookup(kActivationNames, name);
    if (!mode) {
      at.Fail(
          "expected \"static\" or \"dynamic\" (or an observer name such as default_observer or "
          "default_dynamic_quant_observer), got \"{}\"",
          name);
    }
    config.activation = *mode;
  }
  if (const auto it = value.find("weight"); it != value.end()) {
    const KeyPath at = path.Key("weight");
    const std::string name = RequireString(*it, at);
    const auto scheme = Lookup(kWeightNames, name);
    if (!scheme) {
      at.Fail(
          "expected \"per_tensor\" or \"per_channel\" (or an observer name such as "
          "default_per_channel_weight_observer), got \"{}\"",
          name);
    }
    config.weight = *scheme;
  }
  return config;
}

// One list entry: {"<key_name>": "...", "qconfig": ...}.
template <typename Setter>
void ParseEntries(const Json& list, const char* key_name, const KeyPath& path, Setter set) {
  if (!list.is_array()) {
    path.Fail("expected an array of {{\"{}\": ..., \"qconfig\": ...}}, got {}", key_name,
              list.type_name());
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const KeyPath at = path.Index(i);
    const Json& entry = list[i];
    if (!entry.is_object()) {
      at.Fail("expected {{\"{}\": ..., \"qconfig\": ...}}, got {}", key_name, entry.type_name());
    }
    RequireKeys(entry, {key_name, "qconfig"}, at);
    const std::string key = RequireString(Require(entry, key_name, at), at.Key(key_name));
    if (entry.find("qconfig") == entry.end()) {
      at.Fail("missing \"qconfig\" (null leaves the module in float)");
    }
    const std::optional<QConfig> config = ParseQConfig(entry["qconfig"], at.Key("qconfig"));
    try {
      set(key, config);
    } catch (const Error& e) {
      at.Key(key_name).Fail("{}", e.what());
    }
  }
}

QConfigMapping ParseMapping(const Json& json) {
  const KeyPath root = Root();
  if (!json.is_object()) root.Fail("expected a JSON object, got {}", json.type_name());
  RequireKeys(json, {"schema_version", "global", "object_type", "module_name_regex", "module_name"},
              root);
  QConfigMapping mapping;
  if (const auto it = json.find("schema_version"); it != json.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() != kSchemaVersion) {
      root.Key("schema_version").Fail("expected {}, got {}", kSchemaVersion, it->dump());
    }
  }
  if (const auto it = json.find("global"); it != json.end()) {
    mapping.SetGlobal(ParseQConfig(*it, root.Key("global")));
  }
  if (const auto it = json.find("object_type"); it != json.end()) {
    ParseEntries(*it, "type", root.Key("object_type"),
                 [&](std::string type, std::optional<QConfig> config) {
                   mapping.SetObjectType(std::move(type), config);
                 });
  }
  if (const auto it = json.find("module_name_regex"); it != json.end()) {
    ParseEntries(*it, "regex", root.Key("module_name_regex"),
                 [&](std::string regex, std::optional<QConfig> config) {
                   mapping.SetModuleNameRegex(std::move(regex), config);
                 });
  }
  if (const auto it = json.find("module_name"); it != json.end()) {
    ParseEntries(*it, "name", root.Key("module_name"),
                 [&](std::string name, std::optional<QConfig> config) {
                   QREPORT_CHECK(!name.empty(),
                                 "the root module \"\" is never matched by prepare_fx; use "
                                 "\"global\" instead");
                   mapping.SetModuleName(std::move(name), config);
                 });
  }
  return mapping;
}

using OrderedJson = nlohmann::ordered_json;

OrderedJson QConfigToJson(const std::optional<QConfig>& config) {
  if (!config) return nullptr;
  return {{"activation", ToString(config->activation)}, {"weight", ToString(config->weight)}};
}

OrderedJson EntriesToJson(const QConfigMapping::Entries& entries, const char* key_name) {
  OrderedJson list = OrderedJson::array();
  for (const auto& [key, config] : entries) {
    list.push_back({{key_name, key}, {"qconfig", QConfigToJson(config)}});
  }
  return list;
}

}  // namespace

QConfigMapping QConfigMapping::FromJson(const nlohmann::json& json) { return ParseMapping(json); }

QConfigMapping QConfigMapping::FromJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  QREPORT_CHECK_KIND(in.good(), ErrorKind::kIo, "{}: cannot open the qconfig file for reading",
                     path);
  std::stringstream text;
  text << in.rdbuf();
  QREPORT_CHECK_KIND(!in.bad(), ErrorKind::kIo, "{}: cannot read the qconfig file", path);
  Json json;
  try {
    json = Json::parse(text.str());
  } catch (const Json::exception& e) {  // a number too large for a double is out_of_range
    throw MakeError(ErrorKind::kInvalidArgument, "{}: not valid JSON: {}", path, e.what());
  }
  try {
    return ParseMapping(json);
  } catch (const Error& e) {
    throw MakeError(e.kind(), "{}: {}", path, e.what());
  }
}

nlohmann::ordered_json QConfigMapping::ToJson() const {
  OrderedJson json = {{"schema_version", kSchemaVersion}};
  if (has_global_) json["global"] = QConfigToJson(global_);
  json["object_type"] = EntriesToJson(object_type_, "type");
  json["module_name_regex"] = EntriesToJson(module_name_regex_, "regex");
  json["module_name"] = EntriesToJson(module_name_, "name");
  return json;
}

}  // namespace qreport

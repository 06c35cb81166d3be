// RecommendQConfigMapping and RecommendEqualizationMapping: every detector's advice combined
// per module (an OR, as the reference's update functions do), kept only where valid, written
// under the module names prepare_fx looks up.
#include <algorithm>
#include <map>

#include "detect/report_keys.h"
#include "qreport/core/detect/report.h"

namespace qreport {
namespace {

namespace k = report_keys;

// What all detectors together say about one module; unset: nobody had an opinion.
struct Combined {
  std::optional<bool> dynamic_activation;
  std::optional<bool> per_channel_weight;
  std::optional<bool> equalization;
};

void Or(std::optional<bool>& into, const std::optional<bool>& value) {
  if (value) into = into.value_or(false) || *value;
}

void Or(Combined& into, const Combined& value) {
  Or(into.dynamic_activation, value.dynamic_activation);
  Or(into.per_channel_weight, value.per_channel_weight);
  Or(into.equalization, value.equalization);
}

std::map<std::string, Combined> CombineAdvice(const Report& report) {
  std::map<std::string, Combined> combined;
  for (const DetectorReport& detector : report.detectors) {
    for (const ModuleAdvice& advice : detector.advice) {
      Or(combined[advice.fqn],
         {advice.dynamic_activation, advice.per_channel_weight, advice.equalization});
    }
  }
  return combined;
}

// The layers that one module_name entry configures: usually one; every weight of a custom
// module that owns several; the inner layer of a fused container (named after the container).
struct MappedModule {
  std::string name;  // the key prepare_fx looks up
  std::string type;  // that module's class
  std::vector<const LayerDescription*> layers;
};

std::vector<MappedModule> GroupByMappingName(const ModelDescription& model) {
  std::vector<MappedModule> modules;
  for (const LayerDescription& layer : model.layers) {
    const bool fused = !layer.fused_parent_fqn.empty();
    const std::string& name = fused ? layer.fused_parent_fqn : layer.fqn;
    auto it = std::find_if(modules.begin(), modules.end(),
                           [&](const MappedModule& m) { return m.name == name; });
    if (it == modules.end()) {
      modules.push_back({name, fused ? layer.fused_parent_type : layer.module_type, {}});
      it = std::prev(modules.end());
    }
    it->layers.push_back(&layer);
  }
  return modules;
}

// The advice for a mapped module: for its own name and for each of its layers' names.
Combined AdviceFor(const MappedModule& module, const std::map<std::string, Combined>& advice) {
  Combined out;
  auto add = [&](const std::string& fqn) {
    if (const auto it = advice.find(fqn); it != advice.end()) Or(out, it->second);
  };
  add(module.name);
  for (const LayerDescription* layer : module.layers) {
    if (layer->fqn != module.name) add(layer->fqn);
  }
  return out;
}

template <typename FindingT, typename Visit>
void ForEachFinding(const Report& report, Visit visit) {
  for (const DetectorReport& detector : report.detectors) {
    for (const Finding& finding : detector.findings) {
      if (const auto* f = std::get_if<FindingT>(&finding)) visit(*f);
    }
  }
}

// Modules a per-channel detector found without per-channel support on its backend.
std::vector<std::string> PerChannelUnsupported(const Report& report) {
  std::vector<std::string> fqns;
  ForEachFinding<PerChannelFinding>(report, [&](const PerChannelFinding& f) {
    if (!f.per_channel_supported) fqns.push_back(f.fqn);
  });
  return fqns;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Starts from the current configuration; applies the combined advice; then drops what
// PyTorch cannot honour: dynamic activations on a conv (prepare_fx would silently leave it in
// float, reference B14) and per-channel weights where the backend has no per-channel kernel.
QConfig Recommend(QConfig config, const Combined& advice, const MappedModule& module,
                  const std::vector<std::string>& per_channel_unsupported) {
  if (advice.dynamic_activation) {
    config.activation =
        *advice.dynamic_activation ? ActivationMode::kDynamic : ActivationMode::kStatic;
  }
  if (advice.per_channel_weight) {
    config.weight =
        *advice.per_channel_weight ? WeightScheme::kPerChannel : WeightScheme::kPerTensor;
  }
  bool all_linear = true;
  bool per_channel_ok = !Contains(per_channel_unsupported, module.name);
  for (const LayerDescription* layer : module.layers) {
    all_linear = all_linear && layer->kind == LayerKind::kLinear;
    per_channel_ok = per_channel_ok && !Contains(per_channel_unsupported, layer->fqn);
  }
  if (!all_linear) config.activation = ActivationMode::kStatic;
  if (!per_channel_ok) config.weight = WeightScheme::kPerTensor;
  return config;
}

}  // namespace

QConfigMapping RecommendQConfigMapping(const ModelDescription& model, const Report& report,
                                       const QConfigMapping& current) {
  const std::map<std::string, Combined> advice = CombineAdvice(report);
  const std::vector<std::string> per_channel_unsupported = PerChannelUnsupported(report);
  const std::vector<MappedModule> modules = GroupByMappingName(model);

  std::vector<std::optional<QConfig>> recommended;
  for (const MappedModule& module : modules) {
    const std::optional<QConfig> now = current.Resolve(module.name, module.type);
    // A module the user leaves in float stays in float: that is their decision, not ours.
    recommended.push_back(now ? std::optional<QConfig>(Recommend(*now, AdviceFor(module, advice),
                                                                 module, per_channel_unsupported))
                              : std::nullopt);
  }

  QConfigMapping result = current;
  // The reference assumes default_qconfig when the user gives none; say so explicitly, since
  // a mapping with entries and no global leaves every other module in float.
  if (current.empty()) result.SetGlobal(DefaultQConfig());
  // An entry for a module also configures its descendants, so check again until every module
  // resolves to its recommendation (parents come first in module order: one or two passes).
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < modules.size(); ++i) {
      if (result.Resolve(modules[i].name, modules[i].type) != recommended[i]) {
        result.SetModuleName(modules[i].name, recommended[i]);
        changed = true;
      }
    }
  }
  return result;
}

nlohmann::ordered_json RecommendEqualizationMapping(const ModelDescription& model,
                                                    const Report& report) {
  const std::map<std::string, Combined> advice = CombineAdvice(report);
  std::map<std::string, const EqualizationFinding*> findings;
  ForEachFinding<EqualizationFinding>(
      report, [&](const EqualizationFinding& f) { findings.emplace(f.fqn, &f); });

  nlohmann::ordered_json modules = nlohmann::ordered_json::array();
  for (const MappedModule& module : GroupByMappingName(model)) {
    bool recommended = AdviceFor(module, advice).equalization.value_or(false);
    int64_t channels = 0, channels_recommended = 0;
    for (const LayerDescription* layer : module.layers) {
      const auto it = findings.find(layer->fqn);
      if (it == findings.end()) continue;
      const EqualizationFinding& f = *it->second;
      recommended = recommended || (f.recommended && !f.problem);
      channels += static_cast<int64_t>(f.channel_recommended.size());
      channels_recommended +=
          std::count(f.channel_recommended.begin(), f.channel_recommended.end(), true);
    }
    if (!recommended) continue;
    modules.push_back({{k::kModuleName, module.name},
                       {k::kChannelsRecommended, channels_recommended},
                       {k::kChannels, channels}});
  }
  return {{k::kSchemaVersionKey, k::kSchemaVersion}, {k::kModules, modules}};
}

}  // namespace qreport

#include "qreport/core/render/inventory.h"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "qreport/core/render/text_table.h"

namespace qreport {
namespace {

constexpr int kSchemaVersion = 1;

void EraseAll(std::string& text, const std::string& piece) {
  for (auto at = text.find(piece); at != std::string::npos; at = text.find(piece)) {
    text.erase(at, piece.size());
  }
}

nlohmann::json OrNull(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

// "input → relu (bn folded)": where the layer is observed, for the table. The modules'
// names are in the JSON; here the kind of step matters more than its name.
std::string DescribePoints(const LayerDescription& layer) {
  const bool bn = !layer.fusion.batch_norm_fqn.empty();
  if (layer.fusion.relu) return bn ? "input → relu (bn folded)" : "input → relu";
  return bn ? "input → bn (folded)" : "input → output";
}

}  // namespace

std::string ShortTypeName(const std::string& python_class_name) {
  if (python_class_name.rfind("torch.", 0) != 0) return python_class_name;
  std::string name = python_class_name.substr(6);
  if (name.rfind("ao.", 0) == 0) name.erase(0, 3);
  // Drop the ".modules.<file>" part Python's public names hide.
  const auto modules = name.find(".modules.");
  if (modules != std::string::npos) {
    const auto file_end = name.find('.', modules + 9);
    if (file_end != std::string::npos) name.erase(modules, file_end - modules);
  }
  EraseAll(name, "___torch_mangle_");
  return name;
}

std::string FormatShape(const std::vector<int64_t>& shape) {
  return fmt::format("{}", fmt::join(shape, "x"));
}

std::string RenderInventoryTable(const LayerInventory& inventory, size_t max_width) {
  TextTable table({{"fqn", Align::kLeft, /*keep=*/true},
                   {"kind"},
                   {"type"},
                   {"weight", Align::kRight},
                   {"groups", Align::kRight},
                   {"calls", Align::kRight},
                   {"observed at"}});
  std::map<LayerKind, int> counts;
  for (const LayerDescription& layer : inventory.layers) {
    std::string type = ShortTypeName(layer.module_type);
    if (!layer.fused_parent_fqn.empty()) {
      type += " in " + ShortTypeName(layer.fused_parent_type);
    }
    if (layer.weight_path != (layer.fqn.empty() ? "weight" : layer.fqn + ".weight")) {
      type += " (" + layer.weight_path + ")";
    }
    table.AddRow({layer.fqn.empty() ? "<root>" : layer.fqn, ToString(layer.kind), type,
                  FormatShape(layer.weight_shape),
                  layer.kind == LayerKind::kLinear ? "-" : std::to_string(layer.groups),
                  std::to_string(layer.call_sites.size()), DescribePoints(layer)});
    ++counts[layer.kind];
  }
  std::string out = table.Render(max_width);
  if (!inventory.unattributed.empty()) {
    out += fmt::format("\n{} call(s) not attributed to a module:\n", inventory.unattributed.size());
    for (const UnattributedCall& call : inventory.unattributed) {
      out +=
          fmt::format("  {}{}: {}\n", call.site.op,
                      call.site.location.empty() ? "" : " at " + call.site.location, call.reason);
    }
  }
  if (!inventory.unanalysed.empty()) {
    out += fmt::format("\n{} Linear/Conv weight(s) not analysed:\n", inventory.unanalysed.size());
    for (const UnanalysedWeight& weight : inventory.unanalysed) {
      out += fmt::format("  {} ({}): {}\n", weight.weight_path, ShortTypeName(weight.module_type),
                         weight.reason);
    }
  }
  std::vector<std::string> parts;
  for (const auto& [kind, count] : counts)
    parts.push_back(fmt::format("{} {}", count, ToString(kind)));
  out += fmt::format("\n{} quantizable layer(s){}{}; fusion {}\n", inventory.layers.size(),
                     parts.empty() ? "" : ": ", fmt::join(parts, ", "),
                     inventory.fusion ? "on (BatchNorm folded, ReLU fused)" : "off");
  return out;
}

nlohmann::json InventoryToJson(const LayerInventory& inventory) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerDescription& layer : inventory.layers) {
    nlohmann::json sites = nlohmann::json::array();
    for (const CallSite& site : layer.call_sites) {
      sites.push_back({{"op", site.op}, {"location", OrNull(site.location)}});
    }
    nlohmann::json points = nlohmann::json::array();
    for (const ObservationPoint& point : layer.observation_points) {
      points.push_back({{"position", ToString(point.position)},
                        {"value", point.value},
                        {"module", OrNull(point.producer_fqn)}});
    }
    nlohmann::json fused_parent = nullptr;
    if (!layer.fused_parent_fqn.empty()) {
      fused_parent = {{"fqn", layer.fused_parent_fqn}, {"module_type", layer.fused_parent_type}};
    }
    layers.push_back({
        {"fqn", layer.fqn},
        {"weight", layer.weight_path},
        {"kind", ToString(layer.kind)},
        {"module_type", layer.module_type},
        {"family", ToString(layer.family)},
        {"fused_parent", fused_parent},
        {"weight_shape", layer.weight_shape},
        {"groups", layer.groups},
        {"weight_channel_axis", layer.weight_channel_axis},
        {"input_channel_axis", layer.input_channel_axis},
        {"call_sites", sites},
        {"observation_points", points},
        {"fusion",
         {{"batch_norm", OrNull(layer.fusion.batch_norm_fqn)},
          {"batch_norm_eps", layer.fusion.batch_norm_fqn.empty()
                                 ? nlohmann::json(nullptr)
                                 : nlohmann::json(layer.fusion.batch_norm_eps)},
          {"relu", layer.fusion.relu},
          {"relu_module", OrNull(layer.fusion.relu_fqn)}}},
    });
  }
  nlohmann::json unattributed = nlohmann::json::array();
  for (const UnattributedCall& call : inventory.unattributed) {
    unattributed.push_back(
        {{"op", call.site.op}, {"location", OrNull(call.site.location)}, {"reason", call.reason}});
  }
  nlohmann::json unanalysed = nlohmann::json::array();
  for (const UnanalysedWeight& weight : inventory.unanalysed) {
    unanalysed.push_back({{"weight", weight.weight_path},
                          {"module", weight.fqn},
                          {"module_type", weight.module_type},
                          {"reason", weight.reason}});
  }
  return {{"schema_version", kSchemaVersion}, {"model", inventory.model_path},
          {"fusion", inventory.fusion},       {"layers", layers},
          {"unattributed", unattributed},     {"not_analysed", unanalysed}};
}

}  // namespace qreport

// The layer inventory of a model (what `qreport inspect` shows) and its views: an aligned
// text table and JSON.
//
//   qreport::LayerInventory inventory{"model.pt", true, graph.layers(), graph.unattributed()};
//   std::cout << qreport::RenderInventoryTable(inventory, 120);
//   std::cout << qreport::InventoryToJson(inventory).dump(2);
#ifndef QREPORT_CORE_RENDER_INVENTORY_H_
#define QREPORT_CORE_RENDER_INVENTORY_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qreport/core/model/layer.h"

namespace qreport {

struct LayerInventory {
  std::string model_path;
  bool fusion = true;
  std::vector<LayerDescription> layers;
  std::vector<UnattributedCall> unattributed;
  std::vector<UnanalysedWeight> unanalysed = {};
};

// A readable Python class name: "torch.nn.modules.conv.Conv2d" -> "nn.Conv2d",
// "torch.ao.nn.qat.modules.linear.Linear" -> "nn.qat.Linear". Other names are unchanged.
std::string ShortTypeName(const std::string& python_class_name);

// "64x3x7x7".
std::string FormatShape(const std::vector<int64_t>& shape);

// A table with one row per layer (fqn, kind, type, weight shape, groups, calls, observation
// points), then the unattributed calls, then a one-line summary. Fits `max_width` columns
// when that is not 0.
std::string RenderInventoryTable(const LayerInventory& inventory, size_t max_width = 0);

// The inventory as JSON; the schema is documented in README.md ("inspect --json").
nlohmann::json InventoryToJson(const LayerInventory& inventory);

}  // namespace qreport

#endif  // QREPORT_CORE_RENDER_INVENTORY_H_

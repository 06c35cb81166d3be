#include "qreport/core/model/model_description.h"

#include <algorithm>

namespace qreport {

const LayerDescription* ModelDescription::FindLayer(const std::string& fqn) const {
  auto found = std::find_if(layers.begin(), layers.end(),
                            [&](const LayerDescription& layer) { return layer.fqn == fqn; });
  return found == layers.end() ? nullptr : &*found;
}

}  // namespace qreport

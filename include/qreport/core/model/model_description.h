// Everything detectors know about a model, filled by a front-end: the quantizable layers,
// every leaf module the forward calls, and the layers' weights.
#ifndef QREPORT_CORE_MODEL_MODEL_DESCRIPTION_H_
#define QREPORT_CORE_MODEL_MODEL_DESCRIPTION_H_

#include <optional>
#include <string>
#include <vector>

#include "qreport/core/data/tensor_view.h"
#include "qreport/core/model/layer.h"
#include "qreport/core/qconfig/qconfig.h"

namespace qreport {

// A module without children that forward calls with tensors (ReLU, BatchNorm, pooling, a
// Linear, ...). Detectors that look at every module's input (outliers) use these.
struct LeafModule {
  std::string fqn;
  std::string module_type;  // Python class name
  int tensor_inputs = 1;    // tensor arguments at its first call site
  // A BatchNorm that every call folds into this layer (fusion on). Folding removes its input
  // from the model that gets quantized, so there is nothing there to observe or to advise on.
  // A module folded at some calls only is observed at the others.
  std::string folded_into;
};

struct ModelDescription {
  std::string path;  // for messages
  std::vector<LayerDescription> layers;
  // weights[i]: the weight detectors analyse for layers[i] (BatchNorm folded in when fusion
  // is on). The front-end owns the data and keeps it alive while the description is used.
  std::vector<TensorView> weights;
  // weight_scheme_in_model[i]: how the model itself quantizes layers[i]'s weight when it
  // carries fake-quant modules (QAT); nullopt for float layers.
  std::vector<std::optional<WeightScheme>> weight_scheme_in_model;
  // Every leaf module called by forward, in module order (named_modules()).
  std::vector<LeafModule> leaf_modules;
  // Weight-bearing modules that are not layers here, with why, in module order.
  std::vector<UnanalysedWeight> unanalysed = {};

  // The layer with this fqn, or nullptr.
  const LayerDescription* FindLayer(const std::string& fqn) const;
};

}  // namespace qreport

#endif  // QREPORT_CORE_MODEL_MODEL_DESCRIPTION_H_

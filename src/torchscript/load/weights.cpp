#include "qreport/torchscript/weights.h"

#include <vector>

#include "graph_utils.h"
#include "qreport/core/error.h"

namespace qreport::torchscript {
namespace {

at::Tensor TensorAt(const Model& model, const std::string& path, const std::string& layer) {
  auto resolved = internal::ResolveAttribute(model.module(), internal::SplitPath(path));
  QREPORT_CHECK_KIND(resolved && resolved->value.isTensor(), ErrorKind::kBadModel,
                     "{}: layer '{}': expected a tensor attribute '{}'", model.path(), layer, path);
  return resolved->value.toTensor();
}

// A BatchNorm created with affine=False stores None for its weight and bias.
std::optional<at::Tensor> OptionalTensorAt(const Model& model, const std::string& path) {
  auto resolved = internal::ResolveAttribute(model.module(), internal::SplitPath(path));
  if (!resolved || !resolved->value.isTensor()) return std::nullopt;
  return resolved->value.toTensor();
}

}  // namespace

at::Tensor AnalysedWeight(const Model& model, const LayerDescription& layer) {
  at::NoGradGuard no_grad;
  at::Tensor weight = TensorAt(model, layer.weight_path, layer.fqn).detach().to(at::kFloat);
  const std::string& bn = layer.fusion.batch_norm_fqn;
  if (bn.empty()) return weight;  // nothing to fold: no copy (callers only read it)

  const at::Tensor running_var = TensorAt(model, bn + ".running_var", layer.fqn).to(at::kFloat);
  at::Tensor scale = at::rsqrt(running_var + layer.fusion.batch_norm_eps);
  if (auto gamma = OptionalTensorAt(model, bn + ".weight")) scale = gamma->to(at::kFloat) * scale;
  QREPORT_CHECK_KIND(scale.numel() == weight.size(0), ErrorKind::kBadModel,
                     "{}: layer '{}': BatchNorm '{}' has {} channels, the weight has {} outputs",
                     model.path(), layer.fqn, bn, scale.numel(), weight.size(0));
  std::vector<int64_t> shape(weight.dim(), 1);
  shape[0] = -1;
  return weight * scale.reshape(shape);
}

}  // namespace qreport::torchscript

// The weight a layer's analyses see.
//
// With fusion on (the default), PyTorch's prepare step folds a BatchNorm that follows a
// Conv or Linear into its weight before anything is observed; the per-channel and
// equalization analyses must see that folded weight, not the raw parameter.
//
//   at::Tensor w = qreport::torchscript::AnalysedWeight(model, *graph.Find("features.0.0"));
#ifndef QREPORT_TORCHSCRIPT_WEIGHTS_H_
#define QREPORT_TORCHSCRIPT_WEIGHTS_H_

#include <torch/script.h>

#include "qreport/core/model/layer.h"
#include "qreport/torchscript/model.h"

namespace qreport::torchscript {

// The layer's weight parameter as float32, multiplied per output channel by
// gamma / sqrt(running_var + eps) of `layer.fusion.batch_norm_fqn` when that is set (the
// formula of torch.nn.utils.fusion.fuse_conv_bn_weights; a new tensor). Without a BatchNorm
// to fold, a float32 weight is returned as is, sharing the parameter's storage: do not write
// to it. The model is not modified.
// REQUIRES: `layer` comes from a LayerGraph of `model`.
at::Tensor AnalysedWeight(const Model& model, const LayerDescription& layer);

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_WEIGHTS_H_

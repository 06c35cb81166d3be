// A model instrumented for calibration: a clone of the user's module whose forward calls an
// ObserverBank at the requested observation points. The user's module is never touched.
//
//   auto model = qreport::torchscript::Model::Load("resnet18.pt");
//   auto prepared = qreport::torchscript::PreparedModel::Prepare(model, {});
//   for (auto& batch : batches) prepared.Forward({batch});
//   const qreport::ObserverBank& bank = prepared.bank();
//
// The observers are side taps: the prepared model computes exactly what the original does,
// bit for bit. A module called at several sites feeds one observer.
#ifndef QREPORT_TORCHSCRIPT_PREPARED_MODEL_H_
#define QREPORT_TORCHSCRIPT_PREPARED_MODEL_H_

#include <memory>
#include <vector>

#include <torch/script.h>

#include "qreport/core/observe/observer_bank.h"
#include "qreport/torchscript/layer_graph.h"
#include "qreport/torchscript/model.h"

namespace qreport::torchscript {

struct PrepareOptions {
  LayerGraphOptions graph;
  // The points to observe: a layer's input or output, or the (first tensor) input of any leaf
  // module forward calls. Empty: every layer's pre and post points, all statistics, with the
  // input channel axis of each layer (1 for Conv, the last axis for Linear).
  std::vector<PointRequest> points;
  // A point observing the output of ReLU, ReLU6, hardtanh or clamp (constant bounds) whose
  // input another observer with at least its statistics sees just before takes its
  // statistics from that observer's batch (ObserverState::UpdateThrough, exact) instead of
  // reading the output. A third of ResNet-18's observed values are ReLU outputs.
  bool map_through_clamps = true;
};

class PreparedModel {
 public:
  // Clones `model`'s module, puts the clone in eval mode and instruments its forward.
  // Requests are merged (MergePointRequests); points that observe the very same graph values
  // share one observer's work (the others mirror it).
  // Throws qreport::Error(kInvalidArgument) for a point whose module does not exist or is
  // never called, or an output point of a module that is not a layer.
  static PreparedModel Prepare(const Model& model, const PrepareOptions& options);

  // Runs one calibration batch (forward's arguments, without `self`) and returns forward's
  // result. Throws qreport::Error(kBadData) when the model rejects the inputs.
  c10::IValue Forward(std::vector<c10::IValue> inputs);

  // The layers as found in the instrumented graph.
  const std::vector<LayerDescription>& layers() const { return layers_; }
  // Every leaf module forward calls, in named_modules() order.
  const std::vector<LeafModule>& leaf_modules() const { return leaf_modules_; }

  // Time spent in the observer calls (viewing activations, updating statistics) since
  // Prepare, in seconds: what calibration costs on top of the model's forward.
  double observer_seconds() const { return *observer_seconds_; }

  const ObserverBank& bank() const { return *bank_; }
  ObserverBank& bank() { return *bank_; }

  // The instrumented clone (for inspection and tests).
  const torch::jit::Module& module() const { return module_; }

 private:
  PreparedModel(torch::jit::Module module, std::shared_ptr<ObserverBank> bank,
                std::shared_ptr<const double> observer_seconds,
                std::vector<LayerDescription> layers, std::vector<LeafModule> leaf_modules,
                std::string model_path)
      : module_(std::move(module)),
        bank_(std::move(bank)),
        observer_seconds_(std::move(observer_seconds)),
        layers_(std::move(layers)),
        leaf_modules_(std::move(leaf_modules)),
        model_path_(std::move(model_path)) {}

  torch::jit::Module module_;
  std::shared_ptr<ObserverBank> bank_;
  std::shared_ptr<const double> observer_seconds_;  // added to by the graph's tap
  std::vector<LayerDescription> layers_;
  std::vector<LeafModule> leaf_modules_;
  std::string model_path_;
};

// The default requests: every layer's input and output, all statistics.
std::vector<PointRequest> AllPoints(const std::vector<LayerDescription>& layers);

// A non-owning view of a CPU tensor for the core. Tensors of types the core cannot read
// (complex, quantized) or not on the CPU are converted first; `keep_alive` then holds the
// converted tensor, which must outlive the view.
TensorView ViewOf(const at::Tensor& tensor, at::Tensor& keep_alive);

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_PREPARED_MODEL_H_

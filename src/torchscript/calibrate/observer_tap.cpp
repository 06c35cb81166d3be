#include "calibrate/observer_tap.h"

#include <torch/custom_class.h>

#include <chrono>
#include <vector>

#include "qreport/torchscript/prepared_model.h"

namespace qreport::torchscript::internal {
namespace {

constexpr const char* kTapAttribute = "_qreport_tap";

// The object the instrumented graph calls: `tap.observe(x, slot)`. It holds the bank, so
// the prepared clone carries its observers with it and no global registry is needed.
class ObserverTap : public torch::CustomClassHolder {
 public:
  ObserverTap(std::shared_ptr<ObserverBank> bank, std::shared_ptr<double> seconds)
      : bank_(std::move(bank)), seconds_(std::move(seconds)), seen_(bank_->size()) {}

  // `site`: which of the point's call sites this is (ObserverState::Update).
  void Observe(const at::Tensor& activation, int64_t slot, int64_t site) {
    const Timer timer(*seconds_);
    Read(activation, slot, site);
  }

  // `output` is clamp(`input`, low, high) and `input_slot` observed `input` just before, in
  // the same block (Prepare makes sure). Its batch is mapped if `input` is still the very
  // tensor that observer saw, unchanged but for an in-place clamp; otherwise, or if mapping
  // would not be exact, `output` is read.
  void ObserveClamp(const at::Tensor& output, const at::Tensor& input, int64_t slot, int64_t site,
                    int64_t input_slot, double low, double high) {
    const Timer timer(*seconds_);
    const ClampMap map{static_cast<float>(low), static_cast<float>(high)};
    if (output.scalar_type() == at::kFloat && output.device().is_cpu() &&
        SeenUnchanged(input, input_slot, output.is_same(input)) &&
        bank_->ObserveThrough(static_cast<size_t>(slot), static_cast<size_t>(input_slot), map)) {
      Remember(output, slot);
      return;
    }
    Read(output, slot, site);
  }

 private:
  // Adds the time from construction to destruction to `seconds`.
  class Timer {
   public:
    explicit Timer(double& seconds) : seconds_(seconds), start_(Clock::now()) {}
    ~Timer() { seconds_ += std::chrono::duration<double>(Clock::now() - start_).count(); }

   private:
    using Clock = std::chrono::steady_clock;
    double& seconds_;
    Clock::time_point start_;
  };

  void Read(const at::Tensor& activation, int64_t slot, int64_t site) {
    at::Tensor converted;
    bank_->Observe(static_cast<size_t>(slot), ViewOf(activation, converted),
                   static_cast<size_t>(site));
    Remember(activation, slot);
  }

  // The tensor a slot's observer saw last and its version counter then (bumped by every
  // in-place op on it). Inference tensors keep no version, so they are never matched.
  struct Seen {
    const c10::TensorImpl* tensor = nullptr;
    int64_t version = 0;
  };

  void Remember(const at::Tensor& tensor, int64_t slot) {
    seen_[static_cast<size_t>(slot)] =
        tensor.is_inference() ? Seen{} : Seen{tensor.unsafeGetTensorImpl(), tensor._version()};
  }

  bool SeenUnchanged(const at::Tensor& tensor, int64_t slot, bool clamped_in_place) const {
    const Seen& seen = seen_[static_cast<size_t>(slot)];
    return seen.tensor != nullptr && !tensor.is_inference() &&
           seen.tensor == tensor.unsafeGetTensorImpl() &&
           tensor._version() == seen.version + (clamped_in_place ? 1 : 0);
  }

  std::shared_ptr<ObserverBank> bank_;
  std::shared_ptr<double> seconds_;
  std::vector<Seen> seen_;
};

// In this file, with the functions Prepare calls, so that linking them links the class too.
TORCH_LIBRARY(qreport, m) {
  m.class_<ObserverTap>("ObserverTap")
      .def("observe", &ObserverTap::Observe)
      .def("observe_clamp", &ObserverTap::ObserveClamp);
}

// `tap.<method>(arguments...)` at the current insertion point.
void InsertTapCall(torch::jit::Graph& graph, const char* method,
                   std::vector<torch::jit::Value*> arguments) {
  torch::jit::Value* self = graph.inputs()[0];
  torch::jit::Value* tap = graph.insertNode(graph.createGetAttr(self, kTapAttribute))->output();
  arguments.insert(arguments.begin(), tap);
  torch::jit::Node* call = graph.create(c10::prim::CallMethod, arguments, 1);
  call->s_(c10::attr::name, method);
  call->output()->setType(c10::NoneType::get());
  graph.insertNode(call);
}

}  // namespace

void AttachObserverTap(torch::jit::Module& clone, std::shared_ptr<ObserverBank> bank,
                       std::shared_ptr<double> seconds) {
  clone.register_attribute(kTapAttribute,
                           c10::getCustomClassType<c10::intrusive_ptr<ObserverTap>>(),
                           c10::make_intrusive<ObserverTap>(std::move(bank), std::move(seconds)));
}

void InsertTap(torch::jit::Graph& graph, torch::jit::Value* value, size_t slot, size_t site) {
  InsertTapCall(graph, "observe",
                {value, graph.insertConstant(static_cast<int64_t>(slot)),
                 graph.insertConstant(static_cast<int64_t>(site))});
}

void InsertClampTap(torch::jit::Graph& graph, torch::jit::Value* output, torch::jit::Value* input,
                    size_t slot, size_t site, size_t input_slot, const ClampMap& map) {
  InsertTapCall(graph, "observe_clamp",
                {output, input, graph.insertConstant(static_cast<int64_t>(slot)),
                 graph.insertConstant(static_cast<int64_t>(site)),
                 graph.insertConstant(static_cast<int64_t>(input_slot)),
                 graph.insertConstant(static_cast<double>(map.low)),
                 graph.insertConstant(static_cast<double>(map.high))});
}

}  // namespace qreport::torchscript::internal

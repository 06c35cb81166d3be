// per_channel_detector: which Linear/Conv layers could quantize their weights per channel on
// the chosen backend, and whether the current configuration already does.
#include <string>

#include "qreport/core/detect/detector.h"

namespace qreport {
namespace {

// Per-channel weight support by backend and layer kind (Linear, Conv1d, Conv2d, Conv3d).
// fbgemm and x86: PyTorch's documented kernels take per-channel weights for all four.
// qnnpack and onednn, checked on Debian's torch 1.13 (the engines it has): each kind with
// QConfig(default_observer, default_per_channel_weight_observer) went through prepare_fx,
// calibration, convert_fx and a quantized forward under either engine, with per_channel_affine
// packed weights. qnnpack's Conv3d runs too (its outputs equal onednn's bit for bit); only
// unpacking its weight (`.weight()`) is unimplemented, which inference never needs.
// The reference instead marks every Linear/Conv supported whatever the backend (spec B3).
constexpr bool kPerChannelSupport[4][4] = {
    /* fbgemm  */ {true, true, true, true},
    /* qnnpack */ {true, true, true, true},
    /* onednn  */ {true, true, true, true},
    /* x86     */ {true, true, true, true},
};

bool PerChannelSupported(Backend backend, LayerKind kind) {
  return kPerChannelSupport[static_cast<int>(backend)][static_cast<int>(kind)];
}

class PerChannelDetector : public Detector {
 public:
  explicit PerChannelDetector(const PerChannelOptions& options) : options_(options) {}

  std::string_view name() const override { return "per_channel_detector"; }

  std::vector<PointRequest> RequestObservers(const ModelDescription&) const override {
    return {};  // reads the model and its configuration only
  }

  DetectorReport Analyze(const AnalysisContext& context) const override {
    DetectorReport report{std::string(name()), {}, {}, {}};
    const ModelDescription& model = context.model;
    for (size_t i = 0; i < model.layers.size(); ++i) {
      const LayerDescription& layer = model.layers[i];
      PerChannelFinding finding;
      finding.fqn = layer.fqn;
      finding.backend = options_.backend;
      finding.per_channel_supported = PerChannelSupported(options_.backend, layer.kind);
      // The model's own fake-quant (a QAT model) says how its weights are quantized; the
      // configuration the user gives applies to float layers (spec B1: the reference
      // instantiates the observer class without its arguments and misreads QAT configs).
      const std::optional<WeightScheme> in_model =
          i < model.weight_scheme_in_model.size() ? model.weight_scheme_in_model[i] : std::nullopt;
      if (in_model) {
        finding.per_channel_used = *in_model == WeightScheme::kPerChannel;
        finding.configuration_source = "the model's fake-quant";
      } else {
        const std::optional<QConfig> config = context.current.Resolve(layer.fqn, layer.module_type);
        finding.quantized = config.has_value();
        finding.per_channel_used = config && config->weight == WeightScheme::kPerChannel;
        // An empty mapping is PyTorch's default_qconfig for every module.
        finding.configuration_source = context.current.empty() ? "default_qconfig" : "--qconfig";
      }
      report.advice.push_back(
          {layer.fqn, std::nullopt, finding.per_channel_supported, std::nullopt});
      report.findings.emplace_back(std::move(finding));
    }
    return report;
  }

 private:
  PerChannelOptions options_;
};

}  // namespace

std::unique_ptr<Detector> MakePerChannelDetector(const PerChannelOptions& options) {
  options.Validate();
  return std::make_unique<PerChannelDetector>(options);
}

}  // namespace qreport

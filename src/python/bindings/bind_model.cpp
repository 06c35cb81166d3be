// The model as the core sees it, filled in by the Python front-end from the eager module tree:
// layers (with fusion and observation points), the leaf modules forward calls, and the
// weights detectors analyse.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "qreport/core/detect/findings.h"
#include "qreport/core/model/model_description.h"
#include "qreport/core/model/module_types.h"

namespace qreport::python {

namespace nb = nanobind;

void BindModel(nb::module_& m) {
  nb::enum_<LayerKind>(m, "LayerKind")
      .value("Linear", LayerKind::kLinear)
      .value("Conv1d", LayerKind::kConv1d)
      .value("Conv2d", LayerKind::kConv2d)
      .value("Conv3d", LayerKind::kConv3d);
  nb::enum_<ModuleFamily>(m, "ModuleFamily")
      .value("Float", ModuleFamily::kFloat)
      .value("Qat", ModuleFamily::kQat)
      .value("QatFused", ModuleFamily::kQatFused)
      .value("Custom", ModuleFamily::kCustom);
  nb::enum_<ModuleRole>(m, "ModuleRole")
      .value("Layer", ModuleRole::kLayer)
      .value("FusedContainer", ModuleRole::kFusedContainer)
      .value("BatchNorm", ModuleRole::kBatchNorm)
      .value("ReLU", ModuleRole::kReLU);
  nb::enum_<ObservationPosition>(m, "Position")
      .value("Pre", ObservationPosition::kPre)
      .value("Post", ObservationPosition::kPost);
  nb::enum_<WeightScheme>(m, "WeightScheme")
      .value("PerTensor", WeightScheme::kPerTensor)
      .value("PerChannel", WeightScheme::kPerChannel);

  m.def(
      "classify_module_type",
      [](const std::string& name)
          -> std::optional<std::tuple<ModuleRole, LayerKind, ModuleFamily>> {
        const auto info = ClassifyModuleType(name);
        if (!info) return std::nullopt;
        return std::make_tuple(info->role, info->kind, info->family);
      },
      nb::arg("python_class_name"),
      "(role, kind, family) of a PyTorch module class such as "
      "'torch.nn.modules.conv.Conv2d', or None for classes qreport does not treat specially.");

  nb::class_<CallSite>(m, "CallSite")
      .def(nb::init<>())
      .def(
          "__init__",
          [](CallSite* self, std::string op, std::string location) {
            new (self) CallSite{std::move(op), std::move(location)};
          },
          nb::arg("op"), nb::arg("location") = "")
      .def_rw("op", &CallSite::op)
      .def_rw("location", &CallSite::location);

  nb::class_<ObservationPoint>(m, "ObservationPoint")
      .def(
          "__init__",
          [](ObservationPoint* self, ObservationPosition position, std::string value,
             std::string producer_fqn) {
            new (self) ObservationPoint{position, std::move(value), std::move(producer_fqn)};
          },
          nb::arg("position"), nb::arg("value"), nb::arg("producer_fqn") = "")
      .def_rw("position", &ObservationPoint::position)
      .def_rw("value", &ObservationPoint::value)
      .def_rw("producer_fqn", &ObservationPoint::producer_fqn);

  nb::class_<Fusion>(m, "Fusion")
      .def(nb::init<>())
      .def_rw("batch_norm_fqn", &Fusion::batch_norm_fqn)
      .def_rw("batch_norm_eps", &Fusion::batch_norm_eps)
      .def_rw("relu", &Fusion::relu)
      .def_rw("relu_fqn", &Fusion::relu_fqn)
      .def("empty", &Fusion::empty);

  nb::class_<LayerDescription>(m, "Layer")
      .def(nb::init<>())
      .def_rw("fqn", &LayerDescription::fqn)
      .def_rw("weight_path", &LayerDescription::weight_path)
      .def_rw("kind", &LayerDescription::kind)
      .def_rw("family", &LayerDescription::family)
      .def_rw("module_type", &LayerDescription::module_type)
      .def_rw("fused_parent_fqn", &LayerDescription::fused_parent_fqn)
      .def_rw("fused_parent_type", &LayerDescription::fused_parent_type)
      .def_rw("weight_shape", &LayerDescription::weight_shape)
      .def_rw("groups", &LayerDescription::groups)
      .def_rw("weight_channel_axis", &LayerDescription::weight_channel_axis)
      .def_rw("input_channel_axis", &LayerDescription::input_channel_axis)
      .def_rw("call_sites", &LayerDescription::call_sites)
      .def_rw("observation_points", &LayerDescription::observation_points)
      .def_rw("fusion", &LayerDescription::fusion)
      .def("__repr__", [](const LayerDescription& layer) {
        return "<qreport Layer " + layer.fqn + " (" + ToString(layer.kind) + ")>";
      });

  nb::class_<LeafModule>(m, "LeafModule")
      .def(
          "__init__",
          [](LeafModule* self, std::string fqn, std::string module_type, int tensor_inputs,
             std::string folded_into) {
            new (self) LeafModule{std::move(fqn), std::move(module_type), tensor_inputs,
                                  std::move(folded_into)};
          },
          nb::arg("fqn"), nb::arg("module_type"), nb::arg("tensor_inputs") = 1,
          nb::arg("folded_into") = "")
      .def_rw("fqn", &LeafModule::fqn)
      .def_rw("module_type", &LeafModule::module_type)
      .def_rw("tensor_inputs", &LeafModule::tensor_inputs)
      .def_rw("folded_into", &LeafModule::folded_into);

  nb::class_<UnanalysedWeight>(m, "UnanalysedWeight")
      .def(
          "__init__",
          [](UnanalysedWeight* self, std::string fqn, std::string module_type,
             std::string weight_path, std::string reason) {
            new (self) UnanalysedWeight{std::move(fqn), std::move(module_type),
                                        std::move(weight_path), std::move(reason)};
          },
          nb::arg("fqn"), nb::arg("module_type"), nb::arg("weight_path"), nb::arg("reason"))
      .def_rw("fqn", &UnanalysedWeight::fqn)
      .def_rw("module_type", &UnanalysedWeight::module_type)
      .def_rw("weight_path", &UnanalysedWeight::weight_path)
      .def_rw("reason", &UnanalysedWeight::reason);

  // Weights are not part of the bound description: Analysis.set_weights takes them with the
  // arrays that own their memory.
  nb::class_<ModelDescription>(m, "ModelDescription")
      .def(nb::init<>())
      .def_rw("path", &ModelDescription::path)
      .def_rw("layers", &ModelDescription::layers)
      .def_rw("weight_scheme_in_model", &ModelDescription::weight_scheme_in_model)
      .def_rw("leaf_modules", &ModelDescription::leaf_modules)
      .def_rw("unanalysed", &ModelDescription::unanalysed);
}

}  // namespace qreport::python

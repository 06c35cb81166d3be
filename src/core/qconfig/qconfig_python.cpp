// ToPython: the mapping as a Python program that builds the same QConfigMapping with
// PyTorch's own observers, so `prepare_fx(model, qconfig_mapping, ...)` uses it directly.
#include <fmt/format.h>

#include "qreport/core/qconfig/qconfig.h"

namespace qreport {
namespace {

constexpr const char* kHeader = R"py("""QConfigMapping written by qreport.

Use it with FX graph mode quantization:

    from qconfig_mapping import qconfig_mapping
    prepared = torch.ao.quantization.quantize_fx.prepare_fx(model, qconfig_mapping, example_inputs)

Run it to print a summary of the mapping.
"""
import importlib

from torch.ao.quantization import (
    QConfig,
    QConfigMapping,
    default_dynamic_quant_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_weight_observer,
)

# The short names PyTorch's documentation imports packages as.
_PACKAGE_ALIASES = {
    "nn": "torch.nn",
    "nnq": "torch.nn.quantized",
    "nnqd": "torch.nn.quantized.dynamic",
    "nnqat": "torch.nn.qat",
    "nni": "torch.nn.intrinsic",
    "nniqat": "torch.nn.intrinsic.qat",
}


def _find_class(name):
    """The class that a name such as "torch.nn.modules.linear.Linear", "torch.nn.Linear",
    "nn.Linear" or "Linear" (looked up in torch.nn) refers to."""
    module_name, _, class_name = name.rpartition(".")
    head, dot, rest = module_name.partition(".")
    module_name = _PACKAGE_ALIASES.get(head, head) + dot + rest if module_name else "torch.nn"
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ImportError(f"object_type {name!r}: cannot import the class: {error}") from error


qconfig_mapping = QConfigMapping()
)py";

constexpr const char* kFooter = R"py(

def _describe(qconfig):
    if qconfig is None:
        return "not quantized"
    dynamic = qconfig.activation is default_dynamic_quant_observer
    per_channel = qconfig.weight is default_per_channel_weight_observer
    activation = "dynamic" if dynamic else "static"
    weight = "per_channel" if per_channel else "per_tensor"
    return f"{activation} activations, {weight} weights"


if __name__ == "__main__":
    print("global:", _describe(qconfig_mapping.global_qconfig))
    for object_type, qconfig in qconfig_mapping.object_type_qconfigs.items():
        print(f"object_type {object_type.__module__}.{object_type.__qualname__}:",
              _describe(qconfig))
    for regex, qconfig in qconfig_mapping.module_name_regex_qconfigs.items():
        print(f"module_name_regex {regex!r}:", _describe(qconfig))
    for name, qconfig in qconfig_mapping.module_name_qconfigs.items():
        print(f"module_name {name!r}:", _describe(qconfig))
)py";

// A Python string literal: JSON's escapes are valid Python escapes; ASCII only.
std::string PythonString(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', /*ensure_ascii=*/true,
                                   nlohmann::json::error_handler_t::replace);
}

std::string PythonQConfig(const std::optional<QConfig>& config) {
  if (!config) return "None";
  return fmt::format(
      "QConfig(activation={}, weight={})",
      config->activation == ActivationMode::kDynamic ? "default_dynamic_quant_observer"
                                                     : "default_observer",
      config->weight == WeightScheme::kPerChannel ? "default_per_channel_weight_observer"
                                                  : "default_weight_observer");
}

void AppendCalls(const QConfigMapping::Entries& entries, const char* method, bool is_class,
                 std::string& out) {
  for (const auto& [key, config] : entries) {
    const std::string target =
        is_class ? fmt::format("_find_class({})", PythonString(key)) : PythonString(key);
    out += fmt::format("qconfig_mapping.{}(\n    {},\n    {},\n)\n", method, target,
                       PythonQConfig(config));
  }
}

}  // namespace

std::string ToPython(const QConfigMapping& mapping) {
  std::string out = kHeader;
  if (mapping.empty()) {
    out += "# No --qconfig: PyTorch's default_qconfig everywhere.\n";
    out += fmt::format("qconfig_mapping.set_global({})\n", PythonQConfig(DefaultQConfig()));
  } else if (mapping.has_global()) {
    out += fmt::format("qconfig_mapping.set_global({})\n", PythonQConfig(mapping.global_qconfig()));
  }
  AppendCalls(mapping.object_types(), "set_object_type", /*is_class=*/true, out);
  AppendCalls(mapping.module_name_regexes(), "set_module_name_regex", /*is_class=*/false, out);
  AppendCalls(mapping.module_names(), "set_module_name", /*is_class=*/false, out);
  return out + kFooter;
}

}  // namespace qreport

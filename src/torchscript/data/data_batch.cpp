#include "data/data_batch.h"

#include <algorithm>

#include "data/dtype_map.h"
#include "qreport/core/error.h"

namespace qreport::torchscript::internal {
namespace {

std::string DTypeName(const at::Tensor& tensor) {
  const auto dtype = CoreDType(tensor.scalar_type());
  return dtype ? ToString(*dtype) : std::string(c10::toString(tensor.scalar_type()));
}

std::string ShapeText(const at::Tensor& tensor) {
  std::string text = "[";
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    if (d > 0) text += ",";
    text += std::to_string(tensor.size(d));
  }
  return text + "]";
}

// "input 'x'" for a named entry, "input 0" otherwise.
std::string EntryLabel(const RawBatch& batch, size_t i) {
  return batch.names[i].empty() ? fmt::format("input {}", i)
                                : fmt::format("input '{}'", batch.names[i]);
}

std::string Signature(const std::vector<ForwardArgument>& arguments) {
  std::string names;
  for (const ForwardArgument& argument : arguments) {
    if (!names.empty()) names += ", ";
    names += argument.name;
  }
  return "forward(" + names + ")";
}

std::string Join(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

// Models are float32 and take integer inputs as int64 (indices); see DataOptions::DTypes.
at::Tensor ModelDefaultDType(const at::Tensor& tensor) {
  if (tensor.is_floating_point()) return tensor.to(at::kFloat);
  if (tensor.scalar_type() == at::kBool || tensor.is_complex()) return tensor;
  return tensor.to(at::kLong);
}

at::Tensor Converted(at::Tensor tensor, const DataOptions& options) {
  if (options.input_dtype) {
    tensor = tensor.to(*options.input_dtype);
  } else if (options.input_scale != 1.0 && !tensor.is_floating_point()) {
    tensor = tensor.to(at::kFloat);
  }
  if (options.input_scale != 1.0) tensor = tensor.mul(options.input_scale);
  return tensor;
}

std::string Describe(const std::string& origin, const std::vector<std::string>& labels,
                     const std::vector<c10::IValue>& inputs) {
  std::string items;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i > 0) items += ", ";
    items += labels[i] + InputSummary(inputs[i]);
  }
  return fmt::format("{}: {} {}", origin, inputs.size() == 1 ? "input" : "inputs", items);
}

}  // namespace

bool IsTensorList(const ForwardArgument& argument) { return argument.type == "List[Tensor]"; }

void SplitListArguments(std::vector<c10::IValue>& inputs,
                        const std::vector<ForwardArgument>& arguments, const std::string& origin) {
  for (size_t i = 0; i < inputs.size() && i < arguments.size(); ++i) {
    if (!IsTensorList(arguments[i]) || !inputs[i].isTensor()) continue;
    const at::Tensor batch = inputs[i].toTensor();
    QREPORT_CHECK_KIND(batch.dim() > 0, ErrorKind::kBadData,
                       "{}: input '{}' is a scalar (0-d), but forward takes {} as a {}: give a "
                       "batch [N, ...] to be split along dimension 0 into N tensors",
                       origin, arguments[i].name, arguments[i].name, arguments[i].type);
    inputs[i] = c10::List<at::Tensor>(at::unbind(batch, 0));
  }
}

std::string InputSummary(const c10::IValue& input) {
  if (input.isTensor()) {
    const at::Tensor& t = input.toTensor();
    return fmt::format(" ({} {})", DTypeName(t), ShapeText(t));
  }
  if (input.isTensorList()) {
    const c10::List<at::Tensor> list = input.toTensorList();
    if (list.empty()) return " (empty list)";
    const at::Tensor first = list.get(0);
    bool alike = true;
    for (size_t i = 1; i < list.size(); ++i) {
      const at::Tensor t = list.get(i);
      alike = alike && t.scalar_type() == first.scalar_type() && t.sizes() == first.sizes();
    }
    return alike
               ? fmt::format(" (list of {} {} {})", list.size(), DTypeName(first), ShapeText(first))
               : fmt::format(" (list of {} tensors)", list.size());
  }
  return " (default)";
}

void CheckNotEmpty(const RawBatch& batch) {
  QREPORT_CHECK_KIND(!batch.tensors.empty(), ErrorKind::kBadData, "{}: holds no arrays",
                     batch.origin);
  for (size_t i = 0; i < batch.tensors.size(); ++i) {
    QREPORT_CHECK_KIND(batch.tensors[i].numel() > 0, ErrorKind::kBadData,
                       "{}: {} is empty (shape {}); calibration needs data", batch.origin,
                       EntryLabel(batch, i), ShapeText(batch.tensors[i]));
  }
}

std::vector<RawBatch> SplitRows(const RawBatch& batch, int64_t rows) {
  QREPORT_ASSERT(rows > 0 && !batch.tensors.empty(), "bad split of {}", batch.origin);
  const at::Tensor& first = batch.tensors.front();
  for (size_t i = 0; i < batch.tensors.size(); ++i) {
    const at::Tensor& t = batch.tensors[i];
    QREPORT_CHECK_KIND(t.dim() > 0, ErrorKind::kBadData,
                       "{}: {} is a scalar (0-d); --batch-size splits arrays along dimension 0",
                       batch.origin, EntryLabel(batch, i));
    QREPORT_CHECK_KIND(t.size(0) == first.size(0), ErrorKind::kBadData,
                       "{}: {} has {} rows but {} has {}; to split a file into batches, all its "
                       "arrays need the same leading (batch) dimension",
                       batch.origin, EntryLabel(batch, i), t.size(0), EntryLabel(batch, 0),
                       first.size(0));
  }
  std::vector<RawBatch> parts;
  for (int64_t begin = 0; begin < first.size(0); begin += rows) {
    const int64_t length = std::min(rows, first.size(0) - begin);
    RawBatch part{fmt::format("{}[{}:{}]", batch.origin, begin, begin + length), batch.names, {}};
    for (const at::Tensor& t : batch.tensors) part.tensors.push_back(t.narrow(0, begin, length));
    parts.push_back(std::move(part));
  }
  return parts;
}

ArrangedBatch Arrange(RawBatch batch, const DataOptions& options) {
  const std::vector<ForwardArgument>& arguments = options.arguments;
  if (options.dtypes == DataOptions::DTypes::kModelDefaults) {
    for (at::Tensor& t : batch.tensors) t = ModelDefaultDType(t);
  }
  for (at::Tensor& t : batch.tensors) t = Converted(std::move(t), options);

  const auto is_argument = [&](const std::string& name) {
    return std::any_of(arguments.begin(), arguments.end(),
                       [&](const ForwardArgument& a) { return a.name == name; });
  };
  const bool by_name = std::any_of(batch.names.begin(), batch.names.end(), is_argument);

  std::vector<c10::IValue> inputs;
  std::vector<std::string> labels;
  if (by_name) {
    for (const std::string& name : batch.names) {
      QREPORT_CHECK_KIND(is_argument(name), ErrorKind::kBadData,
                         "{}: the entry '{}' names no argument of {}; name every entry after an "
                         "argument, or none (np.savez(path, a, b) passes arrays in order)",
                         batch.origin, name, Signature(arguments));
    }
    for (const ForwardArgument& argument : arguments) {
      const auto at = std::find(batch.names.begin(), batch.names.end(), argument.name);
      if (at != batch.names.end()) {
        inputs.emplace_back(batch.tensors[static_cast<size_t>(at - batch.names.begin())]);
      } else {
        QREPORT_CHECK_KIND(argument.default_value.has_value(), ErrorKind::kBadData,
                           "{}: no array for input '{}' of {} (the file holds: {})", batch.origin,
                           argument.name, Signature(arguments), Join(batch.names));
        inputs.push_back(*argument.default_value);
      }
      labels.push_back("'" + argument.name + "'");
    }
  } else {
    if (!arguments.empty()) {
      const auto required = static_cast<size_t>(
          std::count_if(arguments.begin(), arguments.end(),
                        [](const ForwardArgument& a) { return !a.default_value.has_value(); }));
      const size_t count = batch.tensors.size();
      QREPORT_CHECK_KIND(
          count >= required && count <= arguments.size(), ErrorKind::kBadData,
          "{}: {} input(s), but {} takes {}", batch.origin, count, Signature(arguments),
          required == arguments.size() ? std::to_string(required)
                                       : fmt::format("{} to {}", required, arguments.size()));
    }
    for (size_t i = 0; i < batch.tensors.size(); ++i) {
      inputs.emplace_back(batch.tensors[i]);
      labels.push_back(i < arguments.size() ? "'" + arguments[i].name + "'" : std::to_string(i));
    }
  }
  SplitListArguments(inputs, arguments, batch.origin);
  std::string description = Describe(batch.origin, labels, inputs);
  return {std::move(inputs), std::move(description)};
}

}  // namespace qreport::torchscript::internal

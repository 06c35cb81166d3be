#include "graph_utils.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <unordered_set>

#include <fmt/format.h>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/graph_iterator.h>
#include <torch/jit.h>

namespace qreport::torchscript::internal {

using torch::jit::Node;
using torch::jit::Value;

std::string PythonClassName(const c10::ClassTypePtr& type) {
  std::string name = type->name() ? type->name()->qualifiedName() : type->str();
  const std::string prefix = "__torch__.";
  if (name.rfind(prefix, 0) == 0) name.erase(0, prefix.size());
  // TorchScript renames the class of each differently-shaped instance with a
  // "___torch_mangle_N." path segment; Python knows only the unmangled name.
  const std::string mangle = "___torch_mangle_";
  for (auto at = name.find(mangle); at != std::string::npos; at = name.find(mangle)) {
    const auto dot = name.find('.', at);
    name.erase(at, dot == std::string::npos ? std::string::npos : dot - at + 1);
  }
  return name;
}

std::string JoinPath(const std::vector<std::string>& names, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < names.size(); ++i) {
    if (i > 0) out += '.';
    out += names[i];
  }
  return out;
}

std::string JoinPath(const std::vector<std::string>& names) {
  return JoinPath(names, names.size());
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> names;
  if (path.empty()) return names;
  size_t begin = 0;
  while (true) {
    const auto end = path.find('.', begin);
    names.push_back(path.substr(begin, end == std::string::npos ? end : end - begin));
    if (end == std::string::npos) return names;
    begin = end + 1;
  }
}

std::optional<std::vector<std::string>> AttributePath(const Value* value) {
  std::vector<std::string> reversed;
  while (value->node()->kind() == c10::prim::GetAttr) {
    reversed.push_back(value->node()->s(c10::attr::name));
    value = value->node()->input(0);
  }
  const auto& inputs = value->owningGraph()->inputs();
  if (inputs.empty() || value != inputs[0] || reversed.empty()) return std::nullopt;
  return std::vector<std::string>(reversed.rbegin(), reversed.rend());
}

std::optional<ResolvedAttribute> ResolveAttribute(const torch::jit::Module& root,
                                                  const std::vector<std::string>& path) {
  if (path.empty()) return std::nullopt;
  const std::string owner_fqn = JoinPath(path, path.size() - 1);
  std::optional<torch::jit::Module> found = SubmoduleAt(root, owner_fqn);
  if (!found) return std::nullopt;
  torch::jit::Module& owner = *found;
  const std::string& name = path.back();
  if (!owner.hasattr(name)) return std::nullopt;
  ResolvedAttribute out{owner, owner_fqn, name, owner.attr(name), false};
  const auto& type = owner.type();
  if (auto slot = type->findAttributeSlot(name)) out.is_parameter = type->is_parameter(*slot);
  return out;
}

std::optional<torch::jit::Module> SubmoduleAt(const torch::jit::Module& root,
                                              const std::string& fqn) {
  torch::jit::Module module = root;
  for (const std::string& name : SplitPath(fqn)) {
    if (!module.hasattr(name)) return std::nullopt;
    c10::IValue child = module.attr(name);
    // Objects of TorchScript classes that are not modules (torchvision's BoxCoder) hold no
    // parameters, and ClassType asserts when asked about parameter slots of one.
    if (!child.isObject() || !child.toObject()->type()->is_module()) return std::nullopt;
    module = torch::jit::Module(child.toObject());
  }
  return module;
}

std::optional<std::string> ModulePathOf(const Node* node) {
  auto callstack = node->callstack();
  if (!callstack) return std::string();
  std::vector<std::string> names;
  for (const auto& entry : (*callstack)->vec()) {
    const auto& instance = std::get<2>(entry);
    if (!instance) continue;  // a free function: stays in the caller's module
    const std::string& name = instance->instance_name();
    if (name == "SELF") continue;  // a method of the same module
    if (name == "INSTANCE_NAME_UNKNOWN") return std::nullopt;
    names.push_back(name);
  }
  return JoinPath(names);
}

namespace {

std::string FormatRange(const torch::jit::SourceRange& range) {
  auto original = range.findSourceRangeThatGenerated();
  const torch::jit::SourceRange& best = original ? *original : range;
  auto file_line = best.file_line_col();
  if (!file_line) return "";
  return std::get<0>(*file_line) + ":" + std::to_string(std::get<1>(*file_line));
}

}  // namespace

std::string CallLocation(const Node* node) {
  if (auto callstack = node->callstack()) {
    auto frames = (*callstack)->vec();
    if (!frames.empty()) {
      std::string location = FormatRange(std::get<1>(frames.front()));
      if (!location.empty()) return location;
    }
  }
  return FormatRange(node->sourceRange());
}

std::vector<Node*> AllNodes(std::shared_ptr<torch::jit::Graph> graph) {
  std::vector<Node*> nodes;
  torch::jit::DepthFirstGraphNodeIterator it(graph);
  for (Node* node = it.next(); node != nullptr; node = it.next()) nodes.push_back(node);
  return nodes;
}

std::optional<bool> ConstantBool(const Value* value) {
  const c10::optional<c10::IValue> constant = torch::jit::toIValue(value);
  if (constant && constant->isBool()) return constant->toBool();
  return std::nullopt;
}

void TakeOrigin(const Node* from, Node* to) {
  to->setSourceRange(from->sourceRange());
  if (const auto stack = from->callstack()) to->setCallStack(*stack);
  for (torch::jit::Block* block : to->blocks()) {
    for (Node* inner : block->nodes()) TakeOrigin(from, inner);
  }
}

std::vector<Value*> ReplaceWithScript(
    Node* node, const std::string& source, const std::string& function,
    std::map<std::string, std::shared_ptr<torch::jit::CompilationUnit>>& compiled) {
  std::shared_ptr<torch::jit::CompilationUnit>& unit = compiled[source];
  if (!unit) unit = torch::jit::compile(source);
  torch::jit::Graph& body = *torch::jit::toGraphFunction(unit->get_function(function)).graph();
  torch::jit::Graph& graph = *node->owningGraph();
  Node* const before = node->prev();
  torch::jit::WithInsertPoint guard(node);
  std::vector<Value*> outputs = torch::jit::insertGraph(graph, body, node->inputs());
  // A function returns several values as one tuple; the node returns them apart.
  if (outputs.size() == 1 && node->outputs().size() > 1) {
    Node* tuple = outputs.front()->node();
    if (tuple->kind() == c10::prim::TupleConstruct) {
      outputs.assign(tuple->inputs().begin(), tuple->inputs().end());
      tuple->destroy();
    } else {
      outputs = graph.insertNode(graph.createTupleUnpack(outputs.front()))->outputs().vec();
    }
  }
  for (Node* inserted = before->next(); inserted != node; inserted = inserted->next()) {
    TakeOrigin(node, inserted);
  }
  for (size_t i = 0; i < outputs.size(); ++i) node->output(i)->replaceAllUsesWith(outputs[i]);
  node->destroy();
  return outputs;
}

namespace {

bool IsPrimitive(const c10::TypePtr& type) {
  const auto kind = type->kind();
  return kind == c10::TypeKind::BoolType || kind == c10::TypeKind::IntType ||
         kind == c10::TypeKind::FloatType || kind == c10::TypeKind::StringType ||
         kind == c10::TypeKind::NoneType;
}

// Replaces reads of plain bool/int/float/str attributes (mobilenet's `use_res_connect`,
// a conv's `groups`) by their values in this instance, as torch.jit.freeze does, so that a
// branch the instance never takes does not count as a call site. `training` stays a
// variable: the same graph serves both modes. An attribute that forward assigns is kept.
void FoldPrimitiveAttributes(const std::shared_ptr<torch::jit::Graph>& graph,
                             const torch::jit::Module& module) {
  std::unordered_set<std::string> assigned;
  std::vector<Node*> reads;
  for (Node* node : AllNodes(graph)) {
    if (node->kind() == c10::prim::SetAttr) assigned.insert(node->s(c10::attr::name));
    if (node->kind() == c10::prim::GetAttr && IsPrimitive(node->output()->type())) {
      reads.push_back(node);
    }
  }
  for (Node* node : reads) {
    const std::string& name = node->s(c10::attr::name);
    if (name == "training" || assigned.count(name) > 0) continue;
    auto path = AttributePath(node->output());
    if (!path) continue;
    auto resolved = ResolveAttribute(module, *path);
    if (!resolved) continue;
    torch::jit::WithInsertPoint guard(node);
    auto constant = graph->insertConstant(resolved->value);
    node->output()->replaceAllUsesWith(constant);
  }
}

}  // namespace

std::string ConciseTorchError(const std::exception& error) {
  // c10::Error's what() carries a C++ backtrace after the message; msg() does not.
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  const std::string message = c10_error != nullptr ? c10_error->msg() : error.what();
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < message.size()) {
    const auto end = std::min(message.find('\n', begin), message.size());
    if (end > begin) lines.push_back(message.substr(begin, end - begin));
    begin = end + 1;
  }
  if (lines.empty()) return "unknown error";
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
    if (line->find("Error: ") != std::string::npos && line->rfind("  ", 0) != 0) return *line;
  }
  return lines.front();
}

std::optional<uint64_t> FailedAllocationBytes(const std::exception& error) {
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr) return 0;
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  if (c10_error == nullptr) return std::nullopt;
  // DefaultCPUAllocator's words, the same in LibTorch 1.13 and 2.x.
  const std::string& message = c10_error->msg();
  if (message.find("can't allocate memory") == std::string::npos) return std::nullopt;
  const std::string marker = "tried to allocate ";
  const auto at = message.find(marker);
  if (at == std::string::npos) return 0;
  return std::strtoull(message.c_str() + at + marker.size(), nullptr, 10);
}

std::string ByteSize(uint64_t bytes) {
  static constexpr const char* kDecimal[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  static constexpr const char* kBinary[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  auto scaled = [bytes](double base, int& unit) {
    double value = static_cast<double>(bytes);
    for (unit = 0; value >= base && unit < 6; ++unit) value /= base;
    return value;
  };
  int decimal_unit = 0;
  int binary_unit = 0;
  const double decimal = scaled(1000.0, decimal_unit);
  const double binary = scaled(1024.0, binary_unit);
  if (decimal_unit == 0) return fmt::format("{} bytes", bytes);
  return fmt::format("{:.1f} {} ({:.1f} {})", decimal, kDecimal[decimal_unit], binary,
                     kBinary[binary_unit]);
}

void SimplifyForAnalysis(const std::shared_ptr<torch::jit::Graph>& graph,
                         const torch::jit::Module& module) {
  torch::jit::Inline(*graph);
  FoldPrimitiveAttributes(graph, module);
  // Folds branches on constants (nn.ReLU's `if inplace`, the attributes above), so a
  // layer's fused ReLU is the direct user of its output rather than sitting in a dead
  // prim::If, and dead branches do not count as call sites.
  std::shared_ptr<torch::jit::Graph> shared = graph;
  torch::jit::ConstantPropagation(shared);
  torch::jit::EliminateDeadCode(shared);
}

std::shared_ptr<torch::jit::Graph> InlinedForwardGraph(const torch::jit::Module& module) {
  std::shared_ptr<torch::jit::Graph> graph = module.get_method("forward").graph()->copy();
  SimplifyForAnalysis(graph, module);
  return graph;
}

}  // namespace qreport::torchscript::internal

// Private helpers for reading inlined TorchScript graphs: attribute paths, the module a node
// came from, and class names as Python spells them.
#ifndef QREPORT_SRC_TORCHSCRIPT_GRAPH_UTILS_H_
#define QREPORT_SRC_TORCHSCRIPT_GRAPH_UTILS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

namespace qreport::torchscript::internal {

// "__torch__.torch.nn.modules.linear.___torch_mangle_3.Linear" ->
// "torch.nn.modules.linear.Linear": the name `type(m).__module__ + "." + __qualname__` prints.
std::string PythonClassName(const c10::ClassTypePtr& type);

// Joins names with '.', the way named_modules() spells paths ("" for none).
std::string JoinPath(const std::vector<std::string>& names, size_t count);
std::string JoinPath(const std::vector<std::string>& names);

// "block.conv.weight" -> ["block", "conv", "weight"]; "" -> [].
std::vector<std::string> SplitPath(const std::string& path);

// If `value` is read from the module by a chain of prim::GetAttr starting at the graph's
// `self` input, the attribute names along the chain (["block", "conv", "weight"]).
std::optional<std::vector<std::string>> AttributePath(const torch::jit::Value* value);

// What a path of attribute names leads to in `root`.
struct ResolvedAttribute {
  torch::jit::Module owner;  // the module holding the last attribute
  std::string owner_fqn;     // its name as named_modules() spells it
  std::string name;          // the attribute's name
  c10::IValue value;
  bool is_parameter = false;
};
std::optional<ResolvedAttribute> ResolveAttribute(const torch::jit::Module& root,
                                                  const std::vector<std::string>& path);

// The submodule of `root` named `fqn` ("" is `root` itself), or nullopt.
std::optional<torch::jit::Module> SubmoduleAt(const torch::jit::Module& root,
                                              const std::string& fqn);

// The fully qualified name of the innermost module whose method `node` was inlined from,
// from the node's inlined call stack; "" for nodes of the root's own forward. nullopt when a
// frame on the way has no known instance name (a module passed around as a value).
std::optional<std::string> ModulePathOf(const torch::jit::Node* node);

// "file:line" of where `node` was called from the root's forward (the outermost frame of its
// inlined call stack), or of the node itself; "" when the archive carries no source ranges.
std::string CallLocation(const torch::jit::Node* node);

// Every node of `graph`, nested blocks included, in depth-first order.
std::vector<torch::jit::Node*> AllNodes(std::shared_ptr<torch::jit::Graph> graph);

// Replaces `node` by the body of `function` in TorchScript `source` (compiled on first use
// and kept in `compiled`, keyed by the source), called on `node`'s inputs: its nodes take
// `node`'s source range and inlined call stack, so they belong to the same module and call
// site. The function must return what `node` returns (several outputs as one tuple). `node`
// is destroyed.
// The value of a graph constant of type bool; nullopt for anything else.
std::optional<bool> ConstantBool(const torch::jit::Value* value);

// Returns the values that replace `node`'s outputs.
std::vector<torch::jit::Value*> ReplaceWithScript(
    torch::jit::Node* node, const std::string& source, const std::string& function,
    std::map<std::string, std::shared_ptr<torch::jit::CompilationUnit>>& compiled);

// Gives `to`, and the nodes in its blocks, `from`'s source range and inlined call stack: they
// then belong to the same module and call site.
void TakeOrigin(const torch::jit::Node* from, torch::jit::Node* to);

// The line of a LibTorch error a person needs: for errors raised inside the TorchScript
// interpreter the final "RuntimeError: ..." line, else the first line, without backtraces.
std::string ConciseTorchError(const std::exception& error);

// When `error` says an allocation failed (std::bad_alloc, or LibTorch's allocator refusing):
// the bytes it asked for, 0 when it did not say. nullopt for any other error.
std::optional<uint64_t> FailedAllocationBytes(const std::exception& error);

// 25600000000000 -> "25.6 TB (23.3 TiB)": decimal as disks and RAM are sold, binary as
// top(1) shows them.
std::string ByteSize(uint64_t bytes);

// Inlines every call in `graph` (a forward graph of `module`), folds plain attributes of
// this instance and constant branches, in place. Values computed stay bit-identical.
void SimplifyForAnalysis(const std::shared_ptr<torch::jit::Graph>& graph,
                         const torch::jit::Module& module);

// The graph of `forward`, copied, with every method and function call inlined and constant
// conditions folded. The module's own graph is left untouched.
std::shared_ptr<torch::jit::Graph> InlinedForwardGraph(const torch::jit::Module& module);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_GRAPH_UTILS_H_

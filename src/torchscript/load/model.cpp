#include "qreport/torchscript/model.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include <fmt/ranges.h>

#include "graph_utils.h"
#include "load/archive_format.h"
#include "load/ops_library.h"
#include "qreport/core/error.h"

namespace qreport::torchscript {
namespace {

constexpr const char* kScriptHint =
    "save the model with torch.jit.script(model).save(path) or "
    "torch.jit.trace(model, example_input).save(path)";

bool Contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

void CheckReadableFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    const int err = errno;
    if (err == ENOENT) throw MakeError(ErrorKind::kIo, "{}: no such file", path);
    throw MakeError(ErrorKind::kIo, "{}: cannot access the file: {}", path, std::strerror(err));
  }
  if (S_ISDIR(info.st_mode)) {
    throw MakeError(ErrorKind::kIo, "{}: is a directory, expected a TorchScript archive (.pt)",
                    path);
  }
  if (info.st_size == 0) {
    throw MakeError(ErrorKind::kBadModel, "{}: the file is empty, expected a TorchScript archive",
                    path);
  }
}

constexpr internal::ArchiveContext kModelArchive = {ErrorKind::kBadModel,
                                                    "LibTorch cannot run pickled Python modules",
                                                    kScriptHint, "export the model again"};

// FNV-1a over the file: cheap (a few ms for ResNet-18's 45 MB) and stable across runs.
std::string Fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t hash = 1469598103934665603ull;
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    for (std::streamsize i = 0; i < n; ++i) {
      hash ^= static_cast<unsigned char>(buffer[static_cast<size_t>(i)]);
      hash *= 1099511628211ull;
    }
  }
  return fmt::format("fnv1a64:{:016x}", hash);
}

// Namespaces of ops LibTorch registers itself: an unknown op there means a newer PyTorch.
bool IsLibTorchNamespace(const std::string& ns) {
  static constexpr const char* kOwn[] = {
      "aten",   "prim",    "quantized", "_quantized", "prepacked", "mkldnn",
      "onednn", "xnnpack", "sparse",    "profiler",   "cuda",      "quantized_decomposed"};
  return std::any_of(std::begin(kOwn), std::end(kOwn), [&](const char* own) { return ns == own; });
}

// An op of a namespace no loaded library registers ("torchvision::nms").
struct UnknownOp {
  std::string op;
  std::string ns;
};

// From LibTorch's "Unknown builtin op: torchvision::nms." ; nullopt for other failures and
// for LibTorch's own namespaces.
std::optional<UnknownOp> FindUnknownCustomOp(const std::string& message) {
  const std::string marker = "Unknown builtin op: ";
  const auto at = message.find(marker);
  if (at == std::string::npos) return std::nullopt;
  std::string op = message.substr(at + marker.size());
  op = op.substr(0, op.find_first_of(" \n"));
  while (!op.empty() && op.back() == '.') op.pop_back();
  const auto colons = op.find("::");
  if (colons == std::string::npos) return std::nullopt;
  std::string ns = op.substr(0, colons);
  if (IsLibTorchNamespace(ns)) return std::nullopt;
  return UnknownOp{std::move(op), std::move(ns)};
}

// What qreport did to find torchvision's ops library itself, for the error that follows.
std::string SearchSummary(const internal::OpsLibrarySearch& search) {
  if (!search.loaded.empty()) {
    return fmt::format(
        "qreport loaded {}, found beside this LibTorch ({}), but it does not register this op",
        search.loaded, search.libtorch);
  }
  if (search.libtorch.empty()) {
    return "qreport could not tell where this LibTorch is loaded from, so it looked for none";
  }
  if (search.tried.empty()) {
    return fmt::format("this LibTorch ({}) is in no layout qreport knows a torchvision for",
                       search.libtorch);
  }
  return fmt::format("qreport looked beside this LibTorch ({}) and tried: {}", search.libtorch,
                     fmt::join(search.tried, "; "));
}

// The error for an archive calling `unknown`: which op, and how to give qreport the library
// that registers it; for torchvision's, where qreport looked for it itself (`search`).
Error CustomOpError(const std::string& path, const UnknownOp& unknown,
                    const internal::OpsLibrarySearch* search) {
  std::string hint;
  if (unknown.ns == "torchvision") {
    hint = "; torchvision's is the _C*.so inside a torchvision package built for this LibTorch";
    if (search != nullptr) hint += " (" + SearchSummary(*search) + ")";
  }
  return MakeError(ErrorKind::kBadModel,
                   "{}: the model calls {}, and no library loaded into qreport registers the "
                   "'{}' ops: load the one that does with --ops-library PATH{}",
                   path, unknown.op, unknown.ns, hint);
}

// Why torch::jit::load failed, as LibTorch said it.
struct LoadFailure {
  std::string message;
  bool from_torch = false;  // a c10::Error, LibTorch's own
};

// Loads the archive into `module`; the failure, if any.
std::optional<LoadFailure> TryLoad(const std::string& path, torch::jit::Module& module) {
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    return LoadFailure{internal::ConciseTorchError(e), true};
  } catch (const std::exception& e) {
    return LoadFailure{internal::ConciseTorchError(e), false};
  }
  return std::nullopt;
}

Error LoadError(const std::string& path, const LoadFailure& failure,
                const internal::OpsLibrarySearch* search) {
  if (auto unknown = FindUnknownCustomOp(failure.message)) {
    return CustomOpError(path, *unknown, search);
  }
  const std::string& message = failure.message;
  if (failure.from_torch &&
      (Contains(message, "Unknown builtin op") || Contains(message, "Unknown type name") ||
       Contains(message, "version"))) {
    return MakeError(ErrorKind::kBadModel,
                     "{}: the model uses operators or types this LibTorch (1.13) does not know; "
                     "it was probably saved by a newer PyTorch: {}",
                     path, message);
  }
  return MakeError(ErrorKind::kBadModel, "{}: cannot load the TorchScript archive: {}", path,
                   message);
}

}  // namespace

void LoadOpsLibrary(const std::string& path) {
  const std::string reason = internal::OpenOpsLibrary(path);
  if (!reason.empty()) {
    throw MakeError(ErrorKind::kIo,
                    "{}: cannot load it as an ops library: {} (it must be a shared library built "
                    "for the LibTorch qreport runs on)",
                    path, reason);
  }
}

Model Model::Load(const std::string& path) {
  CheckReadableFile(path);
  internal::CheckTorchScriptArchive(path, kModelArchive);

  torch::jit::Module module;
  std::string found_ops_library;
  if (auto failure = TryLoad(path, module)) {
    const auto unknown = FindUnknownCustomOp(failure->message);
    if (!unknown || unknown->ns != "torchvision") throw LoadError(path, *failure, nullptr);
    // No library given registers torchvision's ops: look for the one built for this LibTorch.
    const internal::OpsLibrarySearch search = internal::LoadTorchvisionOps();
    if (search.loaded.empty()) throw LoadError(path, *failure, &search);
    if (auto again = TryLoad(path, module)) {
      throw LoadError(path, *again, &search);
    }
    found_ops_library = search.loaded;
  }

  if (!module.find_method("forward")) {
    std::string methods;
    for (const torch::jit::Method& method : module.get_methods()) {
      if (!methods.empty()) methods += ", ";
      methods += method.name();
    }
    throw MakeError(ErrorKind::kBadModel,
                    "{}: the module has no forward method (it has: {}); qreport calibrates "
                    "through forward",
                    path, methods.empty() ? "no methods" : methods);
  }
  return Model(path, std::move(module), Fingerprint(path), std::move(found_ops_library));
}

}  // namespace qreport::torchscript

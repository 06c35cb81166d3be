#include "qreport/torchscript/model.h"

#include <dlfcn.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "graph_utils.h"
#include "load/archive_format.h"
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

// "Unknown builtin op: torchvision::nms." with a namespace no loaded library registers: the
// error says which op, and how to give qreport the library that registers it.
std::optional<Error> CustomOpError(const std::string& path, const std::string& message) {
  const std::string marker = "Unknown builtin op: ";
  const auto at = message.find(marker);
  if (at == std::string::npos) return std::nullopt;
  std::string op = message.substr(at + marker.size());
  op = op.substr(0, op.find_first_of(" \n"));
  while (!op.empty() && op.back() == '.') op.pop_back();
  const auto colons = op.find("::");
  if (colons == std::string::npos) return std::nullopt;
  const std::string ns = op.substr(0, colons);
  if (IsLibTorchNamespace(ns)) return std::nullopt;
  std::string hint;
  if (ns == "torchvision") {
    hint = "; torchvision's is the _C*.so inside a torchvision package built for this LibTorch";
    glob_t found{};
    if (::glob("/usr/lib/python3/dist-packages/torchvision/_C*.so", 0, nullptr, &found) == 0 &&
        found.gl_pathc > 0) {
      hint += fmt::format(" (Debian's python3-torchvision, for Debian's LibTorch: {})",
                          found.gl_pathv[0]);
    }
    ::globfree(&found);
  }
  return MakeError(ErrorKind::kBadModel,
                   "{}: the model calls {}, and no library loaded into qreport registers the "
                   "'{}' ops: load the one that does with --ops-library PATH{}",
                   path, op, ns, hint);
}

}  // namespace

void LoadOpsLibrary(const std::string& path) {
  // RTLD_GLOBAL, as torch.ops.load_library does: the library's ops refer to LibTorch's symbols
  // and register themselves in its dispatcher when their static initialisers run.
  if (::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    const char* reason = ::dlerror();
    throw MakeError(ErrorKind::kIo,
                    "{}: cannot load it as an ops library: {} (it must be a shared library built "
                    "for the LibTorch qreport runs on)",
                    path, reason != nullptr ? reason : "unknown error");
  }
}

Model Model::Load(const std::string& path) {
  CheckReadableFile(path);
  internal::CheckTorchScriptArchive(path, kModelArchive);

  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    const std::string message = internal::ConciseTorchError(e);
    if (auto error = CustomOpError(path, message)) throw *error;
    if (Contains(message, "Unknown builtin op") || Contains(message, "Unknown type name") ||
        Contains(message, "version")) {
      throw MakeError(ErrorKind::kBadModel,
                      "{}: the model uses operators or types this LibTorch (1.13) does not know; "
                      "it was probably saved by a newer PyTorch: {}",
                      path, message);
    }
    throw MakeError(ErrorKind::kBadModel, "{}: cannot load the TorchScript archive: {}", path,
                    message);
  } catch (const std::exception& e) {
    const std::string message = internal::ConciseTorchError(e);
    if (auto error = CustomOpError(path, message)) throw *error;
    throw MakeError(ErrorKind::kBadModel, "{}: cannot load the TorchScript archive: {}", path,
                    message);
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
  return Model(path, std::move(module), Fingerprint(path));
}

}  // namespace qreport::torchscript

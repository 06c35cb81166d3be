#include "qreport/torchscript/model.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
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

}  // namespace

Model Model::Load(const std::string& path) {
  CheckReadableFile(path);
  internal::CheckTorchScriptArchive(path, kModelArchive);

  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    const std::string message = internal::ConciseTorchError(e);
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
    throw MakeError(ErrorKind::kBadModel, "{}: cannot load the TorchScript archive: {}", path,
                    internal::ConciseTorchError(e));
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

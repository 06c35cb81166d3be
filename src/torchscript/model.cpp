#include "qreport/torchscript/model.h"

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/versions.h>

#include "graph_utils.h"
#include "qreport/core/error.h"

namespace qreport::torchscript {
namespace {

constexpr const char* kScriptHint =
    "save the model with torch.jit.script(model).save(path) or "
    "torch.jit.trace(model, example_input).save(path)";

// LibTorch reports "Attempted to read a PyTorch file with version N, but ...".
std::string FileVersionFromMessage(const std::string& message) {
  const std::string key = "with version ";
  const auto at = message.find(key);
  if (at == std::string::npos) return "unknown";
  const auto begin = at + key.size();
  return message.substr(begin, message.find(',', begin) - begin);
}

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

std::array<unsigned char, 4> ReadMagic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw MakeError(ErrorKind::kIo, "{}: cannot open the file for reading: {}", path,
                    std::strerror(errno));
  }
  std::array<unsigned char, 4> magic{};
  in.read(reinterpret_cast<char*>(magic.data()), magic.size());
  return magic;
}

// Every TorchScript archive is a zip file. A torch.save file is a zip too (since PyTorch
// 1.6) or a raw pickle (older, or _use_new_zipfile_serialization=False): detect both so we
// can tell the user what they have and how to get what we need.
void CheckContainer(const std::string& path) {
  const auto magic = ReadMagic(path);
  const bool is_zip = magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
  if (!is_zip) {
    if (magic[0] == 0x80) {
      throw MakeError(ErrorKind::kBadModel,
                      "{}: this is a torch.save pickle (legacy format), not a TorchScript "
                      "archive; LibTorch cannot run pickled Python modules: {}",
                      path, kScriptHint);
    }
    throw MakeError(ErrorKind::kBadModel,
                    "{}: not a TorchScript archive (a TorchScript .pt file is a zip archive)",
                    path);
  }

  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    const std::string message = e.what();
    if (Contains(message, "maximum supported version")) {
      throw MakeError(ErrorKind::kBadModel,
                      "{}: the archive was written by a newer PyTorch than this LibTorch can read "
                      "(file format version {}, this LibTorch reads up to {}): re-export it with "
                      "PyTorch 1.13",
                      path, FileVersionFromMessage(message),
                      caffe2::serialize::kMaxSupportedFileFormatVersion);
    }
    throw MakeError(ErrorKind::kBadModel,
                    "{}: the zip archive is damaged or truncated ({}); export the model again",
                    path, internal::ConciseTorchError(e));
  }

  if (!reader->hasRecord("constants.pkl")) {
    bool has_code = false;
    for (const std::string& record : reader->getAllRecords()) {
      if (record.rfind("code/", 0) == 0) has_code = true;
    }
    if (reader->hasRecord("data.pkl") && !has_code) {
      throw MakeError(ErrorKind::kBadModel,
                      "{}: this is a torch.save archive, not a TorchScript archive; LibTorch "
                      "cannot run pickled Python modules: {}",
                      path, kScriptHint);
    }
    throw MakeError(ErrorKind::kBadModel,
                    "{}: a zip archive, but not a TorchScript one (no constants.pkl); {}", path,
                    kScriptHint);
  }
}

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
  CheckContainer(path);

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

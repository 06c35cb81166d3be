#include "load/ops_library.h"

#include <dlfcn.h>
#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <ATen/Context.h>

namespace qreport::torchscript::internal {
namespace {

namespace fs = std::filesystem;

// Every path matching `pattern`, sorted (glob's order).
std::vector<std::string> Glob(const std::string& pattern) {
  glob_t found{};
  std::vector<std::string> paths;
  if (::glob(pattern.c_str(), 0, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) paths.emplace_back(found.gl_pathv[i]);
  }
  ::globfree(&found);
  return paths;
}

void AddUnique(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

}  // namespace

std::string LibTorchCpuPath() {
  // at::globalContext() is defined in libtorch_cpu.so whichever LibTorch this is.
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&at::globalContext), &info) == 0 ||
      info.dli_fname == nullptr) {
    return "";
  }
  return info.dli_fname;
}

std::vector<std::string> TorchvisionLibraryPatterns(const std::string& libtorch_cpu) {
  std::vector<std::string> patterns;
  const fs::path dir = fs::path(libtorch_cpu).parent_path();
  // A wheel: site-packages/torch/lib/libtorch_cpu.so, torchvision's package beside torch's.
  if (dir.filename() == "lib" && dir.parent_path().filename() == "torch") {
    patterns.push_back((dir.parent_path().parent_path() / "torchvision" / "_C*.so").string());
  }
  // Debian's: /usr/lib/<triplet>/libtorch_cpu.so.*, named /lib/<triplet>/... when the loader
  // found it through the merged /lib; python3-torchvision is built for it.
  const std::string text = dir.string();
  for (const std::string lib : {"/usr/lib", "/lib"}) {
    const bool in_lib = text == lib || (text.rfind(lib + "/", 0) == 0 &&
                                        text.find('/', lib.size() + 1) == std::string::npos);
    if (in_lib) {
      AddUnique(patterns, "/usr/lib/python3/dist-packages/torchvision/_C*.so");
    }
  }
  return patterns;
}

std::string OpenOpsLibrary(const std::string& path) {
  // RTLD_GLOBAL, as torch.ops.load_library does: the library's ops refer to LibTorch's symbols
  // and register themselves in its dispatcher when their static initialisers run.
  if (::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr) return "";
  const char* reason = ::dlerror();
  return reason != nullptr ? reason : "unknown error";
}

OpsLibrarySearch LoadTorchvisionOps() {
  OpsLibrarySearch search;
  search.libtorch = LibTorchCpuPath();
  if (search.libtorch.empty()) return search;
  std::vector<std::string> patterns = TorchvisionLibraryPatterns(search.libtorch);
  std::error_code error;
  const fs::path resolved = fs::canonical(search.libtorch, error);
  if (!error) {
    for (const std::string& pattern : TorchvisionLibraryPatterns(resolved.string())) {
      AddUnique(patterns, pattern);
    }
  }
  for (const std::string& pattern : patterns) {
    const std::vector<std::string> libraries = Glob(pattern);
    if (libraries.empty()) search.tried.push_back(pattern + " (none found)");
    for (const std::string& library : libraries) {
      const std::string reason = OpenOpsLibrary(library);
      if (reason.empty()) {
        search.loaded = library;
        return search;
      }
      search.tried.push_back(library + " (" + reason + ")");
    }
  }
  return search;
}

}  // namespace qreport::torchscript::internal

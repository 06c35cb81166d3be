// Private: loading libraries of custom TorchScript ops, and finding torchvision's for an
// archive that calls torchvision::nms when none was given. torchvision's ops library is only
// usable when built for the very LibTorch this process runs on, so it is looked for beside
// that LibTorch, never in other places a torchvision may be installed.
#ifndef QREPORT_SRC_TORCHSCRIPT_LOAD_OPS_LIBRARY_H_
#define QREPORT_SRC_TORCHSCRIPT_LOAD_OPS_LIBRARY_H_

#include <string>
#include <vector>

namespace qreport::torchscript::internal {

// The file the running LibTorch's CPU library (libtorch_cpu.so) was loaded from, as the
// dynamic loader names it; "" when the loader cannot say.
std::string LibTorchCpuPath();

// Glob patterns of the ops library of a torchvision built for the LibTorch whose CPU library
// is at `libtorch_cpu`, most likely first; empty for a LibTorch in no known layout. Looks at
// the path only:
//   .../site-packages/torch/lib/libtorch_cpu.so (a torch wheel)
//       -> .../site-packages/torchvision/_C*.so
//   /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13 (Debian's; also /lib/..., /usr/lib/...)
//       -> /usr/lib/python3/dist-packages/torchvision/_C*.so (python3-torchvision)
std::vector<std::string> TorchvisionLibraryPatterns(const std::string& libtorch_cpu);

// What looking for torchvision's ops library did.
struct OpsLibrarySearch {
  std::string libtorch;            // LibTorchCpuPath(), what the search started from
  std::string loaded;              // the library now loaded; "" when none could be
  std::vector<std::string> tried;  // "PATH (the loader's reason)" or "PATTERN (none found)"
};

// Looks for torchvision's ops library beside the running LibTorch (the patterns above, for
// the path and for its symbolic links resolved) and loads the first one that loads. Never
// throws: a library that does not load (built for another LibTorch: undefined symbols) is
// listed in `tried` and the next one is tried.
OpsLibrarySearch LoadTorchvisionOps();

// dlopen(path, RTLD_NOW | RTLD_GLOBAL), as torch.ops.load_library does. Returns "" on
// success, else the loader's reason.
std::string OpenOpsLibrary(const std::string& path);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_LOAD_OPS_LIBRARY_H_

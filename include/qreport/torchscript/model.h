// Loading a TorchScript model, with errors a person can act on.
//
// A TorchScript archive is what `torch.jit.script(model).save(path)` or
// `torch.jit.trace(model, example).save(path)` writes. Model::Load tells apart the ways a
// file can fail to be one (missing, empty, a torch.save pickle, damaged, written by a newer
// PyTorch, no forward method) and says which in a qreport::Error.
//
//   qreport::torchscript::Model model = qreport::torchscript::Model::Load("resnet18.pt");
//   torch::jit::Module& m = model.module();
#ifndef QREPORT_TORCHSCRIPT_MODEL_H_
#define QREPORT_TORCHSCRIPT_MODEL_H_

#include <string>

#include <torch/script.h>

namespace qreport::torchscript {

// Loads a shared library that registers custom TorchScript ops (torchvision's _C.so for
// torchvision::nms, a project's own op library), so that archives calling them load. The
// library must be built for the LibTorch qreport runs on. Loading the same path twice is
// harmless; libraries stay loaded for the life of the process, as torch.ops.load_library's do.
// Throws qreport::Error (kIo) naming the path and the loader's reason.
void LoadOpsLibrary(const std::string& path);

class Model {
 public:
  // Loads the archive at `path` onto the CPU.
  // When the archive calls torchvision's ops (torchvision::nms in its detection models) and
  // no library loaded so far registers them, Load looks for the ops library of a torchvision
  // built for the running LibTorch, beside it: for a torch wheel
  // (.../site-packages/torch/lib/libtorch_cpu.so) .../site-packages/torchvision/_C*.so, for
  // Debian's LibTorch python3-torchvision's /usr/lib/python3/dist-packages/torchvision/_C*.so.
  // It loads the first that loads, as LoadOpsLibrary would, and says which in
  // found_ops_library(). A library loaded before (LoadOpsLibrary) is always used first.
  // Throws qreport::Error: kIo when the file cannot be found or read, kBadModel when it is
  // not a loadable TorchScript module with a `forward` method, or when it calls an op of a
  // namespace no loaded library registers (the message names the op, its namespace,
  // LoadOpsLibrary's option, --ops-library, and for torchvision's ops which libraries were
  // tried and why they did not load).
  static Model Load(const std::string& path);

  // The path the model was loaded from, as given.
  const std::string& path() const { return path_; }

  // The loaded module. qreport never modifies it: preparing a model works on a clone.
  const torch::jit::Module& module() const { return module_; }

  // A hash of the archive's bytes ("fnv1a64:0123abcd..."), identifying the model in saved
  // calibration states.
  const std::string& fingerprint() const { return fingerprint_; }

  // The ops library Load found and loaded itself for this archive (see Load); "" when it
  // loaded none (the archive needed none, or one loaded before registered its ops).
  const std::string& found_ops_library() const { return found_ops_library_; }

 private:
  Model(std::string path, torch::jit::Module module, std::string fingerprint,
        std::string found_ops_library)
      : path_(std::move(path)),
        module_(std::move(module)),
        fingerprint_(std::move(fingerprint)),
        found_ops_library_(std::move(found_ops_library)) {}

  std::string path_;
  torch::jit::Module module_;
  std::string fingerprint_;
  std::string found_ops_library_;
};

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_MODEL_H_

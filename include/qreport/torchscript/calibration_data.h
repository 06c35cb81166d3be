// Where calibration batches come from: files saved from Python (NumPy .npy/.npz, directories
// of them, TorchScript tensor containers), or synthetic data.
//
//   auto model = qreport::torchscript::Model::Load("model.pt");
//   qreport::torchscript::DataOptions options;
//   options.arguments = qreport::torchscript::ForwardArguments(model.module());
//   auto data = qreport::torchscript::FileData({"calib/", "extra.npz", "c.pt:inputs"}, options);
//   while (auto batch = data->Next()) prepared.Forward(std::move(*batch));
//
// Each batch is forward's argument list (one tensor, or list of tensors, per model input).
// What FileData reads:
//  - FILE.npy: one array, one input of one batch.
//  - FILE.npz: one array per input. When an entry is named like one of forward's arguments
//    (np.savez(path, x=..., y=...) for forward(self, x, y)) the entries are matched by name,
//    and every entry must name an argument; otherwise (np.savez(path, a, b)) they are taken
//    in archive order.
//  - DIR: every *.npy and *.npz file in it, sorted by file name, one batch each (other
//    files are ignored; a directory without any is an error).
//  - ARCHIVE.pt:ATTR: attribute ATTR of a TorchScript module, saved in Python with
//        m = torch.nn.Module(); m.inputs = tensors
//        torch.jit.script(m).save("calib.pt")          # then: calib.pt:inputs
//    A Tensor (one input, one batch), a tuple of tensors (one multi-input batch), a list of
//    tensors (one batch each) or a list of tuples/lists of tensors (multi-input batches).
//  - Several entries: their batches in the order given.
// With batch_size = N > 0, every file holding one batch (a .npy, a .npz, a container's
// Tensor or tuple) is split along dimension 0 into batches of N rows (the last may be
// smaller); all its arrays must then have the same leading dimension. A container's list
// is already a list of batches and is not split.
//
// List[Tensor] arguments (torchvision's detection models take `images: List[Tensor]`, one
// [C, H, W] tensor per image): when DataOptions::arguments or SyntheticOptions::arguments are
// given, a tensor for such an argument is a batch that is split along dimension 0, so
// [N, C, H, W] (from a file, after any batch_size split, or an input shape) becomes a list of
// N tensors [C, H, W]:
//   SyntheticOptions options;
//   options.input_shapes = {{2, 3, 320, 320}};          // two 3x320x320 images a batch
//   options.arguments = ForwardArguments(model.module());
// Images of different sizes cannot be given this way: they do not stack into one array.
//
// Element types (DTypes::kModelDefaults): floating-point inputs (float16, float64, ...)
// become float32, integer inputs (int8...int64, uint8) become int64 (embedding indices),
// bool stays bool. A torch.save file cannot be read by LibTorch's C++ API; it is detected
// and the error says how to re-save it.
#ifndef QREPORT_TORCHSCRIPT_CALIBRATION_DATA_H_
#define QREPORT_TORCHSCRIPT_CALIBRATION_DATA_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/script.h>

namespace qreport::torchscript {

class CalibrationData {
 public:
  virtual ~CalibrationData() = default;

  // The next batch, or nullopt when the data is exhausted. Throws qreport::Error: kIo naming
  // a file that cannot be read, kBadData naming the file (and input) whose content does not
  // fit: empty arrays, a wrong number of inputs, an input missing by name.
  virtual std::optional<std::vector<c10::IValue>> Next() = 0;

  // How many batches there are, when known in advance.
  virtual std::optional<int64_t> size() const = 0;

  // Where the batch the last Next() returned came from and what it holds, for naming it
  // when the model rejects it: "calib/b3.npz: inputs 'x' (float32 [8,3,32,32]), 'y' (int64
  // [8])". "" before the first Next() and when the last Next() threw or returned nullopt.
  virtual std::string Describe() const = 0;
};

// One argument of a module's forward (without `self`), as its schema declares it.
struct ForwardArgument {
  std::string name;
  std::string type;                          // "Tensor", "Optional[Tensor]", ...
  std::optional<c10::IValue> default_value;  // set when the argument may be left out
};

// forward's arguments, without `self`.
// REQUIRES: `module` has a forward method (Model::Load checks it).
std::vector<ForwardArgument> ForwardArguments(const torch::jit::Module& module);

struct DataOptions {
  // > 0: split each single-batch file into batches of this many rows along dimension 0.
  // 0: every file is one batch.
  int64_t batch_size = 0;
  // forward's arguments (ForwardArguments(model.module())). When given, .npz entries are
  // matched by name where they can be, missing optional arguments get their defaults, and
  // every batch's input count is checked against them, and the inputs of List[Tensor]
  // arguments are split into lists (see the top). Empty: inputs are passed in order,
  // unchecked.
  std::vector<ForwardArgument> arguments;
  enum class DTypes {
    kModelDefaults,  // floating -> float32, integer -> int64, bool kept (see the top)
    kAsStored,       // pass every tensor as it was saved
  } dtypes = DTypes::kModelDefaults;
  // Applied after `dtypes`, to every tensor input: cast to `input_dtype` when set (a floating
  // type), then multiplied by `input_scale` when it is not 1. Scaled integer inputs become
  // float32 when no `input_dtype` is set, since scaled values are no longer integers. Images
  // saved as uint8 for a float model: input_dtype = at::kFloat, input_scale = 1/255.
  std::optional<c10::ScalarType> input_dtype;
  double input_scale = 1.0;
};

// Batches from `entries` (files, directories, ARCHIVE.pt:ATTR; see the top of this file).
// Directories and containers are listed and loaded here; NumPy files are read one at a time
// in Next().
// REQUIRES: entries non-empty and options.batch_size >= 0 (throws Error(kInvalidArgument)).
// Throws Error(kIo) for an entry that does not exist or cannot be read, Error(kBadData) for
// a directory without NumPy files, a torch.save file, or a container whose attribute is
// missing, empty or not made of tensors.
std::unique_ptr<CalibrationData> FileData(const std::vector<std::string>& entries,
                                          const DataOptions& options = {});

struct SyntheticOptions {
  std::vector<std::vector<int64_t>> input_shapes;  // one shape per model input
  // forward's arguments (ForwardArguments(model.module())), optional: when given, the input
  // of a List[Tensor] argument is split along dimension 0 into a list (see the top).
  std::vector<ForwardArgument> arguments;
  int64_t batches = 8;
  uint64_t seed = 0;
  enum class Distribution { kNormal, kUniform } distribution = Distribution::kNormal;
};

// Random float32 batches (standard normal, or uniform in [0, 1)), reproducible from the seed.
std::unique_ptr<CalibrationData> SyntheticData(const SyntheticOptions& options);

// One shard of `data` for split calibration: batches index, index + count, index + 2 count, ...
// (0-based), so `count` processes with index 0 .. count-1 together see every batch once, and
// their states merge to the whole run's. The other batches are still read, to stay in step.
// REQUIRES: 0 <= index < count (throws Error(kInvalidArgument)).
std::unique_ptr<CalibrationData> Shard(std::unique_ptr<CalibrationData> data, int64_t index,
                                       int64_t count);

// "3/8" -> {3, 8}: shard 3 of 8. Throws Error(kInvalidArgument) naming the text.
std::pair<int64_t, int64_t> ParseShard(const std::string& text);

// "8,3,224,224" -> {8, 3, 224, 224}. Throws qreport::Error(kInvalidArgument) naming the text.
std::vector<int64_t> ParseShape(const std::string& text);

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_CALIBRATION_DATA_H_

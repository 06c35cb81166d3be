#include "qreport/torchscript/calibration_data.h"

#include "dtype_map.h"
#include "qreport/core/error.h"
#include "qreport/core/npy.h"

namespace qreport::torchscript {
namespace {

// A tensor owning a copy of the array (the array's bytes are freed with the array).
at::Tensor ToTensor(const NpyArray& array) {
  const TensorView view = array.view();
  return torch::from_blob(const_cast<void*>(array.data()), view.sizes(), view.strides(),
                          at::TensorOptions().dtype(internal::TorchType(array.dtype())))
      .clone(at::MemoryFormat::Contiguous);
}

class NumpyFiles : public CalibrationData {
 public:
  explicit NumpyFiles(std::vector<std::string> paths) : paths_(std::move(paths)) {}

  std::optional<std::vector<c10::IValue>> Next() override {
    if (next_ == paths_.size()) return std::nullopt;
    const std::string& path = paths_[next_++];
    std::vector<c10::IValue> inputs;
    if (LooksLikeNpz(path)) {
      for (const NamedArray& entry : ReadNpz(path)) inputs.emplace_back(ToTensor(entry.array));
      QREPORT_CHECK_KIND(!inputs.empty(), ErrorKind::kBadData, "{}: the archive holds no arrays",
                         path);
    } else {
      inputs.emplace_back(ToTensor(ReadNpy(path)));
    }
    return inputs;
  }

  std::optional<int64_t> size() const override { return static_cast<int64_t>(paths_.size()); }

 private:
  std::vector<std::string> paths_;
  size_t next_ = 0;
};

class Synthetic : public CalibrationData {
 public:
  explicit Synthetic(const SyntheticOptions& options) : options_(options) {
    generator_ = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  }

  std::optional<std::vector<c10::IValue>> Next() override {
    if (produced_ == options_.batches) return std::nullopt;
    ++produced_;
    std::vector<c10::IValue> inputs;
    for (const auto& shape : options_.input_shapes) {
      at::Tensor t = options_.distribution == SyntheticOptions::Distribution::kNormal
                         ? at::randn(shape, generator_)
                         : at::rand(shape, generator_);
      inputs.emplace_back(std::move(t));
    }
    return inputs;
  }

  std::optional<int64_t> size() const override { return options_.batches; }

 private:
  SyntheticOptions options_;
  at::Generator generator_;
  int64_t produced_ = 0;
};

}  // namespace

std::unique_ptr<CalibrationData> NumpyData(std::vector<std::string> paths) {
  QREPORT_CHECK(!paths.empty(), "no calibration data files given");
  return std::make_unique<NumpyFiles>(std::move(paths));
}

std::unique_ptr<CalibrationData> SyntheticData(const SyntheticOptions& options) {
  QREPORT_CHECK(!options.input_shapes.empty(), "synthetic data needs at least one input shape");
  QREPORT_CHECK(options.batches > 0, "the number of batches must be positive, got {}",
                options.batches);
  return std::make_unique<Synthetic>(options);
}

std::vector<int64_t> ParseShape(const std::string& text) {
  std::vector<int64_t> shape;
  size_t begin = 0;
  while (begin <= text.size()) {
    const auto end = std::min(text.find(',', begin), text.size());
    const std::string piece = text.substr(begin, end - begin);
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(piece, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    QREPORT_CHECK(used == piece.size() && !piece.empty() && value > 0,
                  "bad input shape '{}': expected positive integers separated by commas, "
                  "e.g. 8,3,224,224",
                  text);
    shape.push_back(value);
    begin = end + 1;
  }
  return shape;
}

}  // namespace qreport::torchscript

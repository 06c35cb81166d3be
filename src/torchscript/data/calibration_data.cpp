#include "qreport/torchscript/calibration_data.h"

#include <unistd.h>

#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/data_batch.h"
#include "data/data_sources.h"
#include "graph_utils.h"
#include "qreport/core/error.h"

namespace qreport::torchscript {
namespace {

// A float32 tensor's size, or nullopt when it does not fit in 64 bits.
std::optional<uint64_t> Float32Bytes(const std::vector<int64_t>& shape) {
  uint64_t bytes = sizeof(float);
  for (int64_t size : shape) {
    if (size <= 0) return 0;
    if (bytes > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(size)) {
      return std::nullopt;
    }
    bytes *= static_cast<uint64_t>(size);
  }
  return bytes;
}

uint64_t PhysicalMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

// The batches of every source in turn, matched to forward's arguments.
class FileBatches : public CalibrationData {
 public:
  FileBatches(std::vector<std::unique_ptr<internal::BatchSource>> sources, DataOptions options)
      : sources_(std::move(sources)), options_(std::move(options)) {}

  std::optional<std::vector<c10::IValue>> Next() override {
    description_.clear();
    for (; next_ < sources_.size(); ++next_) {
      if (auto batch = sources_[next_]->Next()) {
        internal::ArrangedBatch arranged = internal::Arrange(std::move(*batch), options_);
        description_ = std::move(arranged.description);
        return std::move(arranged.inputs);
      }
    }
    return std::nullopt;
  }

  std::optional<int64_t> size() const override {
    int64_t total = 0;
    for (const auto& source : sources_) {
      const auto size = source->size();
      if (!size) return std::nullopt;
      total += *size;
    }
    return total;
  }

  std::string Describe() const override { return description_; }

 private:
  std::vector<std::unique_ptr<internal::BatchSource>> sources_;
  DataOptions options_;
  size_t next_ = 0;
  std::string description_;
};

class Synthetic : public CalibrationData {
 public:
  explicit Synthetic(const SyntheticOptions& options) : options_(options) {
    generator_ = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  }

  std::optional<std::vector<c10::IValue>> Next() override {
    description_.clear();
    if (produced_ == options_.batches) return std::nullopt;
    ++produced_;
    std::vector<c10::IValue> inputs;
    std::string shapes;
    for (size_t i = 0; i < options_.input_shapes.size(); ++i) {
      const auto& shape = options_.input_shapes[i];
      at::Tensor t;
      try {
        t = options_.distribution == SyntheticOptions::Distribution::kNormal
                ? at::randn(shape, generator_)
                : at::rand(shape, generator_);
      } catch (const std::exception& e) {
        if (!internal::FailedAllocationBytes(e)) throw;
        throw MakeError(ErrorKind::kInvalidArgument,
                        "input shape {}: a float32 batch of it needs {}, more memory than this "
                        "process can allocate; give a smaller shape",
                        fmt::join(shape, ","), internal::ByteSize(*Float32Bytes(shape)));
      }
      inputs.emplace_back(std::move(t));
    }
    internal::SplitListArguments(inputs, options_.arguments,
                                 fmt::format("synthetic batch {}", produced_));
    for (size_t i = 0; i < inputs.size(); ++i) {
      shapes += fmt::format("{}{}{}", i == 0 ? "" : ", ", i, internal::InputSummary(inputs[i]));
    }
    description_ = fmt::format("synthetic batch {}: {} {}", produced_,
                               inputs.size() == 1 ? "input" : "inputs", shapes);
    return inputs;
  }

  std::string Describe() const override { return description_; }

  std::optional<int64_t> size() const override { return options_.batches; }

 private:
  SyntheticOptions options_;
  at::Generator generator_;
  int64_t produced_ = 0;
  std::string description_;
};

class Sharded : public CalibrationData {
 public:
  Sharded(std::unique_ptr<CalibrationData> data, int64_t index, int64_t count)
      : data_(std::move(data)), index_(index), count_(count) {}

  std::optional<std::vector<c10::IValue>> Next() override {
    for (;;) {
      auto batch = data_->Next();
      if (!batch) return std::nullopt;
      if (position_++ % count_ == index_) return batch;
    }
  }

  std::optional<int64_t> size() const override {
    const auto total = data_->size();
    if (!total) return std::nullopt;
    return *total > index_ ? (*total - index_ + count_ - 1) / count_ : 0;
  }

  std::string Describe() const override { return data_->Describe(); }

 private:
  std::unique_ptr<CalibrationData> data_;
  int64_t index_;
  int64_t count_;
  int64_t position_ = 0;
};

}  // namespace

std::vector<ForwardArgument> ForwardArguments(const torch::jit::Module& module) {
  const auto method = module.find_method("forward");
  QREPORT_ASSERT(method.has_value(), "the module has no forward method");
  const auto& schema = method->function().getSchema();
  std::vector<ForwardArgument> arguments;
  for (size_t i = 1; i < schema.arguments().size(); ++i) {  // [0] is self
    const c10::Argument& argument = schema.arguments()[i];
    // c10::optional<IValue> would convert to an IValue (None): copy it explicitly.
    std::optional<c10::IValue> default_value;
    if (argument.default_value().has_value()) default_value = *argument.default_value();
    arguments.push_back({argument.name(), argument.type()->annotation_str(), default_value});
  }
  return arguments;
}

std::unique_ptr<CalibrationData> FileData(const std::vector<std::string>& entries,
                                          const DataOptions& options) {
  QREPORT_CHECK(!entries.empty(), "no calibration data given");
  QREPORT_CHECK(options.batch_size >= 0, "the batch size must not be negative, got {}",
                options.batch_size);
  return std::make_unique<FileBatches>(internal::OpenSources(entries, options.batch_size), options);
}

std::unique_ptr<CalibrationData> SyntheticData(const SyntheticOptions& options) {
  QREPORT_CHECK(!options.input_shapes.empty(), "synthetic data needs at least one input shape");
  QREPORT_CHECK(options.batches > 0, "the number of batches must be positive, got {}",
                options.batches);
  // Said now, before the model loads: Linux would promise the memory and kill the process
  // when the batch is filled.
  const uint64_t memory = PhysicalMemoryBytes();
  for (const std::vector<int64_t>& shape : options.input_shapes) {
    const std::optional<uint64_t> bytes = Float32Bytes(shape);
    QREPORT_CHECK(bytes.has_value(),
                  "input shape {}: a float32 batch of it needs more than 2^64 bytes; give a "
                  "smaller shape",
                  fmt::join(shape, ","));
    QREPORT_CHECK(*bytes <= memory,
                  "input shape {}: a float32 batch of it needs {}, more than this machine's "
                  "memory ({}); give a smaller shape",
                  fmt::join(shape, ","), internal::ByteSize(*bytes), internal::ByteSize(memory));
  }
  return std::make_unique<Synthetic>(options);
}

std::unique_ptr<CalibrationData> Shard(std::unique_ptr<CalibrationData> data, int64_t index,
                                       int64_t count) {
  QREPORT_CHECK(count > 0 && index >= 0 && index < count,
                "shard {}/{}: expected I/N with 0 <= I < N", index, count);
  return std::make_unique<Sharded>(std::move(data), index, count);
}

std::pair<int64_t, int64_t> ParseShard(const std::string& text) {
  const auto slash = text.find('/');
  auto whole = [&](const std::string& piece, int64_t& value) {
    size_t used = 0;
    try {
      value = std::stoll(piece, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    return !piece.empty() && used == piece.size();
  };
  int64_t index = -1;
  int64_t count = 0;
  const bool parsed = slash != std::string::npos && whole(text.substr(0, slash), index) &&
                      whole(text.substr(slash + 1), count);
  QREPORT_CHECK(parsed && count > 0 && index >= 0 && index < count,
                "--shard {}: expected I/N, shard I (counted from 0) of N, e.g. 0/4 ... 3/4", text);
  return {index, count};
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

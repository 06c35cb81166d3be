#include "data/data_sources.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

#include "data/data_entry.h"
#include "data/dtype_map.h"
#include "graph_utils.h"
#include "load/archive_format.h"
#include "qreport/core/data/npy.h"
#include "qreport/core/error.h"

namespace qreport::torchscript::internal {
namespace {

constexpr ArchiveContext kDataArchive = {
    ErrorKind::kBadData, "LibTorch 1.13 cannot read torch.save files from C++",
    "save the tensors with np.save('x.npy', t.numpy()), or in a TorchScript container: "
    "m = torch.nn.Module(); m.inputs = tensors; torch.jit.script(m).save('x.pt'), and read "
    "x.pt:inputs",
    "save the container again"};

// A tensor owning a copy of the array (the array's bytes are freed with the array).
at::Tensor ToTensor(const NpyArray& array) {
  const TensorView view = array.view();
  return torch::from_blob(const_cast<void*>(array.data()), view.sizes(), view.strides(),
                          at::TensorOptions().dtype(TorchType(array.dtype())))
      .clone(at::MemoryFormat::Contiguous);
}

RawBatch ReadNumpyFile(const std::string& path) {
  RawBatch batch{path, {}, {}};
  if (LooksLikeNpz(path)) {
    for (const NamedArray& entry : ReadNpz(path)) {
      batch.names.push_back(entry.name);
      batch.tensors.push_back(ToTensor(entry.array));
    }
  } else {
    batch.names.emplace_back();
    batch.tensors.push_back(ToTensor(ReadNpy(path)));
  }
  return batch;
}

// Batches handed out one at a time; `pending` is filled by Load() on the first Next().
class QueuedSource : public BatchSource {
 public:
  explicit QueuedSource(int64_t batch_size) : batch_size_(batch_size) {}

  std::optional<RawBatch> Next() override {
    if (!loaded_) {
      loaded_ = true;
      for (RawBatch& batch : Load()) Enqueue(std::move(batch), /*splittable=*/true);
    }
    if (pending_.empty()) return std::nullopt;
    RawBatch batch = std::move(pending_.front());
    pending_.pop_front();
    return batch;
  }

 protected:
  // Queues `batch`, split into batch_size rows when asked for and `splittable`.
  void Enqueue(RawBatch batch, bool splittable) {
    CheckNotEmpty(batch);
    if (splittable && batch_size_ > 0) {
      for (RawBatch& part : SplitRows(batch, batch_size_)) pending_.push_back(std::move(part));
    } else {
      pending_.push_back(std::move(batch));
    }
  }
  void MarkLoaded() { loaded_ = true; }
  int64_t batch_size() const { return batch_size_; }
  size_t pending() const { return pending_.size(); }

 private:
  virtual std::vector<RawBatch> Load() { return {}; }

  int64_t batch_size_;
  bool loaded_ = false;
  std::deque<RawBatch> pending_;
};

// A .npy or .npz file: one batch, or several when split.
class NumpyFile : public QueuedSource {
 public:
  NumpyFile(std::string path, int64_t batch_size)
      : QueuedSource(batch_size), path_(std::move(path)) {}

  std::optional<int64_t> size() const override {
    if (batch_size() == 0) return 1;
    return std::nullopt;  // known once the file is read
  }

 private:
  std::vector<RawBatch> Load() override { return {ReadNumpyFile(path_)}; }

  std::string path_;
};

std::vector<std::string> AttributeNames(const torch::jit::Module& module) {
  std::vector<std::string> names;
  const auto type = module.type();
  for (size_t i = 0; i < type->numAttributes(); ++i) {
    // Leaves out nn.Module's own (training, _is_full_backward_hook).
    const std::string& name = type->getAttributeName(i);
    if (name != "training" && name.rfind('_', 0) != 0) names.push_back(name);
  }
  return names;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text.empty() ? "none" : text;
}

// Attribute `attribute` of the TorchScript module at `path`: a Tensor or tuple (one batch,
// splittable), or a list of tensors / of tuples or lists of tensors (one batch each).
class Container : public QueuedSource {
 public:
  Container(const std::string& path, const std::string& attribute, int64_t batch_size)
      : QueuedSource(batch_size) {
    CheckTorchScriptArchive(path, kDataArchive);
    torch::jit::Module module;
    try {
      module = torch::jit::load(path, torch::kCPU);
    } catch (const std::exception& e) {
      throw MakeError(ErrorKind::kBadData, "{}: cannot load the TorchScript container: {}", path,
                      ConciseTorchError(e));
    }
    const std::string origin = path + ":" + attribute;
    QREPORT_CHECK_KIND(module.hasattr(attribute), ErrorKind::kBadData,
                       "{}: the module has no attribute '{}' (it has: {})", origin, attribute,
                       JoinNames(AttributeNames(module)));
    const c10::IValue value = module.attr(attribute);
    const std::string expected =
        "expected a Tensor, a tuple of tensors, a list of tensors or a list of tuples of tensors";
    if (value.isTensor() || value.isTuple()) {
      Enqueue(Batch(origin, value, expected), /*splittable=*/true);
    } else if (value.isList()) {
      const auto items = value.toListRef();
      QREPORT_CHECK_KIND(!items.empty(), ErrorKind::kBadData,
                         "{}: the list is empty; calibration needs data", origin);
      for (size_t i = 0; i < items.size(); ++i) {
        Enqueue(Batch(fmt::format("{}[{}]", origin, i), items[i], expected),
                /*splittable=*/false);
      }
    } else {
      throw MakeError(ErrorKind::kBadData, "{}: the attribute is of type {}; {}", origin,
                      value.type()->annotation_str(), expected);
    }
    MarkLoaded();
    size_ = static_cast<int64_t>(pending());
  }

  std::optional<int64_t> size() const override { return size_; }

 private:
  // A Tensor, or a tuple/list of tensors, as one batch.
  static RawBatch Batch(const std::string& origin, const c10::IValue& value,
                        const std::string& expected) {
    RawBatch batch{origin, {}, {}};
    const auto add = [&](const c10::IValue& item) {
      QREPORT_CHECK_KIND(item.isTensor(), ErrorKind::kBadData, "{}: holds a value of type {}; {}",
                         origin, item.type()->annotation_str(), expected);
      batch.names.emplace_back();
      batch.tensors.push_back(item.toTensor());
    };
    if (value.isTuple()) {
      for (const c10::IValue& item : value.toTupleRef().elements()) add(item);
    } else if (value.isList()) {
      for (const c10::IValue& item : value.toListRef()) add(item);
    } else {
      add(value);
    }
    return batch;
  }

  int64_t size_ = 0;
};

bool IsNumpyFileName(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".npy" || ext == ".npz";
}

void AddDirectory(const std::string& dir, int64_t batch_size,
                  std::vector<std::unique_ptr<BatchSource>>& sources) {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& item : std::filesystem::directory_iterator(dir, error)) {
    if (item.is_regular_file() && IsNumpyFileName(item.path())) {
      files.push_back(item.path().string());
    }
  }
  QREPORT_CHECK_KIND(!error, ErrorKind::kIo, "{}: cannot list the directory: {}", dir,
                     error.message());
  QREPORT_CHECK_KIND(!files.empty(), ErrorKind::kBadData,
                     "{}: the directory holds no .npy or .npz files", dir);
  std::sort(files.begin(), files.end());
  for (std::string& file : files) {
    sources.push_back(std::make_unique<NumpyFile>(std::move(file), batch_size));
  }
}

// Rejects, before any batch runs, what cannot be a NumPy file.
void CheckNumpyFile(const std::string& path) {
  switch (SniffArchive(path)) {
    case ArchiveFormat::kTorchSaveZip:
    case ArchiveFormat::kTorchSavePickle:
      CheckTorchScriptArchive(path, kDataArchive);  // throws, saying what to do instead
      break;
    case ArchiveFormat::kTorchScript:
      throw MakeError(ErrorKind::kBadData,
                      "{}: a TorchScript archive; name the attribute that holds the inputs: "
                      "{}:ATTRIBUTE",
                      path, path);
    case ArchiveFormat::kOtherZip:
      return;  // a .npz; ReadNpz reports a damaged one
    case ArchiveFormat::kNotZip:
      break;
  }
  if (LooksLikeNpz(path)) return;  // an empty .npz (PK\5\6); ReadNpz reports it
  std::ifstream in(path, std::ios::binary);
  QREPORT_CHECK_KIND(in.good(), ErrorKind::kIo, "{}: cannot open the file for reading: {}", path,
                     std::strerror(errno));
  std::string magic(6, '\0');
  in.read(magic.data(), static_cast<std::streamsize>(magic.size()));
  QREPORT_CHECK_KIND(in.gcount() == 6 && magic == "\x93NUMPY", ErrorKind::kBadData,
                     "{}: not a .npy or .npz file{}", path,
                     in.gcount() == 0 ? " (the file is empty)" : "");
}

EntryKind KindOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return EntryKind::kMissing;
  return S_ISDIR(info.st_mode) ? EntryKind::kDirectory : EntryKind::kFile;
}

}  // namespace

std::vector<std::unique_ptr<BatchSource>> OpenSources(const std::vector<std::string>& entries,
                                                      int64_t batch_size) {
  std::vector<std::unique_ptr<BatchSource>> sources;
  for (const std::string& entry : entries) {
    const DataEntry parsed = ParseDataEntry(entry, KindOf);
    switch (parsed.form) {
      case DataEntry::Form::kDirectory:
        AddDirectory(parsed.path, batch_size, sources);
        break;
      case DataEntry::Form::kFile:
        CheckNumpyFile(parsed.path);
        sources.push_back(std::make_unique<NumpyFile>(parsed.path, batch_size));
        break;
      case DataEntry::Form::kContainer:
        sources.push_back(std::make_unique<Container>(parsed.path, parsed.attribute, batch_size));
        break;
    }
  }
  return sources;
}

}  // namespace qreport::torchscript::internal

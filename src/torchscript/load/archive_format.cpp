#include "load/archive_format.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/versions.h>

#include "graph_utils.h"

namespace qreport::torchscript::internal {
namespace {

using Magic = std::array<unsigned char, 4>;

bool IsZip(const Magic& magic) {
  return magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

// Pickle protocol 2+ starts with PROTO (0x80); torch.save's legacy format is a pickle.
bool IsPickle(const Magic& magic) { return magic[0] == 0x80; }

std::optional<Magic> TryReadMagic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  Magic magic{};
  in.read(reinterpret_cast<char*>(magic.data()), magic.size());
  return magic;
}

// LibTorch reports "Attempted to read a PyTorch file with version N, but ...".
std::string FileVersionFromMessage(const std::string& message) {
  const std::string key = "with version ";
  const auto at = message.find(key);
  if (at == std::string::npos) return "unknown";
  const auto begin = at + key.size();
  return message.substr(begin, message.find(',', begin) - begin);
}

// A torch.save zip holds `<name>/data.pkl` and tensor data, but no constants.pkl and no code.
ArchiveFormat FormatOfRecords(caffe2::serialize::PyTorchStreamReader& records) {
  if (records.hasRecord("constants.pkl")) return ArchiveFormat::kTorchScript;
  bool has_code = false;
  for (const std::string& record : records.getAllRecords()) {
    if (record.rfind("code/", 0) == 0) has_code = true;
  }
  return records.hasRecord("data.pkl") && !has_code ? ArchiveFormat::kTorchSaveZip
                                                    : ArchiveFormat::kOtherZip;
}

}  // namespace

ArchiveFormat SniffArchive(const std::string& path) {
  const auto magic = TryReadMagic(path);
  if (!magic) return ArchiveFormat::kNotZip;
  if (!IsZip(*magic))
    return IsPickle(*magic) ? ArchiveFormat::kTorchSavePickle : ArchiveFormat::kNotZip;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return FormatOfRecords(reader);
  } catch (const std::exception&) {
    // Not laid out as PyTorch writes archives (a .npz holds no `<name>/` folder), or damaged.
    return ArchiveFormat::kOtherZip;
  }
}

// Every TorchScript archive is a zip file. A torch.save file is a zip too (since PyTorch
// 1.6) or a raw pickle (older, or _use_new_zipfile_serialization=False): detect both so we
// can tell the user what they have and how to get what we need.
void CheckTorchScriptArchive(const std::string& path, const ArchiveContext& context) {
  const auto magic = TryReadMagic(path);
  if (!magic) {
    throw MakeError(ErrorKind::kIo, "{}: cannot open the file for reading: {}", path,
                    std::strerror(errno));
  }
  if (!IsZip(*magic)) {
    if (IsPickle(*magic)) {
      throw MakeError(context.kind,
                      "{}: this is a torch.save pickle (legacy format), not a TorchScript "
                      "archive; {}: {}",
                      path, context.torch_save_why, context.fix);
    }
    throw MakeError(context.kind,
                    "{}: not a TorchScript archive (a TorchScript .pt file is a zip archive)",
                    path);
  }

  // The reader checks the records as it lists them (getAllRecords throws for one outside the
  // archive's folder), and reads the version record with std::stoull, which throws
  // std::invalid_argument or std::out_of_range: every one of them is a damaged archive.
  ArchiveFormat format = ArchiveFormat::kOtherZip;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    format = FormatOfRecords(reader);
  } catch (const c10::Error& e) {
    const std::string message = e.what();
    if (message.find("maximum supported version") != std::string::npos) {
      throw MakeError(context.kind,
                      "{}: the archive was written by a newer PyTorch than this LibTorch can read "
                      "(file format version {}, this LibTorch reads up to {}): re-export it with "
                      "PyTorch 1.13",
                      path, FileVersionFromMessage(message),
                      caffe2::serialize::kMaxSupportedFileFormatVersion);
    }
    throw MakeError(context.kind, "{}: the zip archive is damaged or truncated ({}); {}", path,
                    ConciseTorchError(e), context.redo);
  } catch (const std::exception& e) {
    throw MakeError(context.kind, "{}: the zip archive is damaged or truncated ({}); {}", path,
                    ConciseTorchError(e), context.redo);
  }

  switch (format) {
    case ArchiveFormat::kTorchScript:
      return;
    case ArchiveFormat::kTorchSaveZip:
      throw MakeError(context.kind,
                      "{}: this is a torch.save archive, not a TorchScript archive; {}: {}", path,
                      context.torch_save_why, context.fix);
    default:
      throw MakeError(context.kind,
                      "{}: a zip archive, but not a TorchScript one (no constants.pkl); {}", path,
                      context.fix);
  }
}

}  // namespace qreport::torchscript::internal

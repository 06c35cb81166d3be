// Private: telling TorchScript archives apart from torch.save files, shared by the model
// loader and the calibration-data readers (both take TorchScript archives; both must say
// clearly when they are given a torch.save file, which LibTorch 1.13 cannot read).
#ifndef QREPORT_SRC_TORCHSCRIPT_LOAD_ARCHIVE_FORMAT_H_
#define QREPORT_SRC_TORCHSCRIPT_LOAD_ARCHIVE_FORMAT_H_

#include <string>

#include "qreport/core/error.h"

namespace qreport::torchscript::internal {

// What a file is, judged from its first bytes and, for zip archives, its record names.
enum class ArchiveFormat {
  kTorchScript,      // a zip with constants.pkl (torch.jit.save)
  kTorchSaveZip,     // a zip with data.pkl but no code/ (torch.save since PyTorch 1.6)
  kTorchSavePickle,  // a raw pickle (older torch.save, or _use_new_zipfile_serialization=False)
  kOtherZip,         // any other zip archive, including damaged PyTorch archives and .npz files
  kNotZip,
};

// Never throws: a file that cannot be read is kNotZip.
ArchiveFormat SniffArchive(const std::string& path);

// How CheckTorchScriptArchive words its errors for one kind of caller.
struct ArchiveContext {
  ErrorKind kind;              // the kind of the errors thrown
  const char* torch_save_why;  // why a torch.save file cannot be used
  const char* fix;             // how to write what we need instead
  const char* redo;            // what to do about a damaged archive
};

// Throws qreport::Error(kIo) when the file cannot be opened, and Error(context.kind) unless
// `path` is a TorchScript archive this LibTorch can read (torch.save zip or pickle, not a zip,
// damaged, written by a newer PyTorch, a zip without constants.pkl), naming `path`.
void CheckTorchScriptArchive(const std::string& path, const ArchiveContext& context);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_LOAD_ARCHIVE_FORMAT_H_

// Private and torch-free: what one --data entry names (a directory, a NumPy file, or
// FILE:ATTRIBUTE of a TorchScript container), decided from the entry's text and what the file
// system holds there. Kept apart from the readers so the decision is tested and fuzzed
// without files or LibTorch.
//
//   DataEntry parsed = ParseDataEntry("inputs.pt:batches", StatKind);
//   // parsed.form == DataEntry::Form::kContainer, path "inputs.pt", attribute "batches"
#ifndef QREPORT_SRC_TORCHSCRIPT_DATA_DATA_ENTRY_H_
#define QREPORT_SRC_TORCHSCRIPT_DATA_DATA_ENTRY_H_

#include <functional>
#include <string>

namespace qreport::torchscript::internal {

enum class EntryKind { kMissing, kFile, kDirectory };

struct DataEntry {
  enum class Form { kDirectory, kFile, kContainer };
  Form form = Form::kFile;
  std::string path;       // the directory or the file
  std::string attribute;  // kContainer only: the container's attribute holding the inputs
};

// What is at a path; a stand-in in tests.
using KindOfPath = std::function<EntryKind(const std::string& path)>;

// An entry naming an existing directory or file is that, even when it contains ':'; otherwise
// the text after its last ':' is an attribute of the file before it. Throws Error(kIo) when
// the entry names nothing that exists.
DataEntry ParseDataEntry(const std::string& entry, const KindOfPath& kind_of);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_DATA_DATA_ENTRY_H_

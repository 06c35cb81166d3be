#include "data/data_entry.h"

#include "qreport/core/error.h"

namespace qreport::torchscript::internal {

DataEntry ParseDataEntry(const std::string& entry, const KindOfPath& kind_of) {
  switch (kind_of(entry)) {
    case EntryKind::kDirectory:
      return {DataEntry::Form::kDirectory, entry, ""};
    case EntryKind::kFile:
      return {DataEntry::Form::kFile, entry, ""};
    case EntryKind::kMissing:
      break;
  }
  // The last ':' splits, so a path holding ':' still takes an attribute ("a:b.pt:inputs").
  const auto colon = entry.rfind(':');
  if (colon != std::string::npos && colon + 1 < entry.size()) {
    std::string path = entry.substr(0, colon);
    if (kind_of(path) == EntryKind::kFile) {
      return {DataEntry::Form::kContainer, std::move(path), entry.substr(colon + 1)};
    }
  }
  throw MakeError(ErrorKind::kIo, "{}: no such file or directory", entry);
}

}  // namespace qreport::torchscript::internal

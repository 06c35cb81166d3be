// --data entries: an entry's text against a made-up file system. The input's first byte
// chooses what exists where; the rest is the entry.
#include <functional>
#include <string>

#include "data/data_entry.h"
#include "fuzz_targets.h"
#include "qreport/core/error.h"

namespace qreport::fuzz {

using torchscript::internal::DataEntry;
using torchscript::internal::EntryKind;
using torchscript::internal::ParseDataEntry;

int DataEntryTarget(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t layout = data[0];
  const std::string entry(reinterpret_cast<const char*>(data + 1), size - 1);
  // Whether a path exists depends on its length and `layout`, so prefixes of the entry differ.
  const auto kind_of = [&](const std::string& path) {
    switch ((layout >> (path.size() % 4 * 2)) & 3) {
      case 1:
        return EntryKind::kFile;
      case 2:
        return EntryKind::kDirectory;
      default:
        return EntryKind::kMissing;
    }
  };
  try {
    const DataEntry parsed = ParseDataEntry(entry, kind_of);
    // What OpenSources relies on: the path exists as the form says, the attribute is not empty.
    const EntryKind expected =
        parsed.form == DataEntry::Form::kDirectory ? EntryKind::kDirectory : EntryKind::kFile;
    if (kind_of(parsed.path) != expected) __builtin_trap();
    if ((parsed.form == DataEntry::Form::kContainer) == parsed.attribute.empty()) __builtin_trap();
    if (parsed.form == DataEntry::Form::kContainer &&
        parsed.path + ":" + parsed.attribute != entry) {
      __builtin_trap();
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace qreport::fuzz

QREPORT_FUZZ_ENTRY_POINT(DataEntryTarget)

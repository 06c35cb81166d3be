#include "data/data_entry.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "qreport/core/error.h"

namespace qreport::torchscript::internal {
namespace {

// A made-up file system: the paths listed exist, as files or directories.
KindOfPath FileSystem(std::map<std::string, EntryKind> paths) {
  return [paths = std::move(paths)](const std::string& path) {
    const auto it = paths.find(path);
    return it == paths.end() ? EntryKind::kMissing : it->second;
  };
}

TEST(ParseDataEntryTest, AnExistingDirectoryOrFileIsTakenWhole) {
  const KindOfPath fs = FileSystem({{"calib/", EntryKind::kDirectory},
                                    {"x.npy", EntryKind::kFile},
                                    {"a:b.npz", EntryKind::kFile},
                                    {"a", EntryKind::kFile}});
  const DataEntry directory = ParseDataEntry("calib/", fs);
  EXPECT_EQ(directory.form, DataEntry::Form::kDirectory);
  EXPECT_EQ(directory.path, "calib/");
  const DataEntry file = ParseDataEntry("x.npy", fs);
  EXPECT_EQ(file.form, DataEntry::Form::kFile);
  EXPECT_EQ(file.path, "x.npy");
  EXPECT_EQ(file.attribute, "");
  // A file whose name holds ':' is that file, not an attribute of "a".
  const DataEntry colon = ParseDataEntry("a:b.npz", fs);
  EXPECT_EQ(colon.form, DataEntry::Form::kFile);
  EXPECT_EQ(colon.path, "a:b.npz");
}

TEST(ParseDataEntryTest, TheLastColonNamesAContainerAttribute) {
  const KindOfPath fs =
      FileSystem({{"data.pt", EntryKind::kFile}, {"C:/data.pt", EntryKind::kFile}});
  const DataEntry entry = ParseDataEntry("data.pt:inputs", fs);
  EXPECT_EQ(entry.form, DataEntry::Form::kContainer);
  EXPECT_EQ(entry.path, "data.pt");
  EXPECT_EQ(entry.attribute, "inputs");
  const DataEntry drive = ParseDataEntry("C:/data.pt:inputs", fs);
  EXPECT_EQ(drive.form, DataEntry::Form::kContainer);
  EXPECT_EQ(drive.path, "C:/data.pt");
  EXPECT_EQ(drive.attribute, "inputs");
}

TEST(ParseDataEntryTest, AnEntryNamingNothingIsAnIoError) {
  const KindOfPath fs = FileSystem({{"data.pt", EntryKind::kFile}, {"dir", EntryKind::kDirectory}});
  for (const char* entry :
       {"missing.npy", "data.pt:", "dir:inputs", "missing.pt:inputs", ":", ""}) {
    SCOPED_TRACE(entry);
    try {
      ParseDataEntry(entry, fs);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kIo);
      EXPECT_EQ(std::string(e.what()), std::string(entry) + ": no such file or directory");
    }
  }
}

}  // namespace
}  // namespace qreport::torchscript::internal

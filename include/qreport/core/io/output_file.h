// Writing the files users keep (states, reports, mappings) so that a failure, a kill or a
// second writer never leaves a mix, and a path that is not a plain file is never replaced.
//
//   qreport::CheckCanWrite("run.qstate");        // before a long calibration, not after
//   ...
//   qreport::WriteFileAtomically("run.qstate", bytes);
//
// What an output path may be:
//  - absent, or a regular file: the content goes to a new temporary file in the same
//    directory, is flushed to disk, and is renamed over the path. Readers, and other
//    processes writing the same path, see the old file or one complete new one.
//    An existing file keeps its permission bits.
//  - a symbolic link: the link stays; what it points to is written as above (a dangling
//    link's target is created).
//  - a character device or a FIFO (/dev/null, /dev/stdout, a named pipe): written in place,
//    never replaced. Not atomic: that is the nature of a stream.
//  - anything else (a directory, a block device, a socket): refused with Error(kIo).
#ifndef QREPORT_CORE_IO_OUTPUT_FILE_H_
#define QREPORT_CORE_IO_OUTPUT_FILE_H_

#include <string>
#include <string_view>
#include <vector>

namespace qreport {

struct FileContent {
  std::string path;
  std::string_view content;  // REQUIRES: outlives the call it is passed to
};

// Throws Error(kIo) naming `path` and the reason; on failure `path` is unchanged and no
// temporary file is left behind.
void WriteFileAtomically(const std::string& path, std::string_view content);

// All of `files` or none: every regular target is staged first and renamed into place only
// when all were written. Streams are written before the renames, so a full /dev/full still
// leaves the regular targets untouched. Throws Error(kIo) as WriteFileAtomically does.
void WriteFilesAtomically(const std::vector<FileContent>& files);

// Throws Error(kIo) unless WriteFileAtomically(path, ...) could succeed now, as far as can
// be told without writing it: the path's kind is one of the above and its directory takes a
// new file. Creates nothing that stays.
void CheckCanWrite(const std::string& path);

// Throws Error(kIo) unless `directory` is a directory that takes new files, or could be
// created (its nearest existing ancestor is a directory that takes new files). Creates
// nothing that stays.
void CheckCanWriteDirectory(const std::string& directory);

// Creates `directory` and its parents if needed. Throws Error(kIo) naming the path.
void CreateOutputDirectory(const std::string& directory);

}  // namespace qreport

#endif  // QREPORT_CORE_IO_OUTPUT_FILE_H_

#include "qreport/core/io/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>

#include "qreport/core/error.h"

namespace qreport {
namespace {

namespace fs = std::filesystem;

// Linux's own limit on links followed in one lookup (MAXSYMLINKS).
constexpr int kMaxLinks = 40;

enum class TargetKind { kAbsent, kRegular, kStream, kRefused };

// What writing `requested` would write to, links followed.
struct Target {
  std::string requested;
  std::string path;  // the file itself: `requested`, or where its links lead
  TargetKind kind = TargetKind::kAbsent;
  mode_t mode = 0;
  std::string refused_why;  // kRefused: what the path is

  // How errors name the file: as the user gave it, and where a link led.
  std::string Name() const {
    return path == requested ? requested : fmt::format("{} (a link to {})", requested, path);
  }
};

Error IoError(const std::string& name, const std::string& what, int error_number) {
  return MakeError(ErrorKind::kIo, "{}: {}: {}", name, what, std::strerror(error_number));
}

const char* KindName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Target Resolve(const std::string& requested) {
  Target target;
  target.requested = requested;
  target.path = requested;
  for (int links = 0;; ++links) {
    struct stat info {};
    if (::lstat(target.path.c_str(), &info) != 0) {
      if (errno == ENOENT) return target;  // kAbsent; a missing directory shows when staging
      throw IoError(target.Name(), "cannot write", errno);
    }
    if (!S_ISLNK(info.st_mode)) {
      target.mode = info.st_mode;
      if (S_ISREG(info.st_mode)) {
        target.kind = TargetKind::kRegular;
      } else if (S_ISCHR(info.st_mode) || S_ISFIFO(info.st_mode)) {
        target.kind = TargetKind::kStream;
      } else {
        target.kind = TargetKind::kRefused;
        target.refused_why = KindName(info.st_mode);
      }
      return target;
    }
    if (links == kMaxLinks) {
      throw MakeError(ErrorKind::kIo, "{}: cannot write: too many levels of symbolic links",
                      requested);
    }
    std::error_code ec;
    const fs::path link = fs::read_symlink(target.path, ec);
    if (ec) throw IoError(target.Name(), "cannot read the link", ec.value());
    target.path =
        link.is_absolute() ? link.string() : (fs::path(target.path).parent_path() / link).string();
  }
}

void Refuse(const Target& target) {
  throw MakeError(ErrorKind::kIo,
                  "{}: is {}; qreport replaces only regular files and writes through only to "
                  "character devices and FIFOs, so give a file name",
                  target.Name(), target.refused_why);
}

std::string DirectoryOf(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

void WriteAll(int fd, std::string_view content, const std::string& name) {
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw IoError(name, "cannot write", errno);
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
}

// A new, uniquely named file beside the target, removed again unless committed. Unique names
// keep concurrent writers of the same path from writing into one temporary file.
class StagedFile {
 public:
  StagedFile(const Target& target, std::string_view content) : target_(target) {
    Create(DirectoryOf(target.path), "." + fs::path(target.path).filename().string());
    try {
      // An existing file keeps its permissions; a new one gets the umask's, as open() gives.
      if (target.kind == TargetKind::kRegular && ::fchmod(fd_, target.mode & 07777) != 0) {
        throw IoError(target.Name(), "cannot set the permissions of the new file", errno);
      }
      WriteAll(fd_, content, target.Name());
      // A rename is durable only over data that reached the disk.
      if (::fsync(fd_) != 0 && errno != EINVAL) throw IoError(target.Name(), "cannot write", errno);
      const int fd = fd_;
      fd_ = -1;
      if (::close(fd) != 0) throw IoError(target.Name(), "cannot write", errno);
    } catch (...) {
      Discard();
      throw;
    }
  }
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile() { Discard(); }

  void Commit() {
    if (::rename(temporary_.c_str(), target_.path.c_str()) != 0) {
      const int error_number = errno;
      Discard();
      throw IoError(target_.Name(), "cannot move the new file into place", error_number);
    }
    temporary_.clear();
  }

  // Creates a probe file and removes it again: whether `directory` takes new files.
  static void Probe(const std::string& directory, const std::string& name) {
    StagedFile probe(directory, name);
  }

 private:
  StagedFile(const std::string& directory, const std::string& name) {
    target_.requested = name;
    target_.path = name;
    Create(directory, ".qreport-probe");
  }

  void Create(const std::string& directory, const std::string& stem) {
    std::random_device entropy;
    for (int attempt = 0; attempt < 100; ++attempt) {
      const std::string candidate =
          (fs::path(directory) / fmt::format("{}.{:08x}{:08x}.tmp", stem, entropy(), entropy()))
              .string();
      fd_ = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) {
        temporary_ = candidate;
        return;
      }
      if (errno != EEXIST) {
        throw IoError(target_.Name(), fmt::format("cannot create a file in {}", directory), errno);
      }
    }
    throw MakeError(ErrorKind::kIo, "{}: cannot create a temporary file in {}", target_.Name(),
                    directory);
  }

  void Discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temporary_.empty()) ::unlink(temporary_.c_str());
    temporary_.clear();
  }

  Target target_;
  std::string temporary_;
  int fd_ = -1;
};

void WriteThrough(const Target& target, std::string_view content) {
  int fd = -1;
  do {
    fd = ::open(target.path.c_str(), O_WRONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw IoError(target.Name(), "cannot write", errno);
  try {
    WriteAll(fd, content, target.Name());
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw IoError(target.Name(), "cannot write", errno);
}

}  // namespace

void WriteFileAtomically(const std::string& path, std::string_view content) {
  WriteFilesAtomically({{path, content}});
}

void WriteFilesAtomically(const std::vector<FileContent>& files) {
  std::vector<Target> targets;
  for (const FileContent& file : files) {
    targets.push_back(Resolve(file.path));
    if (targets.back().kind == TargetKind::kRefused) Refuse(targets.back());
  }
  std::vector<std::unique_ptr<StagedFile>> staged;
  std::vector<std::pair<const Target*, std::string_view>> streams;
  for (size_t i = 0; i < files.size(); ++i) {
    if (targets[i].kind == TargetKind::kStream) {
      streams.emplace_back(&targets[i], files[i].content);
    } else {
      staged.push_back(std::make_unique<StagedFile>(targets[i], files[i].content));
    }
  }
  for (const auto& [target, content] : streams) WriteThrough(*target, content);
  for (const auto& file : staged) file->Commit();
}

void CheckCanWrite(const std::string& path) {
  const Target target = Resolve(path);
  switch (target.kind) {
    case TargetKind::kRefused:
      Refuse(target);
      break;
    case TargetKind::kStream:
      if (::access(target.path.c_str(), W_OK) != 0) {
        throw IoError(target.Name(), "cannot write", errno);
      }
      break;
    case TargetKind::kAbsent:
    case TargetKind::kRegular:
      StagedFile::Probe(DirectoryOf(target.path), target.Name());
      break;
  }
}

void CheckCanWriteDirectory(const std::string& directory) {
  fs::path existing = directory.empty() ? fs::path(".") : fs::path(directory);
  for (;;) {
    struct stat info {};
    if (::stat(existing.c_str(), &info) == 0) {
      if (!S_ISDIR(info.st_mode)) {
        throw MakeError(ErrorKind::kIo, "{}: cannot create the output directory: {} is {}",
                        directory, existing.string(),
                        S_ISREG(info.st_mode) ? "a file" : KindName(info.st_mode));
      }
      StagedFile::Probe(existing.string(), directory);
      return;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
      throw IoError(directory, "cannot create the output directory", errno);
    }
    // Walk up to the part that exists: that is where the first new directory would go.
    const fs::path parent = existing.parent_path();
    existing = parent.empty() || parent == existing ? fs::path(".") : parent;
  }
}

void CreateOutputDirectory(const std::string& directory) {
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec || !fs::is_directory(directory)) {
    throw MakeError(ErrorKind::kIo, "{}: cannot create the output directory: {}", directory,
                    ec ? ec.message() : "a file of that name exists");
  }
}

}  // namespace qreport

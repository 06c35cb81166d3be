#include "qreport/core/io/output_file.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("qreport_output_file_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  // Everything in the directory: no temporary file may stay behind.
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::string MessageOf(const std::function<void()>& action) {
    try {
      action();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kIo) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "expected an Error";
    return "";
  }

  fs::path dir_;
};

TEST_F(OutputFileTest, ReplacesARegularFileKeepingItsPermissions) {
  const std::string path = Path("state");
  WriteFileAtomically(path, "old");
  ::chmod(path.c_str(), 0640);
  WriteFileAtomically(path, "new contents");
  EXPECT_EQ(Read(path), "new contents");
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0640u);
  EXPECT_EQ(Entries(), std::vector<std::string>{"state"});
}

TEST_F(OutputFileTest, WritesThroughACharacterDeviceWithoutReplacingIt) {
  WriteFileAtomically("/dev/null", "discarded");
  struct stat info {};
  ASSERT_EQ(::stat("/dev/null", &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
}

TEST_F(OutputFileTest, AFullDeviceIsAnErrorAndStaysADevice) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  EXPECT_THAT(MessageOf([] { WriteFileAtomically("/dev/full", "x"); }),
              HasSubstr("/dev/full: cannot write: No space left on device"));
  struct stat info {};
  ASSERT_EQ(::stat("/dev/full", &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
}

TEST_F(OutputFileTest, WritesThroughAFifoInPlace) {
  const std::string fifo = Path("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = Read(fifo); });
  WriteFileAtomically(fifo, "streamed");
  reader.join();
  EXPECT_EQ(received, "streamed");
  struct stat info {};
  ASSERT_EQ(::lstat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
}

TEST_F(OutputFileTest, ALinkStaysALinkAndItsTargetIsWritten) {
  fs::create_directories(dir_ / "real");
  const std::string target = Path("real/state");
  WriteFileAtomically(target, "old");
  fs::create_symlink("real/state", dir_ / "link");
  WriteFileAtomically(Path("link"), "new");
  EXPECT_TRUE(fs::is_symlink(dir_ / "link"));
  EXPECT_EQ(Read(target), "new");
  // A dangling link's target is created, beside where it points.
  fs::create_symlink("real/later", dir_ / "dangling");
  WriteFileAtomically(Path("dangling"), "created");
  EXPECT_TRUE(fs::is_symlink(dir_ / "dangling"));
  EXPECT_EQ(Read(Path("real/later")), "created");
}

TEST_F(OutputFileTest, RefusesADirectoryAndALinkLoop) {
  fs::create_directories(dir_ / "sub");
  EXPECT_THAT(MessageOf([&] { WriteFileAtomically(Path("sub"), "x"); }),
              HasSubstr("is a directory"));
  fs::create_symlink("loop_b", dir_ / "loop_a");
  fs::create_symlink("loop_a", dir_ / "loop_b");
  EXPECT_THAT(MessageOf([&] { WriteFileAtomically(Path("loop_a"), "x"); }),
              HasSubstr("too many levels of symbolic links"));
}

TEST_F(OutputFileTest, AMissingDirectoryIsNamedAndNothingIsLeft) {
  EXPECT_THAT(MessageOf([&] { WriteFileAtomically(Path("missing/state"), "x"); }),
              HasSubstr("No such file or directory"));
  EXPECT_TRUE(Entries().empty());
}

TEST_F(OutputFileTest, ASetIsWrittenWholeOrNotAtAll) {
  WriteFileAtomically(Path("a"), "old a");
  fs::create_directories(dir_ / "b");  // a directory where the second file should go
  EXPECT_THAT(MessageOf([&] {
                WriteFilesAtomically({{Path("a"), "new a"}, {Path("b"), "new b"}});
              }),
              HasSubstr("is a directory"));
  EXPECT_EQ(Read(Path("a")), "old a");
  if (fs::exists("/dev/full")) {
    EXPECT_THAT(MessageOf([&] {
                  WriteFilesAtomically({{Path("a"), "new a"}, {"/dev/full", "x"}});
                }),
                HasSubstr("No space left on device"));
    EXPECT_EQ(Read(Path("a")), "old a");
  }
  EXPECT_EQ(Entries(), (std::vector<std::string>{"a", "b"}));
}

// Two processes replacing the same file over and over: a reader only ever sees one writer's
// complete content.
TEST_F(OutputFileTest, ConcurrentWritersNeverMix) {
  const std::string path = Path("shared");
  const std::string first(1 << 20, 'a');
  const std::string second((1 << 20) + 7, 'b');
  WriteFileAtomically(path, first);
  std::vector<pid_t> children;
  for (const std::string* content : {&first, &second}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int status = 0;
      try {
        for (int i = 0; i < 20; ++i) WriteFileAtomically(path, *content);
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    children.push_back(child);
  }
  int seen = 0;
  for (;;) {
    const std::string now = Read(path);
    ASSERT_TRUE(now == first || now == second) << "a mix of " << now.size() << " bytes";
    ++seen;
    int status = 0;
    if (::waitpid(children.front(), &status, WNOHANG) != 0 &&
        ::waitpid(children.back(), &status, WNOHANG) != 0) {
      break;
    }
  }
  for (pid_t child : children) {
    int status = 0;
    ::waitpid(child, &status, 0);
  }
  EXPECT_GT(seen, 0);
  const std::string last = Read(path);
  EXPECT_TRUE(last == first || last == second);
  EXPECT_EQ(Entries(), std::vector<std::string>{"shared"});
}

TEST_F(OutputFileTest, CheckCanWriteLooksAheadAndCreatesNothing) {
  CheckCanWrite(Path("new_state"));
  CheckCanWrite("/dev/null");
  EXPECT_TRUE(Entries().empty());
  fs::create_directories(dir_ / "sub");
  EXPECT_THAT(MessageOf([&] { CheckCanWrite(Path("sub")); }), HasSubstr("is a directory"));
  EXPECT_THAT(MessageOf([&] { CheckCanWrite(Path("missing/state")); }),
              HasSubstr("No such file or directory"));
}

TEST_F(OutputFileTest, CheckCanWriteDirectoryFindsWhatBlocksIt) {
  CheckCanWriteDirectory(Path("report/deeper"));  // may be created: dir_ takes files
  CheckCanWriteDirectory(dir_.string());
  EXPECT_TRUE(Entries().empty());
  WriteFileAtomically(Path("file"), "x");
  EXPECT_THAT(MessageOf([&] { CheckCanWriteDirectory(Path("file/report")); }),
              HasSubstr("cannot create the output directory: " + Path("file") + " is a file"));
  EXPECT_EQ(Entries(), std::vector<std::string>{"file"});
}

TEST_F(OutputFileTest, CreateOutputDirectoryMakesParents) {
  CreateOutputDirectory(Path("a/b/c"));
  EXPECT_TRUE(fs::is_directory(dir_ / "a/b/c"));
  WriteFileAtomically(Path("file"), "x");
  EXPECT_THAT(MessageOf([&] { CreateOutputDirectory(Path("file")); }),
              HasSubstr("cannot create the output directory"));
}

}  // namespace
}  // namespace qreport

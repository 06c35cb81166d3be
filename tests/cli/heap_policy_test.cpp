#include "../../tools/heap_policy.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "cli/cli_support.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace qreport::cli {
namespace {

using cli_testing::Environment;

TEST(HeapPolicyTest, TheUsersMallocSettingsAreFound) {
  EXPECT_EQ(MallocTunedBy(Environment({})), std::nullopt);
  EXPECT_EQ(MallocTunedBy(Environment({{"HOME", "/root"}, {"MALLOC_ARENA_MAX_X", "1"}})),
            std::nullopt);
  EXPECT_EQ(MallocTunedBy(Environment({{"MALLOC_TRIM_THRESHOLD_", "0"}})),
            "MALLOC_TRIM_THRESHOLD_");
  EXPECT_EQ(MallocTunedBy(Environment({{"MALLOC_MMAP_THRESHOLD_", "131072"}})),
            "MALLOC_MMAP_THRESHOLD_");
  EXPECT_EQ(MallocTunedBy(Environment({{"GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0"}})),
            "GLIBC_TUNABLES");
  EXPECT_EQ(MallocTunedBy(Environment({{"GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F"}})),
            std::nullopt);
}

#ifdef __GLIBC__
constexpr size_t kActivation = 16 << 20;  // above glibc's initial mmap threshold (128 KiB)

// Allocates and frees one activation-sized block; exits 0 if it came from the heap (no
// mapping of its own) and the heap kept it after the free, 1 if it was mapped, 2 otherwise.
// (The callers exit 3 when ApplyHeapPolicy did not report what was asked.)
[[noreturn]] void AllocateFreeAndExit() {
  const size_t mapped_before = mallinfo2().hblks;
  void* block = std::malloc(kActivation);
  std::memset(block, 1, kActivation);
  asm volatile("" : : "r"(block) : "memory");  // or the compiler may drop the pair of calls
  const bool mapped = mallinfo2().hblks > mapped_before;
  std::free(block);
  if (mapped) std::exit(1);
  std::exit(mallinfo2().arena >= kActivation ? 0 : 2);
}

// Each case runs in a fresh process (gtest re-executes the test binary), so the malloc state
// is the one a qreport process starts with.
class HeapPolicyProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    if (const auto tuned = MallocTunedBy([](const char* name) { return std::getenv(name); })) {
      GTEST_SKIP() << "the environment tunes malloc (" << *tuned << ")";
    }
  }
};

TEST_F(HeapPolicyProcessTest, ByDefaultALargeActivationIsMappedAndUnmapped) {
  EXPECT_EXIT(
      {
        if (ApplyHeapPolicy(HeapPolicy::kSystemDefault)) std::exit(3);
        AllocateFreeAndExit();
      },
      ::testing::ExitedWithCode(1), "");
}

TEST_F(HeapPolicyProcessTest, KeepingFreedMemoryServesAndKeepsItInTheHeap) {
  EXPECT_EXIT(
      {
        if (!ApplyHeapPolicy(HeapPolicy::kKeepFreedMemory)) std::exit(3);
        AllocateFreeAndExit();
      },
      ::testing::ExitedWithCode(0), "");
}
#endif

}  // namespace
}  // namespace qreport::cli

// What the process's heap does with the memory a calibration batch frees. A forward pass
// allocates and frees its activations batch after batch; with glibc's defaults the freed top
// of the heap is handed back to the kernel after each batch and faulted in again, page by
// page, in the next one. On a transformer encoder, whose layer-by-layer path allocates more
// temporaries than the fused kernel of plain inference, calibration took 1.22x plain
// inference that way, and 1.05x keeping the memory (bench/RESULTS.md). The qreport command is a
// process of its own, so by default it keeps freed memory for the next batch, as inference
// runtimes' caching allocators do (ONNX Runtime's CPU arena). The library never touches the
// allocator: that is the application's call.
#ifndef QREPORT_TOOLS_HEAP_POLICY_H_
#define QREPORT_TOOLS_HEAP_POLICY_H_

#include <functional>
#include <optional>
#include <string>

namespace qreport::cli {

// glibc serves allocations up to this size from the heap instead of fresh mappings (its
// dynamic threshold stops rising at the same 32 MiB)...
constexpr int kKeptMmapThreshold = 32 << 20;
// ...and keeps up to this much free memory at the heap's top. A quarter of what was tried
// first (256 MiB): as fast on the bench transformer (65 and 67 ms a batch, 75 under
// glibc's default), and mobilenet_v2's calibration peaked at a median 429 MiB against 464
// (plain inference under glibc's default: 413; five processes, three at 256 MiB). resnet18,
// whose batch frees more than 64 MiB, gains less: 287 ms a batch against 276 at 256 MiB and
// 297 under the default.
constexpr int kKeptTrimThreshold = 64 << 20;

// The environment variable through which the user already tunes glibc's malloc, if any
// (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_, MALLOC_MMAP_MAX_, or
// GLIBC_TUNABLES naming glibc.malloc). `getenv` is a parameter for tests.
std::optional<std::string> MallocTunedBy(const std::function<const char*(const char*)>& getenv);

enum class HeapPolicy {
  kKeepFreedMemory,  // the thresholds above
  kSystemDefault,    // glibc's own, dynamic thresholds
};

// Applies `policy` to this process's malloc, unless the environment already tunes it (the
// user's choice wins) or the C library is not glibc. Returns whether anything was changed.
bool ApplyHeapPolicy(HeapPolicy policy);

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_HEAP_POLICY_H_

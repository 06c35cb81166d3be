#include "heap_policy.h"

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace qreport::cli {

std::optional<std::string> MallocTunedBy(const std::function<const char*(const char*)>& getenv) {
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                           "MALLOC_MMAP_MAX_"}) {
    if (getenv(name) != nullptr) return std::string(name);
  }
  const char* tunables = getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) {
    return std::string("GLIBC_TUNABLES");
  }
  return std::nullopt;
}

bool ApplyHeapPolicy(HeapPolicy policy) {
#ifdef __GLIBC__
  // Setting either threshold also turns off glibc's dynamic adjustment of both, which is
  // the default policy itself: nothing to do for it.
  if (policy == HeapPolicy::kSystemDefault) return false;
  if (MallocTunedBy([](const char* name) { return std::getenv(name); })) return false;
  return mallopt(M_MMAP_THRESHOLD, kKeptMmapThreshold) == 1 &&
         mallopt(M_TRIM_THRESHOLD, kKeptTrimThreshold) == 1;
#else
  (void)policy;
  return false;
#endif
}

}  // namespace qreport::cli

#include "thread_policy.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "qreport/core/error.h"

namespace qreport::cli {
namespace {

// The first level of an OpenMP thread list ("8" or "8,2"), as a positive count.
int ParseCount(const char* name, const char* value) {
  const std::string_view text(value);
  const std::string_view first = text.substr(0, text.find(','));
  int count = 0;
  const auto [end, error] = std::from_chars(first.data(), first.data() + first.size(), count);
  QREPORT_CHECK(error == std::errc() && end == first.data() + first.size() && count > 0,
                "{} is '{}'; expected a positive thread count, such as {}=4 (or unset it to use "
                "every CPU this process may run on)",
                name, text, name);
  return count;
}

}  // namespace

int ChooseThreads(int flag, const std::function<const char*(const char*)>& getenv,
                  int usable_cpus) {
  if (flag > 0) return flag;
  for (const char* name : {"OMP_NUM_THREADS", "MKL_NUM_THREADS"}) {
    const char* value = getenv(name);
    if (value != nullptr && *value != '\0') return ParseCount(name, value);
  }
  return std::max(usable_cpus, 1);
}

int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(CPU_COUNT(&set), 1);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

}  // namespace qreport::cli

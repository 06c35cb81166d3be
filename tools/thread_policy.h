// How many intra-op threads a command that runs a model uses. Debian's LibTorch starts with
// one thread on these machines (at::get_num_threads() is 1 on two cores), which made a
// resnet18 calibration batch cost about what a one-thread forward does: 625 ms where both
// cores take 365. So the command picks the count itself, in this order:
//   1. --threads N;
//   2. OMP_NUM_THREADS, then MKL_NUM_THREADS, when set (the variables PyTorch documents for
//      it; an OpenMP list "4,2" gives its first, outermost level);
//   3. the CPUs the process may run on: its affinity mask, which taskset and cgroup cpusets
//      narrow. Not the machine's core count, which a container may not own.
#ifndef QREPORT_TOOLS_THREAD_POLICY_H_
#define QREPORT_TOOLS_THREAD_POLICY_H_

#include <functional>

namespace qreport::cli {

// `flag` is --threads (0: not given); `getenv` is a parameter for tests; `usable_cpus` is
// UsableCpus(). Throws qreport::Error(kInvalidArgument) for a variable that is set but not a
// positive integer, naming it: OpenMP would ignore it, and the user meant something by it.
int ChooseThreads(int flag, const std::function<const char*(const char*)>& getenv, int usable_cpus);

// CPUs in this process's affinity mask; the online CPU count where the mask is unavailable.
int UsableCpus();

}  // namespace qreport::cli

#endif  // QREPORT_TOOLS_THREAD_POLICY_H_

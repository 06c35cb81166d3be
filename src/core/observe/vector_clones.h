// Private to the core: how its hot loops are compiled for the CPU they run on.
#ifndef QREPORT_SRC_CORE_OBSERVE_VECTOR_CLONES_H_
#define QREPORT_SRC_CORE_OBSERVE_VECTOR_CLONES_H_

// Loops over values are compiled for plain x86-64 (SSE2), AVX2 and AVX-512; the loader picks
// the best the CPU has (GCC function multiversioning, resolved once through an ifunc).
// Elsewhere they are compiled once, for the target.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define QREPORT_VECTOR_CLONES \
  __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#define QREPORT_X86_VERSIONS
#else
#define QREPORT_VECTOR_CLONES
#endif

#endif  // QREPORT_SRC_CORE_OBSERVE_VECTOR_CLONES_H_

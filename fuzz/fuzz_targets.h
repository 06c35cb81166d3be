// The fuzz targets: each hands arbitrary bytes to one reader of outside bytes, the way the
// command does, and then uses what was read. A reader may reject its input only by throwing
// qreport::Error; any other exception, a crash or a sanitizer report is a bug in the reader.
//
// One function per target, so the same code serves libFuzzer (fuzz/<target>_fuzzer.cpp with
// QREPORT_LIBFUZZER defines LLVMFuzzerTestOneInput) and the replay of fuzz/regressions/ in the
// normal build (tests/fuzz/), which GCC compiles without libFuzzer.
//
//   qreport::fuzz::NpyTarget(bytes.data(), bytes.size());  // returns 0; never throws Error
#ifndef QREPORT_FUZZ_FUZZ_TARGETS_H_
#define QREPORT_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>

namespace qreport::fuzz {

// Torch-free targets.
int NpyTarget(const uint8_t* data, size_t size);        // ParseNpy, then every element
int NpzTarget(const uint8_t* data, size_t size);        // ParseNpz, then every element
int StateTarget(const uint8_t* data, size_t size);      // ObserverBank::FromBytes, Merge
int QConfigTarget(const uint8_t* data, size_t size);    // QConfigMapping::FromJson, Resolve
int ReportTarget(const uint8_t* data, size_t size);     // LoadReportDocuments, the views
int DataEntryTarget(const uint8_t* data, size_t size);  // ParseDataEntry (--data)
// Links LibTorch: the checks before a model or a container is loaded.
int ArchiveTarget(const uint8_t* data, size_t size);  // SniffArchive, CheckTorchScriptArchive

}  // namespace qreport::fuzz

// libFuzzer's entry point for one target, in that target's file.
#ifdef QREPORT_LIBFUZZER
#define QREPORT_FUZZ_ENTRY_POINT(target)                                    \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return ::qreport::fuzz::target(data, size);                             \
  }
#else
#define QREPORT_FUZZ_ENTRY_POINT(target)
#endif

#endif  // QREPORT_FUZZ_FUZZ_TARGETS_H_

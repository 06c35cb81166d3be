# Sanitized builds: `make test-sanitize` (QREPORT_SANITIZE, GCC or clang) and `make fuzz`
# (QREPORT_FUZZ, clang: libFuzzer ships with it). Included before any target is defined, so
# the core's libraries are instrumented as well as the tests and harnesses that call them:
# an out-of-bounds read inside a reader is only seen when the reader itself is instrumented.
option(QREPORT_SANITIZE "Build everything with AddressSanitizer and UndefinedBehaviorSanitizer"
       OFF)
option(QREPORT_FUZZ "Build the libFuzzer harnesses of fuzz/ (needs clang; implies QREPORT_SANITIZE)"
       OFF)

if(QREPORT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "QREPORT_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++, as `make fuzz` does")
  endif()
  set(QREPORT_SANITIZE ON)
  # Coverage feedback from every instrumented file; only the harnesses link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(QREPORT_SANITIZE)
  # -fno-sanitize-recover: undefined behaviour fails the test instead of printing and going on.
  # -g1: line numbers in the reports, without the compile time of full debug information.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g1)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12 sees uninitialised members in libstdc++'s own <regex> and <functional> once ASan
  # instruments them (std::function inside _StateT); the normal build has no such warning.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()

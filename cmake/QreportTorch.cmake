# What code that includes LibTorch's headers must agree on with the LibTorch it was found in:
# Debian's (1.13 on Debian 12, 2.6 on Debian 13) or the one inside a PyPI torch wheel
# (CMAKE_PREFIX_PATH from torch.utils.cmake_prefix_path).
#
# - The C++ standard. LibTorch's headers from 2.10 on use C++20 (TorchConfig.cmake records it
#   as the CXX_STANDARD of the `torch` target); the core stays C++17 and is compiled once.
# - The C++ ABI. TORCH_CXX_FLAGS carries -D_GLIBCXX_USE_CXX11_ABI=0/1. The wheel's LibTorch
#   uses the new ABI, as Debian's packages do; an old-ABI LibTorch cannot link with the core,
#   which links Debian's fmt and libzip, so it is refused here with the reason.
# - fmt. A wheel's include directory holds a newer fmt than Debian's, and it comes before
#   /usr/include, so torch-including code sees that fmt's headers. Those headers are used
#   header-only there (FMT_HEADER_ONLY): they live in fmt's own versioned inline namespace
#   and cannot clash with the compiled Debian fmt the core links.
set(QREPORT_TORCH_CXX_STANDARD 17)
get_target_property(_qreport_torch_std torch CXX_STANDARD)
if(_qreport_torch_std AND _qreport_torch_std GREATER QREPORT_TORCH_CXX_STANDARD)
  set(QREPORT_TORCH_CXX_STANDARD ${_qreport_torch_std})
endif()

if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  message(FATAL_ERROR
    "LibTorch at ${TORCH_INSTALL_PREFIX} was built with the pre-C++11 ABI "
    "(TORCH_CXX_FLAGS: ${TORCH_CXX_FLAGS}); qreport links Debian's libraries, which use the "
    "C++11 ABI. Use Debian's LibTorch, a torch wheel of 2.7 or newer, or a cxx11-abi LibTorch.")
endif()

set(QREPORT_TORCH_BUNDLES_FMT OFF)
foreach(_dir IN LISTS TORCH_INCLUDE_DIRS)
  if(NOT _dir STREQUAL "/usr/include" AND (EXISTS "${_dir}/fmt/base.h" OR EXISTS "${_dir}/fmt/core.h"))
    set(QREPORT_TORCH_BUNDLES_FMT ON)
  endif()
endforeach()

# - OpenMP. A wheel ships its own libgomp.so.1 beside libtorch_cpu.so, and the loader keeps one
#   libgomp.so.1 per process. The core's observers link that same file, so there is one OpenMP
#   runtime, LibTorch's, and one thread pool setting for both.
#   (Not TORCH_LIBRARY: TorchConfig finds it with system paths first, so with Debian's LibTorch
#   also installed it names /usr/lib's libtorch.so even when the wheel's is linked.)
set(_qreport_torch_gomp "${TORCH_INSTALL_PREFIX}/lib/libgomp.so.1")
if(EXISTS "${_qreport_torch_gomp}" AND NOT OpenMP_gomp_LIBRARY)
  set(OpenMP_gomp_LIBRARY "${_qreport_torch_gomp}" CACHE FILEPATH "LibTorch's own OpenMP runtime")
endif()

set(_qreport_fmt_note "")
if(QREPORT_TORCH_BUNDLES_FMT)
  set(_qreport_fmt_note "; its bundled fmt used header-only")
endif()
message(STATUS "qreport: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}, "
               "front-end in C++${QREPORT_TORCH_CXX_STANDARD}${_qreport_fmt_note}")

# Applies the above to a target that includes LibTorch's headers; PUBLIC, so everything that
# links it compiles the same way.
function(qreport_torch_usage target)
  target_compile_options(${target} PUBLIC ${TORCH_CXX_FLAGS})
  target_compile_features(${target} PUBLIC cxx_std_${QREPORT_TORCH_CXX_STANDARD})
  if(QREPORT_TORCH_BUNDLES_FMT)
    target_compile_definitions(${target} PUBLIC FMT_HEADER_ONLY)
  endif()
endfunction()

# layout.dependencies: every #include in the core keeps to the layers of CMakeLists.txt.
#   cmake -DSOURCE_DIR=<repository> -DLAYERS=<build>/core_layers.txt -P check_dependencies.cmake
# A file of layer L (src/core/L/, include/qreport/core/L/; src/core/*.cpp is layer `error`)
# may include the public or private headers of L and of the layers L uses, directly or not;
# no core file includes LibTorch or a front-end; nothing in the project includes the
# deprecated forwarding headers, and each of those forwards to a header that exists.
cmake_minimum_required(VERSION 3.20)

file(STRINGS "${LAYERS}" lines)
set(layers "")
foreach(line IN LISTS lines)
  string(REGEX MATCH "^([a-z_]+): (.*)$" _ "${line}")
  set(layer ${CMAKE_MATCH_1})
  string(REPLACE " " ";" allowed_${layer} "${CMAKE_MATCH_2}")
  list(APPEND layers ${layer})
endforeach()

set(problems "")
macro(problem text)
  string(APPEND problems "  ${text}\n")
endmacro()

# The forwarding headers: include/qreport/core/*.h except error.h, the one layer header there.
file(GLOB forwarding RELATIVE "${SOURCE_DIR}/include" "${SOURCE_DIR}/include/qreport/core/*.h")
list(REMOVE_ITEM forwarding "qreport/core/error.h")
foreach(header IN LISTS forwarding)
  file(STRINGS "${SOURCE_DIR}/include/${header}" includes REGEX "^#include ")
  list(LENGTH includes count)
  string(REGEX MATCH "\"([^\"]+)\"" _ "${includes}")
  if(NOT count EQUAL 1 OR NOT EXISTS "${SOURCE_DIR}/include/${CMAKE_MATCH_1}")
    problem("include/${header}: should forward to one existing header, has: ${includes}")
  endif()
endforeach()

function(layer_of file out)  # file relative to SOURCE_DIR
  if(file MATCHES "^(src/core|include/qreport/core)/([a-z_]+)/")
    set(${out} ${CMAKE_MATCH_2} PARENT_SCOPE)
  elseif(file MATCHES "^(src/core|include/qreport/core)/[^/]+$")
    set(${out} error PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE files RELATIVE "${SOURCE_DIR}"
     "${SOURCE_DIR}/src/*.h" "${SOURCE_DIR}/src/*.cpp" "${SOURCE_DIR}/include/*.h"
     "${SOURCE_DIR}/tools/*.h" "${SOURCE_DIR}/tools/*.cpp" "${SOURCE_DIR}/tests/*.h"
     "${SOURCE_DIR}/tests/*.cpp" "${SOURCE_DIR}/bench/*.cpp")
list(LENGTH files checked)
foreach(file IN LISTS files)
  file(STRINGS "${SOURCE_DIR}/${file}" includes REGEX "^#include ")
  layer_of(${file} layer)
  foreach(include IN LISTS includes)
    string(REGEX MATCH "^#include [\"<]([^\">]+)[\">]" _ "${include}")
    set(path ${CMAKE_MATCH_1})
    if(path IN_LIST forwarding AND NOT file STREQUAL "tests/core/forwarding_headers_test.cpp")
      problem("${file}: includes the deprecated ${path}")
    endif()
    string(REGEX REPLACE "^include/" "" public "${file}")
    if(NOT layer OR public IN_LIST forwarding)
      continue()
    endif()
    if(path MATCHES "^(torch|ATen|c10|qreport/torchscript)/")
      problem("${file}: the core includes ${path}")
      continue()
    endif()
    set(target "")
    if(path MATCHES "^qreport/core/([a-z_]+)/")
      set(target ${CMAKE_MATCH_1})
    elseif(path MATCHES "^qreport/core/error.h$")
      set(target error)
    elseif(path MATCHES "^([a-z_]+)/[^/]+\\.h$" AND CMAKE_MATCH_1 IN_LIST layers)
      set(target ${CMAKE_MATCH_1})  # a private header, by its path under src/core/
    elseif(include MATCHES "^#include \"" AND NOT path MATCHES "^qreport/version.h$")
      problem("${file}: ${path} is neither a layer's header nor qreport/version.h")
      continue()
    endif()
    if(target AND NOT target IN_LIST allowed_${layer})
      list(JOIN allowed_${layer} ", " allowed)
      problem("${file} (layer ${layer}) includes ${path} (layer ${target}); ${layer} may include: ${allowed}")
    endif()
  endforeach()
endforeach()

if(problems)
  message(FATAL_ERROR "layout.dependencies: includes outside the layers of CMakeLists.txt:\n${problems}")
endif()
list(LENGTH layers layer_count)
message(STATUS "layout.dependencies: ${checked} files keep to ${layer_count} layers")

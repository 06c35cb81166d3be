# The core is a stack of layers, one static library per folder of src/core/ (and of
# include/qreport/core/). A layer links the layers it may use and no others; the list is kept
# in a global property so that the `layout.dependencies` test can check every #include
# against it (tests/layout/check_dependencies.cmake).
#
#   qreport_core_layer(<name> SOURCES <files...> [USES <layers...>] [PRIVATE <libraries...>])
#
# builds qreport_core_<name> from src/core/<name>/ (or the files given), exported as
# qreport::core_<name>. Private headers are included by their path under src/core/.
function(qreport_core_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;USES;PRIVATE")
  set(target qreport_core_${name})
  add_library(${target} STATIC ${arg_SOURCES})
  add_library(qreport::core_${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME core_${name}
                                             POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
           $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${PROJECT_SOURCE_DIR}/src/core)
  foreach(used IN LISTS arg_USES)
    target_link_libraries(${target} PUBLIC qreport_core_${used})
  endforeach()
  if(arg_PRIVATE)
    target_link_libraries(${target} PRIVATE ${arg_PRIVATE})
  endif()
  qreport_warnings(${target})
  set_property(GLOBAL APPEND PROPERTY QREPORT_CORE_LAYERS ${name})
  set_property(GLOBAL PROPERTY QREPORT_CORE_LAYER_USES_${name} "${arg_USES}")
  set_property(GLOBAL APPEND PROPERTY QREPORT_CORE_LAYER_TARGETS ${target})
endfunction()

# Writes the layers and what each may include (its own folder and, transitively, every layer
# it uses) to <file>, one line per layer: "<layer>: <allowed layers...>".
function(qreport_write_core_layers file)
  get_property(layers GLOBAL PROPERTY QREPORT_CORE_LAYERS)
  set(text "")
  foreach(layer IN LISTS layers)
    set(allowed ${layer})
    set(queue ${layer})
    while(queue)
      list(POP_FRONT queue current)
      get_property(uses GLOBAL PROPERTY QREPORT_CORE_LAYER_USES_${current})
      foreach(used IN LISTS uses)
        if(NOT used IN_LIST allowed)
          list(APPEND allowed ${used})
          list(APPEND queue ${used})
        endif()
      endforeach()
    endwhile()
    list(JOIN allowed " " allowed_text)
    string(APPEND text "${layer}: ${allowed_text}\n")
  endforeach()
  file(WRITE ${file} "${text}")
endfunction()

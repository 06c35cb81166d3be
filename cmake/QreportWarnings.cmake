# Our own code builds warning-free with -Wall -Wextra; third-party headers are system
# includes and do not count.
function(qreport_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
endfunction()

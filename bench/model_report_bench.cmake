# qreport_model_report_bench: the driver `make bench` runs (bench/run_bench.py). It needs no
# Google Benchmark, so the test build defines it too and smoke-tests it; whichever of tests/
# and bench/ comes first defines it.
if(NOT TARGET qreport_model_report_bench)
  add_executable(qreport_model_report_bench ${CMAKE_CURRENT_LIST_DIR}/model_report_bench.cpp)
  target_link_libraries(qreport_model_report_bench PRIVATE qreport::qreport)
  set_target_properties(qreport_model_report_bench PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
  qreport_warnings(qreport_model_report_bench)
  qreport_reuse_torch_pch(qreport_model_report_bench)
endif()

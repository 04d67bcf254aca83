# Stack capture cost (issue 2, recording overhead): the unwinders alone
# (unwind_bench, Google Benchmark) and per recorded event under the preload
# library (unwind_event_bench, run by bench/unwind/run.sh).
atr_cc_benchmark(NAME unwind_bench SRCS ${CMAKE_CURRENT_LIST_DIR}/unwind/unwind_bench.cc
  DEPS atr_table_unwinder PkgConfig::UNWIND Threads::Threads)
target_compile_options(unwind_bench PRIVATE -O2 -fno-omit-frame-pointer
  -fno-optimize-sibling-calls)
add_executable(unwind_event_bench ${CMAKE_CURRENT_LIST_DIR}/unwind/unwind_event_bench.c)
target_compile_options(unwind_event_bench PRIVATE -O2 -g -fno-omit-frame-pointer
  -fno-optimize-sibling-calls)
set_target_properties(unwind_event_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

# Recording benchmarks (bench/record/): the workload programs, the exit-time
# stamp library and the collector ingest benchmark that bench/record/run.sh
# drives. Results and how to run: docs/benchmarks.md, section "Record".
#
# The workloads are built like ordinary distribution binaries (-O2 -g, no
# frame pointers), so the default unwinder does the real work.
add_executable(atr-bench-alloc-heavy ${CMAKE_CURRENT_LIST_DIR}/record/alloc_heavy.cc)
target_compile_options(atr-bench-alloc-heavy PRIVATE -O2 -g -Wall -Wextra)
target_link_libraries(atr-bench-alloc-heavy PRIVATE Threads::Threads)

add_executable(atr-bench-all-sizes ${CMAKE_CURRENT_LIST_DIR}/record/all_sizes.c)
target_compile_options(atr-bench-all-sizes PRIVATE -O2 -g -Wall -Wextra)

add_library(atr_bench_exit_stamp SHARED ${CMAKE_CURRENT_LIST_DIR}/record/exit_stamp.c)
target_compile_options(atr_bench_exit_stamp PRIVATE -O2 -Wall -Wextra)

set_target_properties(atr-bench-alloc-heavy atr-bench-all-sizes atr_bench_exit_stamp PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

atr_cc_binary(NAME record_ingest_bench SRCS ${CMAKE_CURRENT_LIST_DIR}/record/ingest_bench.cc
              DEPS atr::collector)
set_target_properties(record_ingest_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

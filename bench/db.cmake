# Trace format benchmarks (db/). Results and how to run: docs/trace-format.md.
atr_cc_benchmark(NAME db_trace_bench SRCS ${CMAKE_CURRENT_LIST_DIR}/db_trace_bench.cc
                 DEPS atr::db SQLite::SQLite3)

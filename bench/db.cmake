# Trace format benchmarks (db/). Results and how to run: docs/trace-format.md.
atr_cc_benchmark(NAME db_trace_bench SRCS ${CMAKE_CURRENT_LIST_DIR}/db_trace_bench.cc
                 DEPS atr::db SQLite::SQLite3)

# Event chunk codec: encode/decode events/s and bytes/event. docs/benchmarks.md, "Event chunks".
atr_cc_benchmark(NAME event_chunk_bench SRCS ${CMAKE_CURRENT_LIST_DIR}/event_chunk_bench.cc
                 DEPS atr::event_chunk atr::synthetic_event_stream)

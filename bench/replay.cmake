# Replay benchmark (replayer/). Results and how to run: docs/benchmarks.md, "Replay".
atr_cc_benchmark(NAME replay_bench SRCS ${CMAKE_CURRENT_LIST_DIR}/replay_bench.cc
                 DEPS atr::replayer atr::db)
add_dependencies(replay_bench atr-replay-driver)

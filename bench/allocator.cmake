# Benchmarks of the built-in allocator model (allocator/), each next to glibc
# malloc doing the same operations for real. Results: docs/allocator.md.
atr_cc_benchmark(NAME allocator_benchmark SRCS ${CMAKE_CURRENT_SOURCE_DIR}/allocator_benchmark.cc
                 DEPS atr::allocator)

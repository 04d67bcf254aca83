# --stack-ops recording cost (issue 6): the same recursion-heavy program
# native and with -finstrument-functions; bench/stack_ops.sh runs them
# natively, under `atr record --stack-ops` and under uftrace.
foreach(v native instrumented)
  add_executable(stack_ops_fib_${v} ${CMAKE_CURRENT_LIST_DIR}/stack_ops_fib.c)
  # No tail-recursion rewriting: both variants make every call.
  target_compile_options(stack_ops_fib_${v} PRIVATE -O2 -g -fno-optimize-sibling-calls)
  set_target_properties(stack_ops_fib_${v} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endforeach()
target_compile_options(stack_ops_fib_instrumented PRIVATE -finstrument-functions)

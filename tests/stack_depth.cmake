# Stack operations (issue 6): atr record --stack-ops, atr stack, stack replay.
atr_test_program(NAME stack_ops SRCS ${CMAKE_CURRENT_SOURCE_DIR}/programs/stack_ops.c
  DEPS Threads::Threads OPTIONS -finstrument-functions)
# The same program without -finstrument-functions: only sampled depth.
atr_test_program(NAME stack_ops_plain SRCS ${CMAKE_CURRENT_SOURCE_DIR}/programs/stack_ops.c
  DEPS Threads::Threads)

# Frame sizes (recorder/collector/frame_sizes.h) against objdump's prologues.
atr_cc_test(NAME frame_sizes_test SRCS ${PROJECT_SOURCE_DIR}/recorder/collector/frame_sizes_test.cc
  DEPS atr::collector atr_e2e_support)
add_dependencies(frame_sizes_test stack_ops)

atr_cc_test(NAME stack_depth_test SRCS e2e/stack_depth_test.cc
  DEPS atr_e2e_support atr::stack_depth_report atr::db LABELS integration)
add_dependencies(stack_depth_test atr atr_preload stack_ops stack_ops_plain)

# The table unwinder cross-checked against libunwind on real programs
# (issue 2, recording overhead): tests/e2e/unwind_test.cc.
atr_test_program(NAME rec_exceptions
  SRCS ${PROJECT_SOURCE_DIR}/recorder/testdata/rec_exceptions.cc DEPS Threads::Threads
  OPTIONS -O2)
# The record benchmark's workload, built the same way (-O2, no frame pointers).
atr_test_program(NAME unwind_alloc_heavy
  SRCS ${PROJECT_SOURCE_DIR}/bench/record/alloc_heavy.cc DEPS Threads::Threads
  OPTIONS -O2 -fomit-frame-pointer)

atr_cc_test(NAME unwind_test SRCS e2e/unwind_test.cc
  DEPS atr_e2e_support absl::strings LABELS integration)
add_dependencies(unwind_test atr_preload rec_forms rec_threads rec_fork rec_dlopen rec_exec
  rec_spawn rec_signal rec_plugin rec_exceptions unwind_alloc_heavy)

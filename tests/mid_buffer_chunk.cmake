# A thread's spool chunk that starts in the middle of its buffer (a
# DeltaBaseRecord first), made by tests/programs/mid_buffer_chunk.c after a
# failed exec and during exit(); recorded with the preload library alone and
# with `atr record`.
atr_cc_test(NAME mid_buffer_chunk_test SRCS e2e/mid_buffer_chunk_test.cc
  DEPS atr_e2e_support atr::db LABELS integration)
add_dependencies(mid_buffer_chunk_test atr atr_preload mid_buffer_chunk)

# End-to-end tests of atr replay / compare / check (docs/replay.md).
atr_test_program(NAME replay_mismatch SRCS ${CMAKE_CURRENT_SOURCE_DIR}/programs/replay_mismatch.cc
  OPTIONS -fno-omit-frame-pointer -fsized-deallocation)
atr_cc_test(NAME replay_test SRCS e2e/replay_test.cc
  DEPS atr_e2e_support atr::db LABELS integration)
add_dependencies(replay_test atr atr_preload atr-replay-driver session_server double_free
  replay_mismatch)

# Golden tests: a hand-written trace in, the exact text/JSON/CSV of every
# report out, compared with the files in tests/golden/ (update mode:
# ATR_UPDATE_GOLDEN=1, see tests/e2e/golden_test.cc).
atr_cc_test(NAME golden_test SRCS e2e/golden_test.cc
  DEPS atr_e2e_support atr::db LABELS integration)
target_compile_definitions(golden_test PRIVATE
  ATR_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/golden")
add_dependencies(golden_test atr)

# End-to-end tests of atr whatif and atr frag --verify (docs/queries.md):
# the bundled example, whose culprit is known, and golden frag output on a
# hand-written trace (tests/golden/frag_*, whatif_*; ATR_UPDATE_GOLDEN=1
# rewrites them).
atr_cc_test(NAME whatif_test SRCS e2e/whatif_test.cc
  DEPS atr_e2e_support atr::db absl::strings LABELS integration)
target_compile_definitions(whatif_test PRIVATE
  ATR_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/golden")
add_dependencies(whatif_test atr atr_preload session_server)

# End-to-end tests of atr flamegraph / atr report: a recorded example, its
# flame graphs, and the HTML report opened in headless Chromium
# (scripts/setup.sh installs chromium; the test skips when it is missing),
# and the report of tests/programs/stack_ops recorded with --stack-ops.
atr_cc_test(NAME report_test SRCS e2e/report_test.cc
  DEPS atr_e2e_support atr::db LABELS integration)
add_dependencies(report_test atr atr_preload session_server stack_ops)

# End-to-end tests: `atr` on real programs. Labelled "integration" (CI runs
# them with everything else).
add_library(atr_e2e_support STATIC e2e/run_command.cc e2e/golden_file.cc e2e/trace_query.cc)
target_include_directories(atr_e2e_support PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(atr_e2e_support PUBLIC atr::db GTest::gtest)
# Long recordings in phases: spool reclaiming and collector-kill tests.
atr_test_program(NAME rec_phases SRCS ${PROJECT_SOURCE_DIR}/recorder/testdata/rec_phases.c)
# Known peak survivor and leak-in-a-loop culprits (explain_test).
atr_test_program(NAME peak_survivor SRCS ${CMAKE_CURRENT_SOURCE_DIR}/programs/peak_survivor.c)
atr_cc_test(NAME record_test SRCS e2e/record_test.cc
  DEPS atr_e2e_support atr::db LABELS integration)
atr_cc_test(NAME cli_test SRCS e2e/cli_test.cc DEPS atr_e2e_support LABELS integration)
atr_cc_test(NAME explain_test SRCS e2e/explain_test.cc
  DEPS atr_e2e_support atr::db LABELS integration)
foreach(t record_test cli_test explain_test)
  add_dependencies(${t} atr atr_preload session_server rec_crash rec_fork rec_threads rec_dlopen
    rec_plugin rec_phases peak_survivor)
endforeach()
# One test per claim of `atr record`: the options, mremap/brk/sbrk, the
# progress line on a terminal, real programs against independent counts.
atr_cc_test(NAME record_flags_test SRCS e2e/record_flags_test.cc
  DEPS atr_e2e_support LABELS integration)
atr_cc_test(NAME address_space_test SRCS e2e/address_space_test.cc
  DEPS atr_e2e_support absl::strings LABELS integration)
atr_cc_test(NAME progress_test SRCS e2e/progress_test.cc DEPS atr_e2e_support LABELS integration)
atr_cc_test(NAME real_programs_test SRCS e2e/real_programs_test.cc
  DEPS atr_e2e_support absl::strings LABELS integration)
foreach(t record_flags_test address_space_test progress_test real_programs_test)
  add_dependencies(${t} atr atr_preload session_server address_space_ops sqlite_status
    py_alloc_counter)
endforeach()

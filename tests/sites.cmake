# atr sites end to end. tests/sites_project, a small CMake project with a
# known allocation site of every kind, is configured and built into the
# build tree by a custom command (compile_commands.json exported, the same
# compilers as atr); sites_test records it, scans it with `atr sites` and
# checks the sites table, site_matches and `atr leaks --json`.
set(ATR_SITES_PROJECT_SRC ${CMAKE_CURRENT_SOURCE_DIR}/sites_project)
set(ATR_SITES_PROJECT_BIN ${CMAKE_BINARY_DIR}/sites_project)
file(GLOB ATR_SITES_PROJECT_FILES CONFIGURE_DEPENDS ${ATR_SITES_PROJECT_SRC}/*)
add_custom_command(
  OUTPUT ${ATR_SITES_PROJECT_BIN}/sites_demo
  COMMAND ${CMAKE_COMMAND} -S ${ATR_SITES_PROJECT_SRC} -B ${ATR_SITES_PROJECT_BIN}
          -G ${CMAKE_GENERATOR} -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}
          -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
  COMMAND ${CMAKE_COMMAND} --build ${ATR_SITES_PROJECT_BIN}
  DEPENDS ${ATR_SITES_PROJECT_FILES}
  COMMENT "Building tests/sites_project (scanned and recorded by sites_test)"
  VERBATIM)
add_custom_target(sites_project DEPENDS ${ATR_SITES_PROJECT_BIN}/sites_demo)

atr_cc_test(NAME sites_test SRCS e2e/sites_test.cc
  DEPS atr_e2e_support atr::db atr::site_store LABELS integration)
target_compile_definitions(sites_test PRIVATE
  ATR_SITES_PROJECT_SRC="${ATR_SITES_PROJECT_SRC}"
  ATR_SITES_PROJECT_BIN="${ATR_SITES_PROJECT_BIN}")
add_dependencies(sites_test atr atr_preload sites_project)

# One helper per target kind. Every atr target gets the same warnings and the
# repository root on its include path, so headers are included as
# "db/trace_writer.h", "allocator/page_heap.h", ...

set(ATR_WARNINGS -Wall -Wextra -Wno-unused-parameter)
if(ATR_WERROR)
  list(APPEND ATR_WARNINGS -Werror)
endif()

function(_atr_common target)
  target_compile_options(${target} PRIVATE ${ATR_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# atr_cc_library(NAME name SRCS ... [DEPS ...] [HDRS ...])
# Creates static library atr_<name> with alias atr::<name>.
function(atr_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  add_library(atr_${A_NAME} STATIC ${A_SRCS} ${A_HDRS})
  _atr_common(atr_${A_NAME})
  target_link_libraries(atr_${A_NAME} PUBLIC ${A_DEPS})
  add_library(atr::${A_NAME} ALIAS atr_${A_NAME})
endfunction()

# atr_cc_binary(NAME name SRCS ... [DEPS ...])
function(atr_cc_binary)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  _atr_common(${A_NAME})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
endfunction()

# atr_cc_test(NAME name SRCS ... [DEPS ...] [LABELS ...])
# A GoogleTest binary; each TEST becomes its own ctest entry.
function(atr_cc_test)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  _atr_common(${A_NAME})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  # <label>_tests builds every test binary of that ctest label, and only
  # those: scripts/sanitize.sh builds unit_tests alone.
  foreach(label ${A_LABELS})
    if(NOT TARGET ${label}_tests)
      add_custom_target(${label}_tests)
    endif()
    add_dependencies(${label}_tests ${A_NAME})
  endforeach()
  gtest_discover_tests(${A_NAME}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
    PROPERTIES LABELS "${A_LABELS}" ENVIRONMENT "ATR_BUILD_DIR=${CMAKE_BINARY_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# atr_cc_benchmark(NAME name SRCS ... [DEPS ...]) -- Google Benchmark binary.
function(atr_cc_benchmark)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  _atr_common(${A_NAME})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} benchmark::benchmark)
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endfunction()

# atr_test_program(NAME name SRCS ... [DEPS ...] [OPTIONS ...])
# A small C/C++ program that integration tests record; built without atr's
# include path so it stays an ordinary, unmodified program.
function(atr_test_program)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;OPTIONS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_compile_options(${A_NAME} PRIVATE -O1 -g ${A_OPTIONS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/programs)
endfunction()

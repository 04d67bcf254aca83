# atr::symbolizer: (module, return address) -> source locations, via LLVM.
# Included from recorder/CMakeLists.txt.
set(_sym_dir ${CMAKE_CURRENT_LIST_DIR})

atr_cc_library(NAME symbolizer
  SRCS ${_sym_dir}/symbolizer.cc
  HDRS ${_sym_dir}/symbolizer.h
  DEPS absl::status absl::statusor absl::strings absl::flat_hash_map absl::node_hash_map absl::function_ref)
# The header only forward-declares LLVM: keep its includes and definitions
# away from users of atr::symbolizer.
target_link_libraries(atr_symbolizer PRIVATE atr::llvm)

# Testdata: a PIE executable and a shared library, -O2 -g, with known call
# sites that print their own return addresses (symbolizer_testdata/probe.h).
# Two copies of the executable exercise degraded inputs:
#   .nodebug   objcopy --strip-debug: symbol table but no DWARF
#   .stripped  objcopy --strip-all: only the dynamic symbol table
add_library(symbolizer_testdata_lib SHARED ${_sym_dir}/symbolizer_testdata/lib.cc)
target_compile_options(symbolizer_testdata_lib PRIVATE -O2 -g)
set_target_properties(symbolizer_testdata_lib PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/programs)
atr_test_program(NAME symbolizer_testdata
  SRCS ${_sym_dir}/symbolizer_testdata/main.cc
  DEPS symbolizer_testdata_lib
  OPTIONS -O2)
target_link_options(symbolizer_testdata PRIVATE -pie)
add_custom_command(TARGET symbolizer_testdata POST_BUILD
  COMMAND ${CMAKE_OBJCOPY} --strip-debug $<TARGET_FILE:symbolizer_testdata>
          $<TARGET_FILE:symbolizer_testdata>.nodebug
  COMMAND ${CMAKE_OBJCOPY} --strip-all $<TARGET_FILE:symbolizer_testdata>
          $<TARGET_FILE:symbolizer_testdata>.stripped
  VERBATIM)

atr_cc_test(NAME symbolizer_test
  SRCS ${_sym_dir}/symbolizer_test.cc
  DEPS atr::symbolizer absl::strings)
add_dependencies(symbolizer_test symbolizer_testdata)

if(ATR_BUILD_BENCH)
  atr_cc_benchmark(NAME symbolizer_benchmark
    SRCS ${_sym_dir}/symbolizer_benchmark.cc
    DEPS atr::symbolizer atr::llvm absl::strings)
  add_dependencies(symbolizer_benchmark symbolizer_testdata)
endif()

# The table unwinder of libatr_preload.so (recorder/preload/unwind/): its
# sources are compiled into the preload library directly (see
# recorder/CMakeLists.txt, which lists the first ones; the rule cache and the
# walk memo are added here); this library serves its tests and benchmark.
target_sources(atr_preload PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/rule_cache.cc
  ${CMAKE_CURRENT_LIST_DIR}/walk_memo.cc)
add_library(atr_table_unwinder STATIC
  ${CMAKE_CURRENT_LIST_DIR}/cfi.cc
  ${CMAKE_CURRENT_LIST_DIR}/module_registry.cc
  ${CMAKE_CURRENT_LIST_DIR}/rule_cache.cc
  ${CMAKE_CURRENT_LIST_DIR}/table_unwinder.cc
  ${CMAKE_CURRENT_LIST_DIR}/walk_memo.cc
  ${CMAKE_CURRENT_LIST_DIR}/loaded_modules.cc)
target_compile_options(atr_table_unwinder PRIVATE ${ATR_WARNINGS})
target_include_directories(atr_table_unwinder PUBLIC ${PROJECT_SOURCE_DIR})

atr_cc_test(NAME cfi_test SRCS ${CMAKE_CURRENT_LIST_DIR}/cfi_test.cc DEPS atr_table_unwinder)
# Built like the programs atr records: -O2, no frame pointers.
atr_cc_test(NAME table_unwinder_test SRCS ${CMAKE_CURRENT_LIST_DIR}/table_unwinder_test.cc
  DEPS atr_table_unwinder PkgConfig::UNWIND Threads::Threads)
atr_cc_test(NAME walk_memo_test SRCS ${CMAKE_CURRENT_LIST_DIR}/walk_memo_test.cc
  DEPS atr_table_unwinder Threads::Threads)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/table_unwinder_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/walk_memo_test.cc PROPERTIES
  COMPILE_OPTIONS "-O2;-fomit-frame-pointer")

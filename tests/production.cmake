# Recording programs as they run in production (issue 14): the program's own
# allocator (jemalloc, tcmalloc, mimalloc; linked, or preloaded after atr),
# Debian's redis-server under redis-benchmark, and bash scripts whose failing
# dlopens once lost a release. tests/e2e/production_test.cc.
#
# A program whose allocator's -dev package is missing is not built; its test
# then fails under CI=true and is skipped locally.
foreach(alloc jemalloc tcmalloc mimalloc)
  find_library(ATR_${alloc}_LIBRARY NAMES ${alloc})
endforeach()
if(ATR_jemalloc_LIBRARY)
  atr_test_program(NAME alloc_jemalloc SRCS ${CMAKE_CURRENT_SOURCE_DIR}/programs/alloc_jemalloc.c
    DEPS ${ATR_jemalloc_LIBRARY})
endif()
if(ATR_tcmalloc_LIBRARY)
  atr_test_program(NAME alloc_tcmalloc SRCS ${CMAKE_CURRENT_SOURCE_DIR}/programs/alloc_tcmalloc.cc
    DEPS ${ATR_tcmalloc_LIBRARY})
endif()
if(ATR_mimalloc_LIBRARY)
  atr_test_program(NAME alloc_mimalloc SRCS ${CMAKE_CURRENT_SOURCE_DIR}/programs/alloc_mimalloc.cc
    DEPS ${ATR_mimalloc_LIBRARY})
endif()

atr_cc_test(NAME production_test SRCS e2e/production_test.cc
  DEPS atr_e2e_support atr::db absl::strings LABELS integration)
add_dependencies(production_test atr atr_preload rec_forms)
foreach(program alloc_jemalloc alloc_tcmalloc alloc_mimalloc)
  if(TARGET ${program})
    add_dependencies(production_test ${program})
  endif()
endforeach()

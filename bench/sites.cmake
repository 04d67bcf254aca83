# `atr sites` scan time against clang++-14 -fsyntax-only over the same files
# (bench/sites_bench.sh; docs/benchmarks.md, "Source sites"). Not a test:
#   cmake --build build --target sites_bench
add_custom_target(sites_bench
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/sites_bench.sh $<TARGET_FILE:atr> ${CMAKE_BINARY_DIR}
          /db/ /analysis/
  DEPENDS atr
  USES_TERMINAL
  COMMENT "atr sites vs clang -fsyntax-only (-j2)")

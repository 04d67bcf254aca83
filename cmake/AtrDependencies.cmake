# Every third-party dependency is found here, once, from Debian's packages
# (scripts/setup.sh installs them). docs/dependencies.md says why each one is
# needed and why each recipe looks the way it does.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(absl REQUIRED CONFIG)
find_package(GTest REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CLI11 REQUIRED CONFIG)
pkg_check_modules(CAPSTONE REQUIRED IMPORTED_TARGET capstone)
pkg_check_modules(UNWIND REQUIRED IMPORTED_TARGET libunwind)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)

find_package(LLVM 14 REQUIRED CONFIG)
find_package(Clang REQUIRED CONFIG HINTS "${LLVM_DIR}/../clang")
separate_arguments(ATR_LLVM_DEFINITIONS NATIVE_COMMAND "${LLVM_DEFINITIONS}")
# LLVM is linked shared (target LLVM, libLLVM-14.so): clean builds stay fast.
add_library(atr_llvm INTERFACE)
target_include_directories(atr_llvm SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS} ${CLANG_INCLUDE_DIRS})
target_compile_definitions(atr_llvm INTERFACE ${ATR_LLVM_DEFINITIONS})
target_link_libraries(atr_llvm INTERFACE LLVM)
add_library(atr::llvm ALIAS atr_llvm)

if(ATR_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# atr stack (issue 6): depth per thread, paths, frame sizes, overflow check.
atr_cc_library(NAME stack_report SRCS stack_report.cc HDRS stack_report.h
  DEPS atr::stack_model atr::stack_store atr::format atr::db absl::flat_hash_map absl::status absl::statusor
       absl::strings)

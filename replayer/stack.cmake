# The stack model (issue 6): push/pop of frames per thread, driven by the
# --stack-ops enter/exit stream; atr stack and the stack replay use it.
atr_cc_library(NAME stack_model SRCS stack_model.cc HDRS stack_model.h
  DEPS atr::db absl::flat_hash_map)
atr_cc_test(NAME stack_model_test SRCS stack_model_test.cc DEPS atr::stack_model)
# `atr replay --stack-size`: the model's per-thread results in the trace.
atr_cc_library(NAME stack_store SRCS stack_store.cc HDRS stack_store.h
  DEPS atr::stack_model atr::db SQLite::SQLite3 absl::status absl::strings)

# atr_embed_text(TARGET target HEADER rel/path.h FILES a.css b.js ...)
#
# Compiles text files into `target` as string constants, so assets such as
# a stylesheet stay real files (an editor and a linter see them) while the
# program needs nothing beside itself at run time. Generates
# ${PROJECT_BINARY_DIR}/<HEADER> at build time (again whenever a file
# changes), with one constant per file, named after it:
#
#   report.css        -> inline constexpr std::string_view kReportCss
#   report_errors.js  -> kReportErrorsJs
#
# in namespace atr::assets, holding the file's bytes exactly. The target
# includes it as "<HEADER>".
set(ATR_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_text.cmake)

function(atr_embed_text)
  cmake_parse_arguments(A "" "TARGET;HEADER" "FILES" ${ARGN})
  set(out ${PROJECT_BINARY_DIR}/${A_HEADER})
  set(inputs "")
  foreach(f IN LISTS A_FILES)
    list(APPEND inputs ${CMAKE_CURRENT_SOURCE_DIR}/${f})
  endforeach()
  # "|"-separated: a ";" list would be split into several arguments.
  string(REPLACE ";" "|" joined "${inputs}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${out} -DINPUTS=${joined} -P ${ATR_EMBED_SCRIPT}
    DEPENDS ${inputs} ${ATR_EMBED_SCRIPT}
    COMMENT "Embedding ${A_FILES} in ${A_HEADER}"
    VERBATIM)
  target_sources(${A_TARGET} PRIVATE ${out})
  target_include_directories(${A_TARGET} PRIVATE ${PROJECT_BINARY_DIR})
endfunction()

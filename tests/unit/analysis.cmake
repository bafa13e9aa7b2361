# Unit tests of the text analysis modules (lib/analysis/fold.c,
# langid_cld2.cc, analyze.c), of the language code tables (lib/wire/lang.c)
# and of lib/wire/results.c and lib/wire/util.c.
#
# The analysis tests link a small library of their own built from the same
# sources as ps_core, so that they do not need Xapian (lib/core/*.cc).
# Like ps_core it links ps_wire (lib/wire/utf8.c: UTF-8 checks and repair).
add_library(ps_analysis_test STATIC
  ${PROJECT_SOURCE_DIR}/lib/analysis/fold.c
  ${PROJECT_SOURCE_DIR}/lib/analysis/langid_cld2.cc ${PROJECT_SOURCE_DIR}/lib/analysis/analyze.c)
target_include_directories(ps_analysis_test PUBLIC ${PROJECT_SOURCE_DIR}/lib/analysis
  ${PROJECT_SOURCE_DIR}/lib/core ${PROJECT_SOURCE_DIR}/lib/wire)
target_include_directories(ps_analysis_test PRIVATE ${CLD2_INCLUDE_DIR})
# Same CLD2 link rule as lib/CMakeLists.txt: full tables first, then code.
find_library(PS_TEST_CLD2_CODE NAMES cld2)
if(PS_TEST_CLD2_CODE AND NOT PS_TEST_CLD2_CODE STREQUAL CLD2_LIBRARY)
  set(_ps_test_cld2 "-Wl,--push-state,--no-as-needed" ${CLD2_LIBRARY}
      "-Wl,--pop-state" ${PS_TEST_CLD2_CODE})
else()
  set(_ps_test_cld2 ${CLD2_LIBRARY})
endif()
target_link_libraries(ps_analysis_test PUBLIC ps_wire PkgConfig::UTF8PROC
                      ${_ps_test_cld2} Threads::Threads)

ps_unit_test(test_fold SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_fold.c LIBS ps_analysis_test)
ps_unit_test(test_lang SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lang.c LIBS ps_analysis_test)
ps_unit_test(test_langid SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_langid.c
             LIBS ps_analysis_test Threads::Threads)
ps_unit_test(test_analyze SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_analyze.c LIBS ps_analysis_test)
ps_unit_test(test_results SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_results.c LIBS ps_wire)
ps_unit_test(test_util SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_util.c LIBS ps_wire)

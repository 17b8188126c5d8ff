# perfbpf_library(NAME [SOURCES extra...]): the static library of one folder of userspace/,
# built from that folder's *.cpp (and any extra sources: a subfolder it owns, generated
# files), with our warnings. Each folder's CMakeLists.txt then declares the folders it may
# use with target_link_libraries(NAME PUBLIC perfbpf_...); scripts/check_layering.sh fails
# on an #include that those declarations do not allow.
#
# Every such library is listed in the global property PERFBPF_CXX_LIBRARIES, which the
# top-level CMakeLists.txt reads into the variable of the same name for the sanitizer and
# fuzzer builds, so a new folder is instrumented without touching them.
function(perfbpf_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES")
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_library(${name} STATIC ${sources} ${arg_SOURCES})
  target_compile_options(${name} PRIVATE ${PERFBPF_WARNINGS})
  set_property(GLOBAL APPEND PROPERTY PERFBPF_CXX_LIBRARIES ${name})
endfunction()

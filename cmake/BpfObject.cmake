# perfbpf_bpf_object(NAME [SOURCE file.bpf.c])
# Compiles bpf/NAME.bpf.c (or SOURCE) with clang into NAME.bpf.o and generates NAME.skel.h
# with `bpftool gen skeleton`. Rebuilt when the .bpf.c, any bpf/*.bpf.h, any shared header in
# include/perfbpf or vmlinux.h changes. The probe families (bpf/NAME.bpf.c) are added to the
# global list PERFBPF_BPF_SKELETONS; an object with its own SOURCE (bench/'s floor) is not a
# family and is not listed: its target bpf_NAME is for the binary that uses it.
find_program(CLANG_BPF NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(PERFBPF_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(PERFBPF_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "perfbpf: no vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}")
endif()
set(PERFBPF_VMLINUX_DIR ${CMAKE_SOURCE_DIR}/vmlinux/${PERFBPF_BPF_ARCH})
set(PERFBPF_SKEL_DIR ${CMAKE_BINARY_DIR}/skel)
file(MAKE_DIRECTORY ${PERFBPF_SKEL_DIR})

function(perfbpf_bpf_object name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SOURCE" "")
  if(arg_SOURCE)
    set(src ${arg_SOURCE})
  else()
    set(src ${CMAKE_SOURCE_DIR}/bpf/${name}.bpf.c)
  endif()
  set(obj ${PERFBPF_SKEL_DIR}/${name}.bpf.o)
  set(skel ${PERFBPF_SKEL_DIR}/${name}.skel.h)
  file(GLOB bpf_headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bpf/*.bpf.h
       ${CMAKE_SOURCE_DIR}/include/perfbpf/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG_BPF} -g -O2 -target bpf -D__TARGET_ARCH_${PERFBPF_BPF_ARCH}
            -Wall -Werror -Wno-unused-function
            -I${PERFBPF_VMLINUX_DIR} -I${CMAKE_SOURCE_DIR}/include -I${CMAKE_SOURCE_DIR}/bpf
            -c ${src} -o ${obj}
    DEPENDS ${src} ${bpf_headers} ${PERFBPF_VMLINUX_DIR}/vmlinux.h
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(bpf_${name} DEPENDS ${skel})
  if(NOT arg_SOURCE)
    set_property(GLOBAL APPEND PROPERTY PERFBPF_BPF_SKELETONS bpf_${name})
  endif()
endfunction()

# perfbpf.8 and perfbpf-SUB.8 for each subcommand, from the built binary's --help
# (help2man), gzipped into build/man/ and installed to share/man/man8.
include(GNUInstallDirs)
option(PERFBPF_BUILD_MAN "Generate man pages with help2man" ON)
if(NOT PERFBPF_BUILD_MAN)
  return()
endif()
find_program(HELP2MAN help2man)
find_program(GZIP gzip)
if(NOT HELP2MAN OR NOT GZIP)
  message(FATAL_ERROR "help2man and gzip are needed for the man pages "
                      "(scripts/install-deps.sh installs them; -DPERFBPF_BUILD_MAN=OFF skips them)")
endif()

set(PERFBPF_MAN_DIR ${CMAKE_BINARY_DIR}/man)
# The subcommands that get a page; one the binary lacks is skipped when generating.
set(PERFBPF_MAN_SUBCOMMANDS top trace tune doctor selftest daemon query alerts report)
add_custom_command(
  OUTPUT ${PERFBPF_MAN_DIR}/man.stamp
  COMMAND ${CMAKE_COMMAND} -DPERFBPF=$<TARGET_FILE:perfbpf> -DHELP2MAN=${HELP2MAN}
          -DGZIP=${GZIP} -DOUT_DIR=${PERFBPF_MAN_DIR}
          "-DSUBCOMMANDS=${PERFBPF_MAN_SUBCOMMANDS}" -P
          ${CMAKE_SOURCE_DIR}/cmake/GenerateManPages.cmake
  DEPENDS perfbpf ${CMAKE_SOURCE_DIR}/cmake/GenerateManPages.cmake
  COMMENT "Generating man pages with help2man"
  VERBATIM)
add_custom_target(perfbpf_man ALL DEPENDS ${PERFBPF_MAN_DIR}/man.stamp)

install(DIRECTORY ${PERFBPF_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man8
        FILES_MATCHING PATTERN "*.8.gz")

# cmake --install and the .deb (cpack -G DEB in the build directory).
# With the prefix /usr (the default here, and the .deb's), GNUInstallDirs puts the sysconf
# dir at /etc.
include(GNUInstallDirs)
# Installing (and cpack) builds nothing: the package holds perfbpf, its shim and man pages
# only, so `cmake --build build --target perfbpf perfbpf_man` is enough before it,
# not the tests and benchmarks "all" would build.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS perfbpf RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Not the multiarch libdir: the binary finds it at <exe dir>/../lib/perfbpf
# (userspace/util/install_paths.h).
install(TARGETS perfbpf_shim LIBRARY DESTINATION lib/perfbpf)
# The daemon, and the scheduled reports (a template instanced daily and weekly by its timers).
install(FILES ${CMAKE_SOURCE_DIR}/deploy/perfbpf.service ${CMAKE_SOURCE_DIR}/deploy/perfbpf-report@.service
              ${CMAKE_SOURCE_DIR}/deploy/perfbpf-report-daily.timer
              ${CMAKE_SOURCE_DIR}/deploy/perfbpf-report-weekly.timer
        DESTINATION lib/systemd/system)
# For the central side (README "For the central side"): the Prometheus rules with their
# promtool tests, and the Grafana board, as /usr/share/perfbpf/{prometheus,grafana}.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/prometheus ${CMAKE_SOURCE_DIR}/deploy/grafana
        DESTINATION ${CMAKE_INSTALL_DATADIR}/perfbpf)
# The sysconf dir is chosen when installing, from the prefix of that install (cpack's is
# /usr whatever this build was configured with), as GNUInstallDirs does: /etc for /usr.
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\" OR CMAKE_INSTALL_PREFIX STREQUAL \"/\")
    set(perfbpf_etc /etc)
  else()
    set(perfbpf_etc \"\${CMAKE_INSTALL_PREFIX}/etc\")
  endif()
  file(INSTALL \"${CMAKE_SOURCE_DIR}/deploy/perfbpf.toml\"
       DESTINATION \"\${perfbpf_etc}/perfbpf\")
")

set(PERFBPF_MAINTAINER "perfbpf developers <perfbpf@lists.debian.invalid>"
    CACHE STRING "Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME perfbpf)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# The package installs under /usr (the unit runs /usr/bin/perfbpf); DESTDIR staging, so
# the install prefix the code above sees is /usr, not the staging directory.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGE_CONTACT "${PERFBPF_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PERFBPF_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "kernel-level observability and tuning with eBPF")
# CPack puts the summary first and indents this body below it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "perfbpf finds what limits a machine (CPU run-queue contention, disk saturation,
memory pressure, network retransmits) per process, cgroup and device, using
tracepoints only (CO-RE, no kprobes). It has a live view (perfbpf top), allocation
tracing (perfbpf trace --leaks), evidence-driven tuning (perfbpf tune), and a daemon
with a systemd unit that is installed but not enabled.")
# Debug info stays in the build tree (85 MiB installed with it, 30 MiB .deb).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Dependencies from the libraries the binary and the shim link (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# procps: /bin/kill, the unit's ExecReload (minimal roots lack it).
set(CPACK_DEBIAN_PACKAGE_DEPENDS procps)
# /etc/perfbpf/perfbpf.toml is a conffile: an upgrade keeps the admin's edits.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

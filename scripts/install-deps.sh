#!/usr/bin/env bash
# Installs everything perfbpf needs to build, test and benchmark on Debian 12 (bookworm).
# Idempotent; run as root (or through sudo). Only Debian's own archive is used.
# sudo is installed too: the README's test command runs ctest through it, and a minimal
# Debian root (CI's, a container's) has none.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps.sh: run it as root (sudo is not installed)" >&2; exit 1; }
    exec sudo "$0" "$@"
fi

build=(
    build-essential cmake pkg-config git sudo
    clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
    # scripts/fuzz.sh (ctest's fuzz test): libFuzzer needs a clang with std::expected
    clang-16 libclang-rt-16-dev
    libspdlog-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
    libncurses-dev libdw-dev libunwind-dev libzstd-dev libsqlite3-dev libcpp-httplib-dev libsystemd-dev
    # Prometheus remote write: the protobuf messages (protoc, lite runtime) and snappy
    libprotobuf-dev protobuf-compiler libsnappy-dev
    help2man
    # cpack -G DEB: dpkg-shlibdeps (dpkg-dev) and file find the package's library dependencies
    file dpkg-dev
)
# chromium: the dashboard's browser test drives it headless (tests/browser/); the report
# kernel test renders the HTML report headless and checks its charts.
# prometheus: its promtool checks deploy/prometheus (ctest prometheus.rules); kernel tests
# scrape a daemon with it. prometheus-alertmanager: the alerts kernel test starts its own on
# a loopback port. Note that Debian's package also enables its own service (:9093, cluster
# :9094) when installed.
test=(
    libgtest-dev libgmock-dev libbenchmark-dev
    util-linux iproute2 kmod procps e2fsprogs python3 tmux
    debootstrap systemd prometheus prometheus-alertmanager chromium
)
# The qemu guest (scripts/vmtest.sh) and the overhead benchmarks (bench/).
vm_and_bench=(
    qemu-system-x86 busybox-static cpio xz-utils zstd
    heaptrack valgrind libc6-dbg
    fio iperf3 linux-perf bpftrace
)

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${build[@]}" "${test[@]}" "${vm_and_bench[@]}" >/dev/null
# The build runs `npm ci` for the dashboard's uPlot (web/package-lock.json). Debian's npm
# conflicts with a node from elsewhere (nodesource's bundles its own npm): install Debian's
# only where there is no npm at all.
if ! command -v npm >/dev/null; then
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
echo "perfbpf dependencies installed"

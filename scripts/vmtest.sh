#!/usr/bin/env bash
# shellcheck disable=SC2012 # ls only on names this script creates, or for a fingerprint
# Runs a command inside a throw-away qemu guest booted with one of Debian 12's cloud kernels
# (6.1, or the 6.12 of bookworm-security),
# pure cgroup v2 and bpffs, so tests can change host-wide knobs and see a server-like setup.
# Run scripts/vmtest.sh --help for the options. Touches nothing outside its cache and a
# temporary directory.
set -euo pipefail
shopt -s inherit_errexit

readonly ME=vmtest
# Debian 12's cloud kernels by series: the meta-package that depends on the current one.
declare -A META_PKGS=([6.1]=linux-image-cloud-amd64 [6.12]=linux-image-6.12-cloud-amd64)
readonly META_PKGS
readonly EXIT_SETUP=125 # vmtest itself failed (bad option, missing tool, boot failure)
readonly EXIT_TIMEOUT=124
# Modules loaded at boot, and modules only made available to `modprobe` in the guest
# (loading these creates devices: nullb0, ram0-15, dummy0 ...). --help lists them too.
readonly BOOT_MODULES="loop veth ifb sch_netem sch_tbf sch_htb sch_prio sch_sfq sch_fq sch_codel sch_fq_pie sch_ingress cls_bpf act_bpf tcp_bbr inet_diag tcp_diag"
readonly EXTRA_MODULES="null_blk brd zram dummy tun bridge bfq kyber-iosched"
# Host tools copied into the guest when present (with their shared libraries); in --help.
readonly HOST_TOOLS="bash ip tc ss nsenter iperf3 losetup mkfs.ext4 bpftool"
readonly HOST_DATA="/etc/iproute2 /usr/lib/x86_64-linux-gnu/tc /etc/mke2fs.conf"
# A KVM guest reaches init in about a second; if it has not after this, KVM is broken here.
readonly KVM_START_TIMEOUT=30
# A TCG guest reaches init in 7-10 s here. Once in a fresh root (CI, 2026-12-07) the 6.1
# kernel stopped for good 1.3 s into its boot, long before anything of ours ran, and the
# test waited out its whole timeout; a boot that has not reached init after this is tried
# once more. (VMTEST_TCG_START_TIMEOUT overrides it, for testing that path.)
readonly TCG_START_TIMEOUT=${VMTEST_TCG_START_TIMEOUT:-90}

export PATH="$PATH:/usr/sbin:/sbin"
export LC_ALL=C

usage() {
    cat <<EOF
Usage: scripts/vmtest.sh [--debian 6.1|6.12 | --kernel PATH_TO_BZIMAGE] [--build DIR] [--add PATH]...
                         [--timeout S] [--keep-log FILE] [-- COMMAND ARGS...]

Boots a qemu guest and runs COMMAND in it (default: perfbpf selftest --json).

The guest:
  kernel      Debian 12's cloud kernel of the series --debian names (default 6.1): the
              dependency of ${META_PKGS[6.1]} (6.1) or ${META_PKGS[6.12]}
              (6.12, from bookworm-security), resolved with apt-cache, fetched with
              apt-get download, and cached with its modules (the current one of each
              series) under
              \${PERFBPF_VMTEST_CACHE:-\${XDG_CACHE_HOME:-\$HOME/.cache}/perfbpf/vmtest}
              (here: $CACHE_DIR).
  init        busybox sh: proc, sysfs, devtmpfs, devpts, tmpfs on /tmp /run /dev/shm,
              cgroup v2 alone at /sys/fs/cgroup (cgroup_no_v1=all, every controller
              enabled in the root's subtree_control), bpffs at /sys/fs/bpf, debugfs,
              tracefs at /sys/kernel/tracing; lo up; hostname vmtest.
  modules     loaded at boot: loop veth ifb sch_netem sch_tbf sch_htb sch_prio sch_sfq
              sch_fq sch_codel sch_fq_pie sch_ingress cls_bpf act_bpf tcp_bbr inet_diag
              tcp_diag (and deps; sock_diag's own module autoload finds no modprobe here);
              for modprobe: null_blk brd zram dummy tun bridge bfq kyber-iosched.
  tools       from the host when present, with their shared libraries: bash ip tc ss
              nsenter iperf3 losetup mkfs.ext4 bpftool, and the host's /bin/sh (dash) as /bin/sh,
              as busybox's sh would run its own applets in place of ip, tc, losetup ...;
              busybox applets for everything else.
  build dir   DIR/perfbpf (required) and every other ELF executable under DIR (not in
              CMakeFiles/ or _deps/), at their host paths; DIR is first on PATH.
  environment CI and PERFBPF_* variables are passed through; cwd is the host's cwd.

Options:
  --debian SERIES boot Debian's cloud kernel of this series: 6.1 (default) or 6.12.
  --kernel PATH   boot this bzImage instead. Modules come from the vmtest cache or the
                  host's /lib/modules when one matches its version; else the guest runs
                  without loadable modules (a warning says so).
  --build DIR     perfbpf build directory (default: build/ under the repository).
  --add PATH      copy PATH (file or directory) into the guest at the same absolute
                  path, with the shared libraries of the ELF files in it. Repeatable.
  --module NAME   also load kernel module NAME (and its dependencies) at boot. Repeatable.
  --timeout S     kill the guest after S seconds in all (default 600).
  --keep-log FILE write the guest console (kernel messages, init, markers) to FILE.
  --accel MODE    auto (default), kvm or tcg; --kvm and --tcg are short for the last two.
                  auto uses KVM only when /dev/kvm is usable and the CPU advertises
                  vmx/svm, and falls back to TCG (remembered until the host reboots) if
                  the KVM guest has not started within ${KVM_START_TIMEOUT} s. Forced KVM fails
                  after that time instead of hanging. A TCG guest that has not reached
                  init within ${TCG_START_TIMEOUT} s is booted once more (within --timeout).
  --cpus N        guest CPUs (default 2).       --memory SIZE  guest RAM (default 2G).
  -v, --verbose   progress messages, and the guest console on stderr as it runs.
  -q, --quiet     no summary line on stderr.
  -h, --help      this text.

Output and exit status:
  The command's stdout and stderr arrive on the script's stdout and stderr as they are
  produced (through two dedicated serial ports, so kernel messages never mix in):
  scripts/vmtest.sh -- perfbpf selftest --json > out.json works. The ports carry about
  150-250 KB/s under TCG: plenty for results and logs, slow for bulk data.
  Under TCG the command starts about 2.5 s after boot; a run takes 3-4 s in all once the
  kernel and the initramfs base are cached (the first run downloads 27 MB).
  The script exits with the command's exit code, read from a per-run marker the guest
  prints on its console. It exits $EXIT_TIMEOUT on timeout and $EXIT_SETUP when vmtest itself fails
  (the last console lines are then shown on stderr).

Needs: qemu-system-x86_64, busybox (static), cpio, apt-get/apt-cache/dpkg-deb, kmod
(depmod, modprobe), ldd, flock. See scripts/install-deps.sh.
EOF
}

die() {
    echo "$ME: error: $*" >&2
    exit "$EXIT_SETUP"
}
warn() { echo "$ME: warning: $*" >&2; }
say() { if ((verbose)); then echo "$ME: $*" >&2; fi; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found ($2; scripts/install-deps.sh installs it)"; }
# Quotes a string for sh, whatever it contains.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
is_elf() { [[ -f $1 && $(head -c 4 "$1" 2>/dev/null | tr -d '\0') == $'\x7fELF' ]]; }
now_ms() { date +%s%3N; }
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

CACHE_DIR=${PERFBPF_VMTEST_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/perfbpf/vmtest}
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)

kernel_path=""
series=6.1
build_dir=""
adds=()
extra_boot_modules=()
timeout_s=600
keep_log=""
accel=auto
cpus=2
memory=2G
verbose=0
quiet=0
while (($#)); do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --kernel) (($# >= 2)) || die "--kernel needs a path"; kernel_path=$2; shift 2 ;;
    --kernel=*) kernel_path=${1#*=}; shift ;;
    --debian) (($# >= 2)) || die "--debian needs 6.1 or 6.12"; series=$2; shift 2 ;;
    --debian=*) series=${1#*=}; shift ;;
    --build) (($# >= 2)) || die "--build needs a directory"; build_dir=$2; shift 2 ;;
    --build=*) build_dir=${1#*=}; shift ;;
    --add) (($# >= 2)) || die "--add needs a path"; adds+=("$2"); shift 2 ;;
    --add=*) adds+=("${1#*=}"); shift ;;
    --module) (($# >= 2)) || die "--module needs a name"; extra_boot_modules+=("$2"); shift 2 ;;
    --module=*) extra_boot_modules+=("${1#*=}"); shift ;;
    --timeout) (($# >= 2)) || die "--timeout needs seconds"; timeout_s=$2; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --keep-log) (($# >= 2)) || die "--keep-log needs a file"; keep_log=$2; shift 2 ;;
    --keep-log=*) keep_log=${1#*=}; shift ;;
    --accel) (($# >= 2)) || die "--accel needs auto, kvm or tcg"; accel=$2; shift 2 ;;
    --accel=*) accel=${1#*=}; shift ;;
    --kvm) accel=kvm; shift ;;
    --tcg) accel=tcg; shift ;;
    --cpus) (($# >= 2)) || die "--cpus needs a number"; cpus=$2; shift 2 ;;
    --cpus=*) cpus=${1#*=}; shift ;;
    --memory) (($# >= 2)) || die "--memory needs a size"; memory=$2; shift 2 ;;
    --memory=*) memory=${1#*=}; shift ;;
    -v | --verbose) verbose=1; shift ;;
    -q | --quiet) quiet=1; shift ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
    esac
done
cmd=("$@")
((${#cmd[@]})) || cmd=(perfbpf selftest --json)

[[ $timeout_s =~ ^[0-9]+$ && $timeout_s -gt 0 ]] || die "--timeout wants a positive number of seconds, not '$timeout_s'"
[[ $cpus =~ ^[0-9]+$ && $cpus -gt 0 ]] || die "--cpus wants a positive number, not '$cpus'"
[[ $memory =~ ^[0-9]+[MG]?$ ]] || die "--memory wants a size like 2G or 1536M, not '$memory'"
case $accel in auto | kvm | tcg) ;; *) die "--accel wants auto, kvm or tcg, not '$accel'" ;; esac
[[ -n ${META_PKGS[$series]:-} ]] || die "--debian wants 6.1 or 6.12, not '$series'"
readonly META_PKG=${META_PKGS[$series]}
for m in "${extra_boot_modules[@]}"; do
    [[ $m =~ ^[A-Za-z0-9_-]+$ ]] || die "--module wants a module name, not '$m'"
done

need qemu-system-x86_64 "package qemu-system-x86"
need cpio "package cpio"
need ldd "package libc-bin"
need flock "package util-linux"

# --- build directory -------------------------------------------------------------------
build_dir=${build_dir:-$repo_dir/build}
[[ -d $build_dir ]] || die "build directory $build_dir does not exist (build perfbpf first, or pass --build DIR)"
build_dir=$(cd "$build_dir" && pwd)
[[ -f $build_dir/perfbpf && -x $build_dir/perfbpf ]] ||
    die "$build_dir/perfbpf not found or not executable (build perfbpf first, or pass --build DIR)"
for a in "${adds[@]}"; do
    [[ -e $a ]] || die "--add $a: no such file or directory"
done

mkdir -p "$CACHE_DIR" || die "cannot create cache directory $CACHE_DIR"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/perfbpf-vmtest.XXXXXX")
qemu_pid=""
tail_pids=()
stop_children() {
    if [[ -n $qemu_pid ]]; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    qemu_pid=""
    for p in "${tail_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${tail_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    tail_pids=()
}
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    stop_children
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$ME: interrupted" >&2; exit 130' INT TERM HUP
trap 'exit 141' PIPE # stdout closed early (| head): still stop qemu and clean up

# Everything in the shared cache happens under one lock, so parallel runs do not race.
exec {lock_fd}>"$CACHE_DIR/.lock"
flock -w 900 "$lock_fd" || die "timed out waiting for the cache lock $CACHE_DIR/.lock"

# --- the Debian kernel -------------------------------------------------------------------
# Prints the directory holding boot/ and lib/modules/ of Debian's cloud kernel of $series,
# fetching it when the cache does not have the current one. Its packages are named
# linux-image-$series.*: linux-image-6.1.0-NN-cloud-amd64, linux-image-6.12.NN+deb12-...
debian_kernel() {
    local resolved=$CACHE_DIR/resolved-$series
    local pkg="" ver="" dir lists_key key=""
    if command -v apt-cache >/dev/null 2>&1; then
        # apt-cache takes ~0.7 s a call: remember its answer until the package lists change.
        lists_key=$(ls -l --time-style=+%s /var/lib/apt/lists/ /etc/apt/preferences* 2>/dev/null | sha256sum | cut -c1-16)
        if [[ -f $resolved ]]; then
            read -r key pkg ver <"$resolved" || true
            [[ ${key:-} == "$lists_key" ]] || { pkg=""; ver=""; }
        fi
        if [[ -z $pkg || -z $ver ]]; then
            pkg=$(apt-cache depends "$META_PKG" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || true
            if [[ -n $pkg ]]; then
                ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }') || true
            fi
            [[ $pkg == linux-image-"$series".* ]] || pkg=""
            if [[ -n $pkg && -n $ver ]]; then echo "$lists_key $pkg $ver" >"$resolved"; fi
        fi
    fi
    if [[ -z $pkg || -z $ver ]]; then
        # Offline or no package lists: use what the cache has.
        dir=$(ls -1d "$CACHE_DIR"/kernel/linux-image-"$series".*/.complete 2>/dev/null | sort -V | tail -n 1) || true
        [[ -n $dir ]] || die "cannot resolve the kernel package behind $META_PKG with apt-cache (run apt-get update), and the cache has none; or pass --kernel PATH"
        warn "apt-cache cannot resolve $META_PKG; using the cached $(basename "$(dirname "$dir")")"
        dirname "$dir"
        return
    fi
    dir=$CACHE_DIR/kernel/${pkg}_$ver
    if [[ -f $dir/.complete ]]; then
        echo "$dir"
        return
    fi
    need dpkg-deb "package dpkg"
    need depmod "package kmod"
    say "fetching $pkg $ver with apt-get download"
    local dl=$tmp/download
    mkdir -p "$dl"
    local sandbox=()
    # As root apt downloads as _apt, which cannot write to our directory.
    (($(id -u) == 0)) && sandbox=(-o APT::Sandbox::User=root)
    (cd "$dl" && apt-get download -q "${sandbox[@]}" "$pkg=$ver") >"$tmp/apt.log" 2>&1 ||
        die "apt-get download $pkg=$ver failed: $(grep -E '^(E|Err):' "$tmp/apt.log" | head -n 1)"
    local deb
    deb=$(ls "$dl"/*.deb 2>/dev/null | head -n 1)
    [[ -n $deb ]] || die "apt-get download $pkg=$ver produced no .deb"
    rm -rf "$dir.part"
    mkdir -p "$dir.part"
    dpkg-deb -x "$deb" "$dir.part" || die "cannot extract $deb"
    rm -rf "$dir.part/usr"
    local kver
    kver=$(ls "$dir.part/lib/modules" 2>/dev/null | head -n 1)
    [[ -n $kver && -f $dir.part/boot/vmlinuz-$kver ]] || die "$deb holds no vmlinuz and modules"
    depmod -b "$dir.part" "$kver" || die "depmod of $pkg failed"
    echo "$kver" >"$dir.part/kver"
    touch "$dir.part/.complete"
    rm -rf "$dir"
    mv "$dir.part" "$dir"
    # Keep only the current kernel of this series.
    local old
    for old in "$CACHE_DIR"/kernel/linux-image-"$series".*; do
        [[ $old == "$dir" ]] || rm -rf "$old"
    done
    rm -rf "$dl"
    echo "$dir"
}

# The version string in a bzImage's setup header.
bzimage_version() {
    local f=$1 magic off
    magic=$(dd if="$f" bs=1 skip=$((0x202)) count=4 2>/dev/null) || return 1
    [[ $magic == HdrS ]] || return 1
    off=$(od -An -tu2 -j $((0x20e)) -N 2 "$f" | tr -d ' ')
    dd if="$f" bs=1 skip=$((off + 0x200)) count=256 2>/dev/null | tr '\0' '\n' | head -n 1 | awk '{ print $1 }'
}

mod_root="" # a directory holding lib/modules/$kver
kconfig=""
if [[ -n $kernel_path ]]; then
    [[ -f $kernel_path ]] || die "--kernel $kernel_path: no such file"
    kernel=$(cd "$(dirname "$kernel_path")" && pwd)/$(basename "$kernel_path")
    kver=$(bzimage_version "$kernel") || kver=""
    if [[ -z $kver ]]; then
        warn "cannot read a version from $kernel (not a bzImage?); the guest runs without loadable modules"
    else
        for d in "$CACHE_DIR"/kernel/*/ /; do
            if [[ -f ${d%/}/lib/modules/$kver/modules.dep ]]; then mod_root=${d%/}; break; fi
        done
        [[ -n $mod_root ]] || warn "no modules for kernel $kver (not in the vmtest cache nor /lib/modules); the guest runs without loadable modules"
        for c in "$(dirname "$kernel")/config-$kver" "$mod_root/boot/config-$kver"; do
            if [[ -f $c ]]; then kconfig=$c; break; fi
        done
    fi
else
    kdir=$(debian_kernel)
    kver=$(cat "$kdir/kver")
    kernel=$kdir/boot/vmlinuz-$kver
    mod_root=$kdir
    kconfig=$kdir/boot/config-$kver
fi
say "kernel $kernel (${kver:-unknown version})"

# --- the initramfs -----------------------------------------------------------------------
# The guest's /init. run.conf (per run) sets VMTEST_TOKEN, VMTEST_CWD, VMTEST_PATH, the
# environment and the command ("$@").
read -r -d '' GUEST_INIT <<'INIT' || true
#!/bin/busybox sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
# Files the initramfs put under /tmp (a build dir there) move onto the new tmpfs.
mkdir /run/.vmtest-tmp
mount -t tmpfs -o mode=1777 tmpfs /run/.vmtest-tmp
cp -a /tmp/. /run/.vmtest-tmp/ && rm -rf /tmp/* /tmp/.[!.]* 2>/dev/null
mount --move /run/.vmtest-tmp /tmp
rmdir /run/.vmtest-tmp
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -t bpf -o mode=0700 bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
. /vmtest/run.conf
echo "VMTEST-$VMTEST_TOKEN-INIT"
# As systemd does on a server: every controller available to child cgroups.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "vmtest: cannot enable cgroup controller $c"
done
hostname vmtest
ip link set lo up
kver=$(uname -r)
if [ -f "/lib/modules/$kver/vmtest.load" ]; then
    while read -r ko; do
        insmod "/lib/modules/$kver/$ko" || echo "vmtest: insmod $ko failed"
    done <"/lib/modules/$kver/vmtest.load"
else
    echo "vmtest: no modules for kernel $kver"
fi
export PATH="$VMTEST_PATH:$PATH"
cd "$VMTEST_CWD" 2>/dev/null || cd /
# Dedicated serial ports for the command's output; raw, so bytes arrive unchanged.
exec 5>/dev/ttyS1 6>/dev/ttyS2
stty -F /dev/ttyS1 raw -echo
stty -F /dev/ttyS2 raw -echo
echo "VMTEST-$VMTEST_TOKEN-RUN uptime=$(cut -d' ' -f1 /proc/uptime)"
# Through the host's /bin/sh: busybox sh would run its own applets (tc, ip, losetup ...)
# in place of the host's tools on PATH.
/bin/sh -c 'exec "$@"' vmtest "$@" </dev/null >&5 2>&6 5>&- 6>&-
rc=$?
# Closing the last descriptor waits until the UART has sent everything.
exec 5>&- 6>&-
cd /
sync
echo "VMTEST-$VMTEST_TOKEN-EXIT=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
echo o >/proc/sysrq-trigger
sleep 10
INIT

# Copies a host file to the same path under the staging directory $1.
stage_file() {
    local root=$1 src=$2 dst=${3:-$2}
    mkdir -p "$root$(dirname "$dst")"
    cp -L --preserve=mode,timestamps "$src" "$root$dst"
}
# Prints the shared libraries (and the dynamic loader) the ELF files given need.
libs_of() {
    local f
    for f; do
        is_elf "$f" || continue
        ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' || true
    done | sort -u
}
# The usrmerge layout of the host (/bin -> usr/bin ...), so host paths land where the
# guest's loader and PATH look.
stage_skeleton() {
    local root=$1 d t
    mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,root,mnt,var/tmp,vmtest}
    for d in bin sbin lib lib64; do
        if [[ -L /$d ]]; then
            t=$(readlink "/$d")
            ln -s "${t#/}" "$root/$d"
        else
            mkdir -p "$root/$d"
        fi
    done
}

# The kernel modules: the requested ones and their dependencies, decompressed, with a
# modules.dep for the guest's modprobe and vmtest.load listing what init loads in order.
stage_modules() {
    local root=$1 src=$mod_root/lib/modules/$kver dst=$1/lib/modules/$kver m line p
    mkdir -p "$dst"
    : >"$tmp/boot.order"
    : >"$tmp/all.order"
    for m in $BOOT_MODULES "${extra_boot_modules[@]}" $EXTRA_MODULES; do
        if ! modprobe -d "$mod_root" -S "$kver" --show-depends "$m" >"$tmp/deps" 2>/dev/null; then
            if [[ " $BOOT_MODULES ${extra_boot_modules[*]} " == *" $m "* ]]; then
                warn "kernel $kver has no module $m"
            fi
            continue
        fi
        while read -r line p _; do
            [[ $line == insmod ]] || continue
            p=${p#"$src/"}
            echo "$p" >>"$tmp/all.order"
            if [[ " $EXTRA_MODULES " != *" $m "* ]]; then echo "$p" >>"$tmp/boot.order"; fi
        done <"$tmp/deps"
    done
    while read -r p; do
        mkdir -p "$dst/$(dirname "$p")"
        case $p in
        *.ko.xz) xz -dc "$src/$p" >"$dst/${p%.xz}" ;;
        *.ko.zst) zstd -qdc "$src/$p" >"$dst/${p%.zst}" ;;
        *.ko.gz) gzip -dc "$src/$p" >"$dst/${p%.gz}" ;;
        *) cp "$src/$p" "$dst/$p" ;;
        esac
    done < <(awk '!seen[$0]++' "$tmp/all.order")
    sed -E 's/\.ko\.(xz|zst|gz)$/.ko/' "$tmp/boot.order" | awk '!seen[$0]++' >"$dst/vmtest.load"
    cp "$src"/modules.builtin* "$src/modules.order" "$dst/" 2>/dev/null || true
    depmod -b "$root" "$kver" 2>/dev/null || warn "depmod for the guest failed; modprobe in the guest may not work"
}

# The part of the initramfs that only changes with the kernel, the host's packages or this
# script: busybox, host tools and their libraries, modules, /init.
busybox_bin=$(command -v busybox 2>/dev/null) || die "busybox not found (package busybox-static; scripts/install-deps.sh installs it)"
host_sh=$(readlink -f /bin/sh)
[[ -x $host_sh && $host_sh != */busybox ]] || { warn "no /bin/sh on the host besides busybox; busybox applets will shadow host tools in 'sh -c'"; host_sh=""; }
tool_paths=()
for t in $HOST_TOOLS; do
    p=$(command -v "$t" 2>/dev/null) || continue
    tool_paths+=("$p")
done
base_key=$(
    {
        echo "$GUEST_INIT"
        declare -f stage_modules stage_skeleton libs_of stage_file
        echo "$kver $mod_root $BOOT_MODULES ${extra_boot_modules[*]} $EXTRA_MODULES $kconfig"
        stat -Lc '%n %s %Y' "$busybox_bin" ${host_sh:+"$host_sh"} "${tool_paths[@]}" /var/lib/dpkg/status 2>/dev/null || true
        for d in $HOST_DATA; do [[ -e $d ]] && find "$d" -type f -printf '%p %s %T@\n'; done
    } | sha256sum | cut -c1-16
)
base_cpio=$CACHE_DIR/initramfs-base-$base_key.cpio
if [[ ! -f $base_cpio ]]; then
    say "building the cached initramfs base"
    t0=$(now_ms)
    stage=$tmp/base
    stage_skeleton "$stage"
    stage_file "$stage" "$busybox_bin" /bin/busybox
    for p in "${tool_paths[@]}"; do stage_file "$stage" "$p"; done
    # The host's /bin/sh (dash on Debian); busybox's sh prefers its applets to PATH.
    if [[ -n $host_sh ]]; then
        stage_file "$stage" "$host_sh"
        ln -s "$host_sh" "$stage/bin/sh"
    fi
    for d in $HOST_DATA; do
        [[ -e $d ]] || continue
        mkdir -p "$stage$(dirname "$d")"
        cp -rL "$d" "$stage$d"
    done
    while read -r lib; do stage_file "$stage" "$lib"; done < <(libs_of "$busybox_bin" ${host_sh:+"$host_sh"} "${tool_paths[@]}")
    # Busybox applets wherever the host tools left a gap.
    while read -r applet; do
        [[ -e $stage/$applet || -L $stage/$applet ]] || ln -s /bin/busybox "$stage/$applet"
    done < <("$busybox_bin" --list-full)
    [[ -e $stage/bin/sh ]] || ln -s /bin/busybox "$stage/bin/sh"
    if [[ -n $mod_root ]]; then stage_modules "$stage"; fi
    if [[ -n $kconfig && -n $kver ]]; then mkdir -p "$stage/boot"; cp "$kconfig" "$stage/boot/config-$kver"; fi
    printf '%s\n' "$GUEST_INIT" >"$stage/init"
    chmod 0755 "$stage/init"
    echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
    echo "root:x:0:" >"$stage/etc/group"
    printf '127.0.0.1\tlocalhost vmtest\n::1\tlocalhost ip6-localhost\n' >"$stage/etc/hosts"
    echo vmtest >"$stage/etc/hostname"
    : >"$stage/etc/fstab"
    ln -sf /proc/self/mounts "$stage/etc/mtab"
    (cd "$stage" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --quiet) >"$base_cpio.part" ||
        die "cpio failed building the initramfs"
    mv "$base_cpio.part" "$base_cpio"
    rm -rf "$stage"
    for old in "$CACHE_DIR"/initramfs-base-*.cpio; do
        [[ $old == "$base_cpio" ]] || rm -f "$old"
    done
    say "initramfs base built in $(secs $(($(now_ms) - t0))) s ($(du -h "$base_cpio" | cut -f1))"
fi

# The per-run part: the build directory's executables, --add paths, libraries, run.conf.
# Not the unit tests, benchmarks, fuzz targets or packages: no guest runs them, and with
# their debug info they doubled the initramfs past what a 2 GiB guest can unpack
# ("Initramfs unpacking failed: write error", then init missing files and exiting).
stage=$tmp/run
stage_skeleton "$stage"
run_files=("$build_dir/perfbpf")
while IFS= read -r -d '' f; do
    is_elf "$f" && run_files+=("$f")
done < <(find "$build_dir" \( -name CMakeFiles -o -name _deps -o -name _CPack_Packages \
    -o -path "$build_dir/bench" -o -path "$build_dir/fuzz" -o -path "$build_dir/tests/unit_tests" \) \
    -prune -o -type f -perm -u+x ! -path "$build_dir/perfbpf" -print0)
for f in "${run_files[@]}"; do stage_file "$stage" "$f"; done
add_elves=()
for a in "${adds[@]}"; do
    abs=$(cd "$(dirname "$a")" && pwd)/$(basename "$a")
    if [[ -d $a ]]; then
        mkdir -p "$stage$(dirname "$abs")"
        cp -rL "$a" "$stage$abs"
        while IFS= read -r -d '' f; do is_elf "$f" && add_elves+=("$f"); done < <(find "$abs" -type f -print0)
    else
        stage_file "$stage" "$abs"
        is_elf "$abs" && add_elves+=("$abs")
    fi
done
while read -r lib; do
    [[ -e $stage$lib ]] || stage_file "$stage" "$lib"
done < <(libs_of "${run_files[@]}" "${add_elves[@]}")
mkdir -p "$stage$PWD"
token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
{
    echo "VMTEST_TOKEN=$token"
    echo "VMTEST_CWD=$(shq "$PWD")"
    echo "VMTEST_PATH=$(shq "$build_dir")"
    while IFS= read -r v; do
        [[ $v == PERFBPF_VMTEST_* ]] && continue
        echo "export $v=$(shq "${!v}")"
    done < <(compgen -e | grep -E '^(CI|PERFBPF_[A-Za-z0-9_]*)$' || true)
    printf 'set --'
    for a in "${cmd[@]}"; do printf ' %s' "$(shq "$a")"; done
    echo
} >"$stage/vmtest/run.conf"
initrd=$tmp/initrd.cpio
cp "$base_cpio" "$initrd"
exec {lock_fd}>&-
(cd "$stage" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --quiet) >>"$initrd" ||
    die "cpio failed building the initramfs"
say "initramfs $(du -h "$initrd" | cut -f1)"

# --- boot --------------------------------------------------------------------------------
kvm_marker=$CACHE_DIR/kvm-broken-$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
kvm_fallback=0
case $accel in
kvm)
    [[ -r /dev/kvm && -w /dev/kvm ]] || die "--accel kvm: /dev/kvm is missing or not accessible"
    ;;
auto)
    accel=tcg
    if [[ -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
        if [[ -f $kvm_marker ]]; then
            say "KVM failed to start a guest earlier since this host booted; using TCG"
        else
            accel=kvm
            kvm_fallback=1
        fi
    fi
    ;;
esac

console=$tmp/console.log
out=$tmp/stdout
err=$tmp/stderr
start_ms=$(now_ms)
deadline_ms=$((start_ms + timeout_s * 1000))
# Boots once with $accel. Sets boot_result to exited, timeout or "no init after ...",
# init_ms when the guest init started, qemu_rc when qemu exited.
boot() {
    local accel_args append
    if [[ $accel == kvm ]]; then accel_args=(-accel kvm -cpu host); else accel_args=(-accel tcg -cpu max); fi
    append="console=ttyS0 rdinit=/init panic=-1 cgroup_no_v1=all"
    : >"$console"
    : >"$out"
    : >"$err"
    say "booting with $accel"
    qemu-system-x86_64 -nographic -nodefaults -no-user-config -no-reboot \
        "${accel_args[@]}" -smp "$cpus" -m "$memory" \
        -kernel "$kernel" -initrd "$initrd" -append "$append" \
        -chardev "file,id=con,path=$console,append=on" -serial chardev:con \
        -chardev "file,id=out,path=$out,append=on" -serial chardev:out \
        -chardev "file,id=err,path=$err,append=on" -serial chardev:err \
        -monitor none </dev/null >"$tmp/qemu.log" 2>&1 &
    qemu_pid=$!
    boot_start_ms=$(now_ms)
    tail -n +1 -s 0.1 -f --pid="$qemu_pid" "$out" &
    tail_pids=($!)
    tail -n +1 -s 0.1 -f --pid="$qemu_pid" "$err" >&2 &
    tail_pids+=($!)
    if ((verbose)); then
        tail -n +1 -s 0.1 -f --pid="$qemu_pid" "$console" >&2 &
        tail_pids+=($!)
    fi
    init_ms=""
    qemu_rc=""
    boot_result=exited
    # bash reports a background job killed by a signal ("Aborted ...") on stderr when it
    # reaps it; the exit status says the same more clearly below.
    exec {stderr_fd}>&2 2>/dev/null
    while kill -0 "$qemu_pid" 2>/dev/null; do
        local t
        t=$(now_ms)
        if [[ -z $init_ms ]] && grep -aq "VMTEST-$token-INIT" "$console"; then init_ms=$t; fi
        if ((t >= deadline_ms)); then
            boot_result=timeout
            break
        fi
        if [[ $accel == kvm && -z $init_ms ]] && ((t - boot_start_ms >= KVM_START_TIMEOUT * 1000)); then
            boot_result="no init after ${KVM_START_TIMEOUT} s"
            break
        fi
        if [[ $accel == tcg && -z $init_ms ]] && ((t - boot_start_ms >= TCG_START_TIMEOUT * 1000)); then
            boot_result="no init after ${TCG_START_TIMEOUT} s"
            break
        fi
        sleep 0.1
    done
    if [[ $boot_result == exited ]]; then
        wait "$qemu_pid" 2>/dev/null && qemu_rc=0 || qemu_rc=$?
        qemu_pid=""
        exec 2>&"$stderr_fd" {stderr_fd}>&-
        # The tails print what is left and end on their own once qemu is gone.
        for p in "${tail_pids[@]}"; do wait "$p" 2>/dev/null || true; done
        tail_pids=()
    else
        exec 2>&"$stderr_fd" {stderr_fd}>&-
        stop_children
    fi
    [[ -n $init_ms ]] || ! grep -aq "VMTEST-$token-INIT" "$console" || init_ms=$(now_ms)
}

show_console_tail() {
    echo "$ME: last lines of the guest console:" >&2
    tail -n 25 "$console" | tr -d '\r' | sed 's/^/  | /' >&2
    if [[ -s $tmp/qemu.log ]]; then sed 's/^/  qemu: /' "$tmp/qemu.log" | tail -n 5 >&2; fi
}

boot
# A KVM that cannot run this kernel hangs in firmware or early boot, or qemu aborts.
if [[ $accel == kvm && -z $init_ms && $boot_result != timeout ]]; then
    if ((kvm_fallback)); then
        warn "the KVM guest did not start (${boot_result/exited/qemu exited $qemu_rc}); falling back to TCG (remembered until the host reboots)"
        touch "$kvm_marker" 2>/dev/null || true
        accel=tcg
        boot
    else
        [[ -z $keep_log ]] || cp "$console" "$keep_log"
        [[ $boot_result == exited ]] && show_console_tail
        die "--accel kvm: the guest did not start (${boot_result/exited/qemu exited $qemu_rc}; KVM here may not run stock kernels); try --accel tcg"
    fi
fi
if [[ $accel == tcg && -z $init_ms && $boot_result == "no init after"* ]]; then
    warn "the TCG guest did not reach init within ${TCG_START_TIMEOUT} s (last console line: $(tail -n 1 "$console" | tr -cd '[:print:]')); booting it once more"
    boot
    if [[ -z $init_ms && $boot_result == "no init after"* ]]; then
        show_console_tail
        die "the TCG guest did not reach init within ${TCG_START_TIMEOUT} s, twice"
    fi
fi
end_ms=$(now_ms)
if [[ -n $keep_log ]]; then cp "$console" "$keep_log" || warn "cannot write --keep-log $keep_log"; fi

if [[ $boot_result == timeout ]]; then
    echo "$ME: error: timed out after ${timeout_s} s ($accel); the guest was killed" >&2
    show_console_tail
    exit "$EXIT_TIMEOUT"
fi
rc=$(grep -aoE "VMTEST-$token-EXIT=[0-9]+" "$console" | tail -n 1 | cut -d= -f2) || true
if [[ -z $rc ]]; then
    if [[ -z $init_ms ]]; then
        echo "$ME: error: the guest ended before init ran (qemu exit $qemu_rc, $accel)" >&2
    else
        echo "$ME: error: the guest ended without reporting the command's exit code (kernel panic?)" >&2
    fi
    show_console_tail
    exit "$EXIT_SETUP"
fi
if ((!quiet)); then
    # Guest uptimes at the command's start and end, from the markers.
    t_run=$(grep -aoE "VMTEST-$token-RUN uptime=[0-9.]+" "$console" | tail -n 1 | cut -d= -f2) || true
    t_end=$(grep -aoE "VMTEST-$token-EXIT=[0-9]+ uptime=[0-9.]+" "$console" | tail -n 1 | cut -d= -f3) || true
    echo "$ME: kernel ${kver:-?} ($accel): command started ${t_run:-?} s after boot, ended at ${t_end:-?} s with exit $rc; qemu ran $(secs $((end_ms - boot_start_ms))) s" >&2
fi
exit "$rc"

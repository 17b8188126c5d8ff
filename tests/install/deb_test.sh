#!/usr/bin/env bash
# Installs perfbpf's .deb into a fresh Debian 12 (bookworm) root and runs it from the
# installed paths: apt resolves its dependencies from Debian, the installed unit passes
# `systemd-analyze verify`, `perfbpf doctor` and `perfbpf daemon` run, the daemon writes
# its status file. The root is a minbase debootstrap cached as a tarball; every run
# unpacks a fresh copy and removes it at the end.
#
# Usage: deb_test.sh BUILD_DIR. Needs root (chroot, mounts). Exit 77: skipped (with
# CI=true a skip is a failure).
set -euo pipefail

build=$(cd "${1:?usage: deb_test.sh BUILD_DIR}" && pwd)
cache=/var/tmp/perfbpf-debroot-bookworm.tar
mirror=http://deb.debian.org/debian

skip() {
    if [ "${CI:-}" = true ]; then
        echo "deb_test: CI=true and $1" >&2
        exit 1
    fi
    echo "deb_test: skipped: $1"
    exit 77
}
die() {
    echo "deb_test: FAIL: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || skip "not root (chroot and bind mounts need it)"
for tool in debootstrap cmake cpack dpkg-deb chroot systemd-analyze python3; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh)"
done

# APT sources of the root: the host's when it has them (same snapshot, so the .deb's
# shlibdeps versions are satisfiable), else bookworm with updates and security.
write_sources() {
    local root=$1
    rm -f "$root/etc/apt/sources.list"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
    else
        cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    fi
}

make_cache() {
    local tmp
    tmp=$(mktemp -d /var/tmp/perfbpf-debootstrap.XXXXXX)
    echo "deb_test: debootstrap --variant=minbase bookworm (once; cached as $cache)"
    if ! debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$tmp.log" 2>&1; then
        tail -20 "$tmp.log" >&2
        rm -rf --one-file-system "$tmp" "$tmp.log"
        die "debootstrap failed (log above)"
    fi
    write_sources "$tmp"
    tar -C "$tmp" -cf "$cache.partial" .
    mv "$cache.partial" "$cache"
    rm -rf --one-file-system "$tmp" "$tmp.log"
}

echo "deb_test: cpack -G DEB in $build"
# Installing builds nothing (cmake/Install.cmake): build what the package holds first.
cmake --build "$build" --target perfbpf perfbpf_man >"$build/deb_test_build.log" 2>&1 ||
    { tail -20 "$build/deb_test_build.log" >&2; die "building perfbpf and its man pages failed"; }
rm -f "$build"/perfbpf_*.deb
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || { tail -20 "$build/cpack.log" >&2; die "cpack failed"; }
debs=("$build"/perfbpf_*.deb)
[ -f "${debs[0]}" ] || die "cpack produced no $build/perfbpf_*.deb"
deb=${debs[0]}

[ -f "$cache" ] || make_cache

root=$(mktemp -d /var/tmp/perfbpf-debroot.XXXXXX)
mounted=()
cleanup() {
    local m
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        m=${mounted[i]}
        umount -R "$m" 2>/dev/null || umount -R -l "$m" || true
    done
    # Never delete through a mount that is still there (it would be the host's /dev).
    if grep -q " $root/" /proc/self/mountinfo; then
        echo "deb_test: mounts left under $root; not removing it" >&2
    else
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT
tar -C "$root" -xf "$cache"

# rslave: unmounting the chroot's view must not propagate to the host's mounts.
mount --bind /proc "$root/proc" && mounted+=("$root/proc")
mount --rbind /sys "$root/sys" && mounted+=("$root/sys")
mount --make-rslave "$root/sys"
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# systemd too: the unit is verified where it would run (minbase has no systemd, and
# verify needs its targets).
echo "deb_test: apt-get install ./$(basename "$deb") systemd in a fresh bookworm root"
cp "$deb" "$root/tmp/"
in_root sh -c "apt-get update -qq && cd /tmp && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends ./$(basename "$deb") systemd" >"$root.apt.log" 2>&1 ||
    { tail -30 "$root.apt.log" >&2; rm -f "$root.apt.log"; die "apt-get install of the .deb failed"; }
rm -f "$root.apt.log"

units=(perfbpf.service perfbpf-report@.service perfbpf-report-daily.timer perfbpf-report-weekly.timer)
for f in /usr/bin/perfbpf /usr/lib/perfbpf/libperfbpf_shim.so "${units[@]/#//lib/systemd/system/}" \
    /etc/perfbpf/perfbpf.toml /usr/share/man/man8/perfbpf.8.gz /usr/share/man/man8/perfbpf-top.8.gz \
    /usr/share/perfbpf/prometheus/perfbpf.rules.yml /usr/share/perfbpf/prometheus/perfbpf.rules.test.yml \
    /usr/share/perfbpf/grafana/perfbpf.json; do
    [ -e "$root$f" ] || die "$f is not installed"
done
in_root dpkg-query -W -f='${Conffiles}\n' perfbpf | grep -q '^ /etc/perfbpf/perfbpf.toml ' ||
    die "/etc/perfbpf/perfbpf.toml is not a conffile"

# The report template is verified as an instance (perfbpf-report@i.service), and through
# the timers, which name perfbpf-report@daily and @weekly.
for unit in "${units[@]/#//lib/systemd/system/}"; do
    if in_root sh -c 'command -v systemd-analyze' >/dev/null; then
        in_root systemd-analyze verify "$unit" || die "systemd-analyze verify $unit (in the root)"
    else
        systemd-analyze verify --root="$root" "$unit" || die "systemd-analyze verify --root $unit"
    fi
    echo "deb_test: $unit verified"
done

# The installed example config is what perfbpf reads by default: it must load as is.
in_root /usr/bin/perfbpf doctor >"$root.doctor" 2>&1 || {
    cat "$root.doctor" >&2
    rm -f "$root.doctor"
    die "perfbpf doctor failed in the root"
}
head -5 "$root.doctor" && rm -f "$root.doctor"

status=/var/lib/perfbpf/daemon.status.json
rm -f "$root$status"
timeout 60 chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    /usr/bin/perfbpf daemon --iterations 3 --interval 0.5 --listen 127.0.0.1:0 ||
    die "perfbpf daemon --iterations 3 failed"
[ -s "$root$status" ] || die "the daemon wrote no $status"
python3 -m json.tool "$root$status" >/dev/null || die "$status is not JSON"
echo "deb_test: daemon ran 3 iterations from the installed paths; $status:"
head -c 600 "$root$status"
echo

# The report unit's command, from the installed paths, on the history the daemon just wrote.
in_root sh -c "/usr/bin/perfbpf report --period daily -o '/var/lib/perfbpf/reports/{date}-daily.html'" ||
    die "perfbpf report --period daily failed"
ls "$root"/var/lib/perfbpf/reports/*-daily.html >/dev/null 2>&1 || die "no reports/DATE-daily.html written"
grep -q '<svg' "$root"/var/lib/perfbpf/reports/*-daily.html || die "the daily report has no charts"
echo "deb_test: the daily report was written: $(cd "$root"/var/lib/perfbpf/reports && ls)"

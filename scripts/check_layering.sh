#!/usr/bin/env bash
# Checks that userspace/'s #include lines follow the layering the build declares: each
# folder with a CMakeLists.txt is one library, and `target_link_libraries(... perfbpf_X)`
# there lists the folders it may use. Fails (exit 1, one line per offence) on
#  - an #include "F/..." of a folder F that the including folder does not declare;
#  - a declared folder that nothing in the folder includes (the table would lie);
#  - a cycle among the declarations;
#  - model/ or detect/ including what reads files, sockets or the kernel, and libbpf
#    included outside probes/, collect/ and leaks/.
# A subfolder without a CMakeLists.txt (tune/tuners/) belongs to its parent's library.
# usage: scripts/check_layering.sh [--table]   (--table: the markdown table of docs/layering.md)
set -euo pipefail
cd "$(dirname "$0")/../userspace"

table=0
[[ "${1:-}" == "--table" ]] && table=1

# The library folder a path (relative to userspace/) belongs to: its nearest directory
# with a CMakeLists.txt; "." for main.cpp.
unit_of() {
    local d=$1
    [[ "$d" == */* ]] && d=${d%/*} || d=.
    while [[ "$d" != "." && ! -f "$d/CMakeLists.txt" ]]; do
        [[ "$d" == */* ]] && d=${d%/*} || d=.
    done
    echo "$d"
}

# Library folders, and the target each defines (perfbpf_collect_parse -> collect/parse).
declare -A folder_of_target=() declared=()
folders=()
while read -r cm; do
    dir=$(dirname "$cm")
    [[ "$dir" == "shim" ]] && continue  # C, the leak tracer's preload library: its own rules
    name=$(grep -oE 'perfbpf_library\(perfbpf_[a-z_]+' "$cm" | sed 's/perfbpf_library(//' || true)
    [[ "$dir" == "." ]] && name=perfbpf
    [[ -n "$name" ]] || { echo "check_layering: $cm defines no perfbpf_library()" >&2; exit 1; }
    folder_of_target[$name]=$dir
    folders+=("$dir")
done < <(find . -name CMakeLists.txt -printf '%P\n' | sort)

# The perfbpf_* targets named in each folder's target_link_libraries() calls, and the
# packages (NS::name) for the table.
declare -A packages=()
for dir in "${folders[@]}"; do
    calls=$(tr '\n' ' ' <"$dir/CMakeLists.txt" | grep -oE 'target_link_libraries\([^)]*\)' || true)
    packages[$dir]=$(grep -oE '[A-Za-z_0-9]+::[A-Za-z_0-9]+' <<<"$calls" | sed 's/^PkgConfig:://' | sort -u |
        tr '\n' ' ' || true)
    deps=$(grep -oE 'perfbpf_[a-z_]+' <<<"$calls" | sort -u || true)
    list=""
    for t in $deps; do
        [[ -n "${folder_of_target[$t]:-}" ]] || continue  # perfbpf_shim, perfbpf_web_assets
        [[ "${folder_of_target[$t]}" == "$dir" ]] && continue
        list+="${folder_of_target[$t]} "
    done
    declared[$dir]="$list"
done

failed=0
fail() {
    echo "$*"
    failed=1
}

# Every quoted include of a file under userspace/: "from to file:line".
edges=$(grep -rnE --include='*.cpp' --include='*.h' '^#include "[^"]+"' . | grep -v '^\./shim/' |
    sed -E 's|^\./([^:]+):([0-9]+):#include "([^"]+)".*|\1 \2 \3|' |
    while read -r file line inc; do
        [[ -f "$inc" ]] || continue  # include/perfbpf/, generated skeletons
        from=$(unit_of "$file") to=$(unit_of "$inc")
        [[ "$from" == "$to" ]] || echo "$from $to $file:$line"
    done)

declare -A used=() counts=()
while read -r from to where; do
    [[ -n "$from" ]] || continue
    used["$from $to"]=1
    counts["$from $to"]=$((${counts["$from $to"]:-0} + 1))
    [[ " ${declared[$from]} " == *" $to "* ]] ||
        fail "$where: includes $to/ but $from/CMakeLists.txt does not declare perfbpf_${to//\//_}"
done <<<"$edges"

for dir in "${folders[@]}"; do
    for to in ${declared[$dir]}; do
        [[ -n "${used["$dir $to"]:-}" ]] ||
            fail "$dir/CMakeLists.txt declares $to/ but nothing in $dir/ includes it"
    done
done

pairs=""
for dir in "${folders[@]}"; do
    for to in ${declared[$dir]}; do pairs+="$to $dir"$'\n'; done
done
if ! printf '%s' "$pairs" | tsort >/dev/null 2>&1; then
    loop=$(printf '%s' "$pairs" | tsort 2>&1 >/dev/null | grep -v 'contains a loop' | sed 's/^tsort: //' |
        tr '\n' ' ' || true)
    fail "the declared dependencies have a cycle through: ${loop% }"
fi

# What the layering forbids whatever the declarations say.
banned='<(bpf/[^>]+|fstream|fcntl\.h|unistd\.h|dirent\.h|sys/[^>]+|netinet/[^>]+|linux/[^>]+|sqlite3\.h|zstd\.h|httplib\.h|n?curses\.h|filesystem)>|"util/(files|fd|safe_open|netns|privileges|scratch_dir)\.h"'
while IFS= read -r hit; do
    fail "${hit%%:#*}: model/ and detect/ read no files, sockets or kernel: ${hit#*:#include }"
done < <(grep -rnE "^#include ($banned)" model detect | sed -E 's|^([^:]+:[0-9]+):|\1:|' || true)
while IFS= read -r hit; do
    fail "${hit%%:#*}: libbpf outside probes/, collect/ and leaks/: ${hit#*:#include }"
done < <(grep -rnE '^#include <bpf/' --include='*.cpp' --include='*.h' . |
    grep -vE '^\./(probes|collect|leaks)/' | sed 's|^\./||' || true)

if ((table)); then
    # Bottom up: each folder after those it uses.
    order=$( (printf '%s' "$pairs"; for dir in "${folders[@]}"; do echo "$dir $dir"; done) | tsort)
    echo "| folder | may use (declared; #include lines today) | packages |"
    echo "|---|---|---|"
    for dir in $order; do
        name=$dir
        [[ "$dir" == "." ]] && name="main.cpp"
        inc=""
        for to in ${declared[$dir]}; do inc+="${to} (${counts["$dir $to"]:-0}), "; done
        pkgs=${packages[$dir]% }
        inc=${inc%, }
        echo "| \`$name\` | ${inc:-—} | ${pkgs:-—} |"
    done
fi
exit "$failed"

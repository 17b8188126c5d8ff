#!/usr/bin/env bash
# Bytes on disk per stored sample: perfbpf's history against Prometheus's own TSDB holding
# the same samples. Reads every scalar series of a daemon's state dir (perfbpf query), writes
# them as OpenMetrics, lets `promtool tsdb create-blocks-from openmetrics` build Prometheus
# blocks from them, and prints both sizes per sample. Histogram series are left out of the
# comparison (Prometheus would store 33 series for each).
#
# usage: bench/history_vs_prometheus.sh STATE_DIR [--since 2h]
#   STATE_DIR   a daemon's state dir (stop the daemon first: its head is then in chunks)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
[[ $# -ge 1 ]] || { sed -n '2,10p' "$0"; exit 2; }
state=$1; shift
since=2h
[[ ${1:-} == --since ]] && since=$2
command -v promtool >/dev/null || { echo "history_vs_prometheus.sh: promtool missing (apt-get install prometheus)" >&2; exit 1; }
work=$(mktemp -d /tmp/perfbpf-vs-prom.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$build/perfbpf" query '{comm=~".*"}' --since "$since" --state-dir "$state" --json >"$work/all.json"
python3 - "$work/all.json" "$work/om.txt" "$state/daemon.status.json" <<'PY'
import json, sys, re
doc = json.load(open(sys.argv[1]))
out = open(sys.argv[2], "w")
families = {}
for s in doc["series"]:
    if s["kind"] == "histogram":
        continue
    families.setdefault(s["metric"], []).append(s)
samples = 0
def esc(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
for metric, series in sorted(families.items()):
    name = "perfbpf_" + metric
    out.write(f"# TYPE {name} gauge\n")
    for s in series:
        labels = ",".join(f'{k}="{esc(v)}"' for k, v in sorted(s["labels"].items()))
        lab = "{" + labels + "}" if labels else ""
        for ts, v in s["points"]:
            out.write(f"{name}{lab} {v!r} {ts / 1000:.3f}\n")
            samples += 1
out.write("# EOF\n")
out.close()
print(samples)
PY
samples=$(python3 -c "import json;d=json.load(open('$work/all.json'));print(sum(len(s['points']) for s in d['series'] if s['kind']!='histogram'))")
all_samples=$(python3 -c "import json;d=json.load(open('$work/all.json'));print(sum(len(s['points']) for s in d['series']))")
promtool tsdb create-blocks-from openmetrics "$work/om.txt" "$work/prom" >/dev/null
prom_bytes=$(du -sb "$work/prom" | cut -f1)
ours_bytes=$(( $(stat -c %s "$state/history.db") + $(stat -c %s "$state/history.db-wal" 2>/dev/null || echo 0) ))
python3 - "$samples" "$all_samples" "$prom_bytes" "$ours_bytes" <<'PY'
import sys
scalar, total, prom, ours = (int(x) for x in sys.argv[1:])
print(f"| store | samples | bytes on disk | bytes/sample |")
print(f"|---|---|---|---|")
print(f"| perfbpf history (history.db + WAL, every series) | {total:,} | {ours:,} | {ours / total:.3f} |")
print(f"| Prometheus TSDB blocks (promtool, scalar series only) | {scalar:,} | {prom:,} | {prom / scalar:.3f} |")
PY

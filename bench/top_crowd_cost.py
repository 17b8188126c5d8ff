#!/usr/bin/env python3
"""What `perfbpf top` costs beside a crowd of threads (issue: top --interval 0.1 at most 5 %
of one core with 1,000 threads): top's own CPU (user + system from /proc over the run) and
the run time of each of its BPF programs (kernel run statistics, switched on with
BPF_ENABLE_STATS for the measured window only, see prog_cost.py), as shares of one core.

usage: sudo bench/top_crowd_cost.py [--interval 0.1] [--threads 1000] [--seconds 40]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prog_cost  # noqa: E402


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", default="0.1")
    ap.add_argument("--threads", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("top_crowd_cost.py: run as root")
    crowd_bin = os.path.join(a.build, "tests", "fixtures", "thread_crowd")
    top_bin = os.path.join(a.build, "perfbpf")
    crowd = subprocess.Popen([crowd_bin, str(a.threads), "100", "50", str(a.seconds + 30)])
    top = None
    try:
        time.sleep(2)
        top = subprocess.Popen([top_bin, "top", "--json", "--interval", a.interval],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(5)  # start-up (probe loading) is not the steady cost
        ticks = os.sysconf("SC_CLK_TCK")
        progs = prog_cost.process_programs(top.pid)
        with prog_cost.RunStats():
            before = prog_cost.prog_stats(set(progs))
            c0, t0 = cpu_ticks(top.pid), time.monotonic()
            time.sleep(a.seconds)
            c1, t1 = cpu_ticks(top.pid), time.monotonic()
            after = prog_cost.prog_stats(set(progs))
        wall = t1 - t0
        own = 100.0 * (c1 - c0) / ticks / wall
        rows, bpf_ns = [], 0
        for pid_, hooks in progs.items():
            if pid_ not in before or pid_ not in after:
                continue
            ns = after[pid_][1] - before[pid_][1]
            runs = after[pid_][2] - before[pid_][2]
            bpf_ns += ns
            if runs:
                rows.append((ns, " ".join(hooks), runs))
        bpf = 100.0 * bpf_ns / 1e9 / wall
        print(f"| interval | threads | own CPU % | BPF % | total % |\n|---|---|---|---|---|\n"
              f"| {a.interval} s | {a.threads} | {own:.2f} | {bpf:.2f} | {own + bpf:.2f} |\n")
        print("| program | runs/s | ns per run | % of one core |\n|---|---|---|---|")
        for ns, hook, runs in sorted(rows, reverse=True)[:8]:
            print(f"| {hook} | {runs / wall:,.0f} | {ns / runs:,.0f} | {100.0 * ns / 1e9 / wall:.2f} |")
    finally:
        for p in (top, crowd):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()

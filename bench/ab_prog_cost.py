#!/usr/bin/env python3
"""Two perfbpf binaries' BPF programs, ns per run, measured alternately under one workload.

For A/B work on a BPF program: build the change, keep both binaries, and run
  sudo bench/ab_prog_cost.py --a /tmp/before/perfbpf --b build/perfbpf --only fio-randread
Each binary runs in a build dir of its own made of symlinks to BUILD's files (so every
other benchmark binary is the same), bench/prog_cost.sh --cost-reps 1 at a time, in pairs
whose order alternates (A B, B A, ...). Printed: each program's ns per run in every run and
the median per binary; with --ref PROGRAM, also each divided by that program's ns in the
same run. On this 2-vCPU VM the runs fall into states that move every program at once
(block_rq_complete ≈250 or ≈305 ns whatever the build, 2026-12-08): a ratio to a program
whose code the change left alone cancels the state.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROW = re.compile(r"^\| (\S+) \| (\S+) \| (\S+) \| ([\d,]+) \| (\d+) ")


def tree(build, binary, parent):
    """A build dir of symlinks to `build`'s files with perfbpf replaced by `binary`."""
    d = tempfile.mkdtemp(dir=parent)
    subprocess.run(["cp", "-as", os.path.abspath(build) + "/.", d], check=True)
    os.remove(os.path.join(d, "perfbpf"))
    shutil.copy2(binary, os.path.join(d, "perfbpf"))
    return d


def measure(here, build, only):
    """{program: ns per run} of one prog_cost.sh run."""
    env = dict(os.environ, BUILD=build)
    out = subprocess.run([os.path.join(here, "prog_cost.sh"), "--only", only, "--cost-reps", "1"],
                         env=env, check=True, capture_output=True, text=True).stdout
    ns = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m and m.group(2) != "hook":
            ns[m.group(3)] = int(m.group(5))
    if not ns:
        sys.exit("ab_prog_cost.py: prog_cost.sh printed no program rows:\n" + out)
    return ns


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="the first perfbpf binary (e.g. before)")
    ap.add_argument("--b", required=True, help="the second perfbpf binary (e.g. after)")
    ap.add_argument("--only", required=True, help="one workload of bench/run.sh")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--ref", help="program to divide by (one the change left unchanged)")
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("ab_prog_cost.py: run as root (bench/prog_cost.sh loads BPF programs)")
    for b in (a.a, a.b):
        if not os.access(b, os.X_OK):
            sys.exit(f"ab_prog_cost.py: {b} is not an executable")
    here = os.path.dirname(os.path.abspath(__file__))
    parent = tempfile.mkdtemp(prefix="ab_prog_cost.")
    try:
        dirs = {"A": tree(a.build, a.a, parent), "B": tree(a.build, a.b, parent)}
        runs = {"A": [], "B": []}
        for i in range(a.pairs):
            for v in ("AB" if i % 2 == 0 else "BA"):
                runs[v].append(measure(here, dirs[v], a.only))
                print(f"[{i + 1}/{a.pairs}] {v} done", file=sys.stderr)
    finally:
        shutil.rmtree(parent, ignore_errors=True)

    progs = [p for p in runs["A"][0] if all(p in r for v in runs for r in runs[v])]
    print(f"{a.only}, {a.pairs} alternating pairs; A = {a.a}, B = {a.b}\n")
    print("| program | A: ns per run | B: ns per run | median A | median B |")
    print("|---|---|---|---|---|")
    for p in progs:
        va = [r[p] for r in runs["A"]]
        vb = [r[p] for r in runs["B"]]
        print(f"| {p} | {', '.join(map(str, va))} | {', '.join(map(str, vb))} | "
              f"{statistics.median(va):.0f} | {statistics.median(vb):.0f} |")
    if a.ref:
        if a.ref not in progs:
            sys.exit(f"ab_prog_cost.py: --ref {a.ref} is not among {', '.join(progs)}")
        print(f"\nDivided by {a.ref} in the same run:\n")
        print("| program | median A | median B | B / A |")
        print("|---|---|---|---|")
        for p in progs:
            ra = statistics.median(r[p] / r[a.ref] for r in runs["A"])
            rb = statistics.median(r[p] / r[a.ref] for r in runs["B"])
            print(f"| {p} | {ra:.3f} | {rb:.3f} | {rb / ra:.3f} |")


if __name__ == "__main__":
    main()

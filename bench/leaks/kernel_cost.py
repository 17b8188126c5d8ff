#!/usr/bin/env python3
"""Kernel mode's cost per event: `perfbpf trace --leaks --kernel -p PID` on a workload that
makes the kernel allocate, with the kernel's BPF run statistics on (BPF_ENABLE_STATS, held
for the run only: see bench/prog_cost.py). Prints ns per run of each of the tracer's
programs, and from the report the cost of sending a new user context (stack copy and ring
buffer write) and how many there were.

  sudo bench/leaks/kernel_cost.py build/perfbpf [--seconds 4]

Workloads: `pipes` (a C loop opening and closing a pipe, one call path: every allocation
after the first finds its user context known) and `tcp` (python3 over loopback: many call
paths through the interpreter, and softirq allocations on the target's CPU time).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from prog_cost import RunStats, process_programs, prog_stats  # noqa: E402

PIPES_C = r"""
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    double s = atof(argv[1]); struct timespec a, b; int fds[2];
    clock_gettime(CLOCK_MONOTONIC, &a);
    do { for (int i = 0; i < 1000; i++) if (pipe(fds) == 0) { close(fds[0]); close(fds[1]); }
         clock_gettime(CLOCK_MONOTONIC, &b);
    } while (b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9 < s);
    return 0;
}
"""

TCP_PY = r"""
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
end = time.time() + float(sys.argv[1]); buf = b"x" * 65536
while time.time() < end:
    c.sendall(buf); n = 0
    while n < len(buf): n += len(s.recv(1 << 20))
"""


def workload(name, tmp, seconds):
    if name == "pipes":
        exe = os.path.join(tmp, "pipes")
        subprocess.run(["cc", "-O2", "-fomit-frame-pointer", "-o", exe, "-x", "c", "-"],
                       input=PIPES_C, text=True, check=True)
        return [exe, str(seconds)]
    return ["python3", "-c", TCP_PY, str(seconds)]


def run(perfbpf, name, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        # The workload runs longer than the trace; statistics cover the trace's middle.
        target = subprocess.Popen(workload(name, tmp, seconds + 32))
        tracer = subprocess.Popen([perfbpf, "trace", "--leaks", "--kernel", "-p",
                                   str(target.pid), "--duration", str(seconds + 30), "--json",
                                   "-o", report], stderr=subprocess.DEVNULL)
        progs = {}
        for _ in range(300):  # until attached: ≈0.3 s quiet, seconds on a loaded machine
            time.sleep(0.1)
            progs = process_programs(tracer.pid)
            if len(progs) >= 4:
                break
        with RunStats():
            before = prog_stats(set(progs))
            time.sleep(seconds - 0.5)
            after = prog_stats(set(progs))
        tracer.send_signal(2)  # the report now (SIGINT ends the trace early)
        tracer.wait()
        target.kill()
        target.wait()
        with open(report) as f:
            counters = json.load(f)["counters"]
    print(f"== {name}")
    for pid_, hooks in sorted(progs.items(), key=lambda kv: kv[1]):
        if pid_ not in before or pid_ not in after:
            continue
        t = after[pid_][1] - before[pid_][1]
        n = after[pid_][2] - before[pid_][2]
        if n:
            print(f"{','.join(hooks):32s} {n:10d} runs {t / n:8.0f} ns/run")
    if counters.get("user_context_lookups"):
        n = counters["user_context_lookups"]
        print(f"user stacks per target allocation: {counters['user_context_lookup_ns'] / n:.0f} "
              f"ns ({n} allocations, contexts sent included)")
    sent = counters.get("user_contexts", 0)
    if sent:
        print(f"user contexts sent: {sent}, {counters['user_context_ns'] / sent:.0f} ns each "
              f"(lost {counters['user_contexts_lost']}); allocations in interrupts: "
              f"{counters['interrupt_allocs']}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("perfbpf")
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--only", choices=["pipes", "tcp"])
    args = ap.parse_args()
    for name in ["pipes", "tcp"]:
        if not args.only or args.only == name:
            run(args.perfbpf, name, args.seconds)


if __name__ == "__main__":
    main()

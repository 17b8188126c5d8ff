#!/usr/bin/env python3
"""The overhead harness behind bench/run.sh (which creates the loop device and removes it).

Each repetition runs every workload once in each configuration, the order of the
configurations rotating from one repetition to the next, so slow phases of a shared
machine fall on all of them alike. A configuration's tool is started before and stopped
after each single run, so every run of a workload sits next to its runs in the other
configurations. Per workload and configuration it reports the median and the spread
(min-max) of the runs, and the slowdown against alone as the median of the per-repetition
ratios (each a pair of neighbouring runs) with their min-max.

Slowdown is always "how much longer the work took": time with / time alone for the timed
workloads, throughput alone / throughput with for fio and iperf3. The CPU-cost table does
the same with the CPU time the workload's own processes used per unit of work, which is
steadier than wall time when other work competes for the CPUs.
"""

import argparse
import datetime
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

import prog_cost

CONFIGS = ["alone", "perfbpf", "floor", "peer"]

# A bpftrace version of the two histograms most tools start with, on tracepoints (the
# packaged biolatency.bt needs kprobes, which this kernel lacks; the packaged runqlat.bt
# includes <linux/sched.h>, which bpftrace 0.17 cannot parse with Debian 12's headers).
# The run-queue part is runqlat.bt's logic.
PEER_SCRIPT = r"""
BEGIN { printf("ready\n"); }
tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; }
tracepoint:sched:sched_switch {
	if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; }
	$ns = @qtime[args->next_pid];
	if ($ns) { @runq_usecs = hist((nsecs - $ns) / 1000); }
	delete(@qtime[args->next_pid]);
}
tracepoint:block:block_rq_issue { @start[args->dev, args->sector] = nsecs; }
tracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ {
	@block_usecs = hist((nsecs - @start[args->dev, args->sector]) / 1000);
	delete(@start[args->dev, args->sector]);
}
END { clear(@qtime); clear(@start); }
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Failed(Exception):
    pass


# ---------------------------------------------------------------------------------------
# Workloads: each run returns {"value": primary metric, "cpu_s": CPU seconds of its own
# processes, "work": units of work done (for CPU per unit)}.


def run_child(argv):
    """Runs argv to completion; returns (stdout, wall seconds)."""
    t0 = time.monotonic()
    # A process group of its own, so that stopping it reaches the processes it forked
    # (perf bench's workers).
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate()
    except BaseException:  # stopped (SIGTERM, Ctrl-C): the workload goes too
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise Failed(f"{' '.join(argv)} exited {p.returncode}: {err.decode(errors='replace')[-400:]}")
    return out.decode(errors="replace"), wall


class Workload:
    name = ""
    metric = ""  # what `value` is
    unit = ""
    higher_is_better = False

    def run(self):
        raise NotImplementedError

    def slowdown(self, alone, other):
        return alone / other if self.higher_is_better else other / alone


def children_cpu_s():
    """CPU time of this process's reaped children. A workload's run is reaped before the
    tool of its configuration is, so the growth across a run is the workload's own."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Fio(Workload):
    name = "fio-randread"
    metric = "IOPS"
    unit = "IOPS"
    higher_is_better = True

    def __init__(self, device, seconds):
        self.device, self.seconds = device, seconds

    def run(self):
        cpu0 = children_cpu_s()
        out, _ = run_child(["fio", "--name=randread", f"--filename={self.device}",
                            "--rw=randread", "--bs=4k", "--direct=1", "--ioengine=libaio",
                            "--iodepth=32", "--ramp_time=0.5", f"--runtime={self.seconds}",
                            "--time_based", "--output-format=json"])
        job = json.loads(out)["jobs"][0]["read"]
        return {"value": job["iops"], "cpu_s": children_cpu_s() - cpu0,
                "work": job["total_ios"]}


class Iperf(Workload):
    name = "tcp-loopback"
    metric = "throughput"
    unit = "Gbit/s"
    higher_is_better = True

    def __init__(self, port, seconds, extra):
        self.port, self.seconds, self.extra = port, seconds, extra

    def run(self):
        out, _ = run_child(["iperf3", "-c", "127.0.0.1", "-p", str(self.port), "-t",
                            str(self.seconds), "-J"] + self.extra)
        end = json.loads(out)["end"]
        bps = end["sum_received"]["bits_per_second"]
        # Sender and receiver (the server is a process of its own): user + system, which
        # includes the loopback softirq work they do.
        cpu = end["cpu_utilization_percent"]
        cpu_s = (cpu["host_total"] + cpu["remote_total"]) / 100 * self.seconds
        return {"value": bps / 1e9, "cpu_s": cpu_s, "work": bps * self.seconds / 8}


class Timed(Workload):
    """A command whose time is the metric: its wall time, or the time it reports itself
    (the first group of `reported`, a regex on its stdout)."""

    unit = "s"
    metric = "time"

    def __init__(self, name, argv, work, reported=None):
        self.name, self.argv, self.work, self.reported = name, argv, work, reported

    def run(self):
        cpu0 = children_cpu_s()
        out, wall = run_child(self.argv)
        if self.reported:
            m = re.search(self.reported, out)
            if not m:
                raise Failed(f"{self.name}: no match for {self.reported!r} in its output")
            wall = float(m.group(1))
        return {"value": wall, "cpu_s": children_cpu_s() - cpu0, "work": self.work}


# ---------------------------------------------------------------------------------------
# Configurations: a tool started before a run and stopped after it.


class Tool:
    """A background process that is ready once `ready(output)` holds."""

    def __init__(self, name, argv, out_path, ready, timeout_s=30):
        self.name, self.argv, self.out_path, self.ready = name, argv, out_path, ready
        self.timeout_s = timeout_s
        self.proc = self.out = self.err = None

    def start(self):
        self.out = open(self.out_path, "w+")
        self.err = open(self.out_path + ".err", "w+")
        self.proc = subprocess.Popen(self.argv, stdout=self.out, stderr=self.err)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failed(f"{self.name} exited {self.proc.returncode}: {self.stderr()}")
            with open(self.out_path) as f:
                if self.ready(f.read()):
                    return
            time.sleep(0.02)
        self.stop()
        raise Failed(f"{self.name} not ready after {self.timeout_s} s: {self.stderr()}")

    def stderr(self):
        with open(self.out_path + ".err") as f:
            return f.read()[-400:].strip()

    def stop(self):
        """Stops the tool (SIGINT, as a user would) and returns what it printed; safe to
        call again."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        for f in (self.out, self.err):
            if f:
                f.close()
        if not os.path.exists(self.out_path):
            return ""
        with open(self.out_path) as f:
            return f.read()


class Config:
    def __init__(self, name, make_tool=None, check=None):
        self.name, self.make_tool, self.check = name, make_tool, check
        self.notes = {}

    def run(self, workload):
        if not self.make_tool:
            return workload.run()
        tool = self.make_tool()
        try:
            tool.start()
            result = workload.run()
        finally:
            output = tool.stop()
        if self.check:
            self.check(output, result)
        return result


def top_output_check(config):
    """Every run under perfbpf must have produced intervals; drops are added up."""

    def check(output, result):
        lines = [l for l in output.splitlines() if l.startswith("{")]
        if not lines:
            raise Failed("perfbpf top printed no interval")
        first = json.loads(lines[0])
        attached = sorted(p["probe"] for p in first.get("probes", [])
                          if p.get("attached") and p.get("family") != "procfs")
        config.notes["probes"] = attached
        result["drops"] = sum(json.loads(l).get("drops", {}).get("total", 0) for l in lines)

    return check


def floor_output_check(config):
    def check(output, result):
        m = re.search(r"floor: \d+ programs: (.*)", output)
        config.notes["probes"] = sorted(m.group(1).split()) if m else []

    return check


# ---------------------------------------------------------------------------------------
# Statistics and output.


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def fmt_value(s, unit):
    digits = 0 if unit == "IOPS" else 3 if unit == "s" else 2
    f = lambda v: f"{v:,.{digits}f}" if unit == "IOPS" else f"{v:.{digits}f}"
    return f"{f(s['median'])} ({f(s['min'])}–{f(s['max'])})"


def fmt_ratio(s):
    if s is None:
        return "–"
    if s["n"] == 1:
        return f"{s['median']:.3f}×"
    return f"{s['median']:.3f}× ({s['min']:.2f}–{s['max']:.2f})"


def overhead_vs_floor(ratios):
    p, f = ratios.get("perfbpf"), ratios.get("floor")
    if not p or not f:
        return None
    if f["median"] - 1 <= 0.005:
        return None  # the floor's overhead is below what this run can resolve
    return (p["median"] - 1) / (f["median"] - 1)


def summarize(workloads, runs, configs):
    out = {}
    for w in workloads:
        per = runs[w.name]
        entry = {"metric": w.metric, "unit": w.unit, "higher_is_better": w.higher_is_better,
                 "configs": {}, "slowdown": {}, "cpu_slowdown": {}}
        for c in configs:
            vals = [r[c]["value"] for r in per if c in r]
            if vals:
                entry["configs"][c] = {**spread(vals), "runs": [r[c] for r in per if c in r]}
        for c in configs[1:]:
            pairs = [r for r in per if c in r and "alone" in r]
            if not pairs:
                continue
            entry["slowdown"][c] = spread([w.slowdown(r["alone"]["value"], r[c]["value"])
                                           for r in pairs])
            # CPU per unit of work, with / alone.
            entry["cpu_slowdown"][c] = spread([
                (r[c]["cpu_s"] / r[c]["work"]) / (r["alone"]["cpu_s"] / r["alone"]["work"])
                for r in pairs if r["alone"]["cpu_s"] > 0])
        entry["perfbpf_overhead_vs_floor"] = overhead_vs_floor(entry["slowdown"])
        out[w.name] = entry
    return out


def markdown(summary, workloads, configs):
    names = {"alone": "alone", "perfbpf": "perfbpf", "floor": "floor", "peer": "peer"}
    head = ["workload", "metric"] + [names[c] for c in configs] + \
           [f"{c}/alone" for c in configs[1:]] + ["perfbpf ÷ floor overhead"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in workloads:
        e = summary[w.name]
        row = [w.name, f"{w.metric} ({w.unit})"]
        row += [fmt_value(e["configs"][c], w.unit) if c in e["configs"] else "–" for c in configs]
        row += [fmt_ratio(e["slowdown"].get(c)) for c in configs[1:]]
        ov = e["perfbpf_overhead_vs_floor"]
        row.append(f"{ov:.2f}" if ov is not None else "floor ≈ alone")
        lines.append("| " + " | ".join(row) + " |")
    cpu = ["", "CPU time of the workload per unit of work, slowdown against alone:", "",
           "| workload | " + " | ".join(configs[1:]) + " |", "|---|" + "---|" * (len(configs) - 1)]
    for w in workloads:
        e = summary[w.name]
        cpu.append(f"| {w.name} | " +
                   " | ".join(fmt_ratio(e["cpu_slowdown"].get(c)) for c in configs[1:]) + " |")
    return "\n".join(lines + cpu)


def pipeline_results(build, quick, work):
    path = os.path.join(work, "pipeline.json")
    argv = [os.path.join(build, "bench/pipeline_bench"), "--benchmark_format=json",
            f"--benchmark_out={path}", "--benchmark_out_format=json",
            "--benchmark_min_time=" + ("0.05" if quick else "0.5")]
    if not quick:
        argv.append("--benchmark_repetitions=3")
        argv.append("--benchmark_report_aggregates_only=true")
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            out[b["run_name"]] = {"error": b.get("error_message", "")}
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        out[b["run_name"]] = {"records_per_s": b.get("items_per_second", 0),
                              "ns_per_interval": b["real_time"]}
    return out


def pipeline_markdown(p):
    lines = ["| benchmark | records/s (one core) | time per interval |", "|---|---|---|"]
    for name, r in p.items():
        if "error" in r:
            lines.append(f"| {name} | skipped: {r['error']} | |")
        else:
            lines.append(f"| {name} | {r['records_per_s'] / 1e6:.2f} M | "
                         f"{r['ns_per_interval'] / 1e3:.0f} µs |")
    return "\n".join(lines)


def targets(summary, pipeline):
    """The issue's targets, each with the number that decides it (wall-time slowdowns, as
    in the table) and, where it helps to tell an effect from noise, the CPU-time view."""
    out = []
    pinned = summary.get("sched-pipe-pinned")
    if pinned and "perfbpf" in pinned["slowdown"]:
        r = pinned["slowdown"]["perfbpf"]
        out.append({"target": "pinned sched pipe with perfbpf ≤ 1.15× alone",
                    "measured": f"{fmt_ratio(r)}", "met": r["median"] <= 1.15})
        ov = pinned["perfbpf_overhead_vs_floor"]
        target = "pinned sched pipe: perfbpf's overhead ≤ 1.5× the floor's"
        cpu = overhead_vs_floor(pinned["cpu_slowdown"])
        cpu_note = (f"; in CPU time {pinned['cpu_slowdown']['perfbpf']['median']:.3f}× against "
                    f"{pinned['cpu_slowdown']['floor']['median']:.3f}×: {cpu:.2f}×"
                    if cpu is not None else "")
        if ov is None:
            out.append({"target": target, "measured": "the floor's overhead is below this "
                        "run's resolution" + cpu_note, "met": None})
        else:
            out.append({"target": target,
                        "measured": f"{ov:.2f}× (perfbpf {r['median']:.3f}×, floor "
                                    f"{pinned['slowdown']['floor']['median']:.3f}×{cpu_note})",
                        "met": ov <= 1.5})
    fio = summary.get("fio-randread")
    if fio and "perfbpf" in fio["slowdown"]:
        a, p = fio["configs"]["alone"], fio["configs"]["perfbpf"]
        r = fio["slowdown"]["perfbpf"]
        within = a["min"] <= p["median"] <= a["max"] or r["median"] <= 1.02
        out.append({"target": "fio IOPS unchanged within noise (perfbpf's median IOPS within "
                              "the alone runs' range, or a slowdown ≤ 1.02×)",
                    "measured": f"slowdown {fmt_ratio(r)}; median IOPS {p['median']:,.0f} "
                                f"against alone {a['median']:,.0f} ({a['min']:,.0f}–"
                                f"{a['max']:,.0f})", "met": within})
    interval = {k: v for k, v in pipeline.items() if k.startswith("BM_Interval") and "error" not in v}
    for name, r in interval.items():
        rate = r["records_per_s"]
        threads = name.rsplit("/", 1)[-1]
        out.append({"target": f"event pipeline ≥ 5 M records/s per core ({threads} threads)",
                    "measured": f"{rate / 1e6:.2f} M/s", "met": rate >= 5e6})
    return out


def targets_markdown(t):
    word = {True: "met", False: "**missed**", None: "not measurable"}
    return "\n".join(f"- {x['target']}: {x['measured']} — {word[x['met']]}" for x in t)


def prog_cost_report(costs, reps):
    return "\n".join([f"Per-program cost (kernel BPF run statistics; perfbpf top and the floor's "
                      f"empty programs attached together; median and min–max of {reps} run(s)):",
                      "", prog_cost.markdown(costs)])


def prog_costs(workloads, make_top, make_floor, reps):
    """The per-program cost table: each workload `reps` times with perfbpf top and the
    per-hook floor attached together and the kernel's run statistics on."""
    out = {}
    for w in workloads:
        per_rep = []
        for rep in range(reps):
            top, floor = make_top(), make_floor()
            try:
                top.start()
                floor.start()
                per_rep.append(prog_cost.measure(top.proc.pid, floor.proc.pid, w.run))
            finally:
                floor.stop()
                top.stop()
            log(f"[{rep + 1}/{reps}] {w.name:18s} program costs measured")
        out[w.name] = prog_cost.summarize(per_rep)
    return out


# ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--loop", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--only")
    ap.add_argument("--out")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--prog-cost-only", action="store_true")
    ap.add_argument("--cost-reps", type=int)
    args = ap.parse_args()
    quick = args.quick
    reps = args.reps or (1 if quick else 7)
    build, work = args.build, args.work
    started = time.monotonic()

    port = 20000 + os.getpid() % 10000
    secs = 1 if quick else 3
    # Sizes for about a second each here (unpinned pipe is slow on this VM: every wakeup
    # crosses to the other, often idle, vCPU).
    pipe_loops = 15000 if quick else 50000
    pinned_loops = 50000 if quick else 200000
    perf_time = r"Total time:\s*([0-9.]+)"
    workloads = [
        Timed("sched-messaging", ["perf", "bench", "sched", "messaging", "-l",
                                  "30" if quick else "150"], 1, perf_time),
        Timed("sched-pipe", ["perf", "bench", "sched", "pipe", "-l", str(pipe_loops)],
              pipe_loops, perf_time),
        Timed("sched-pipe-pinned", ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-l",
                                    str(pinned_loops)], pinned_loops, perf_time),
        Fio(args.loop, secs),
        Iperf(port, secs, os.environ.get("IPERF_ARGS", "").split()),
        Timed("malloc-heavy", [os.path.join(build, "bench/malloc_heavy"),
                               "10000000" if quick else "50000000"], 1),
    ]
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {w.name for w in workloads}
        if unknown:
            sys.exit(f"overhead.py: unknown workload(s) {', '.join(sorted(unknown))}")
        workloads = [w for w in workloads if w.name in wanted]

    # An empty configuration: top and the floor then both use the built-in defaults (the
    # floor's cpu-clock rate must be top's), whatever /etc/perfbpf holds.
    empty_config = os.path.join(work, "empty.toml")
    open(empty_config, "w").close()
    configs = {"alone": Config("alone")}
    configs["perfbpf"] = Config("perfbpf", lambda: Tool(
        "perfbpf top", [os.path.join(build, "perfbpf"), "top", "--json", "--interval", "1",
                        "--config", empty_config],
        os.path.join(work, "top.out"), lambda out: "\n" in out))
    configs["perfbpf"].check = top_output_check(configs["perfbpf"])
    configs["floor"] = Config("floor", lambda: Tool(
        "floor_load", [os.path.join(build, "bench/floor_load")], os.path.join(work, "floor.out"),
        lambda out: "ready\n" in out))
    configs["floor"].check = floor_output_check(configs["floor"])
    peer_reason = None
    if args.no_peer:
        peer_reason = "--no-peer"
    elif subprocess.run(["sh", "-c", "command -v bpftrace && command -v unshare"],
                        stdout=subprocess.DEVNULL).returncode != 0:
        peer_reason = "bpftrace or unshare not installed"
    else:
        script = os.path.join(work, "peer.bt")
        with open(script, "w") as f:
            f.write(PEER_SCRIPT)
        # tracefs only inside a private mount namespace: the host's mounts stay as they are.
        configs["peer"] = Config("peer", lambda: Tool(
            "bpftrace", ["unshare", "-m", "--propagation", "private", "sh", "-c",
                         "mount -t tracefs nodev /sys/kernel/tracing && exec bpftrace -B line "
                         + script], os.path.join(work, "peer.out"),
            lambda out: "ready\n" in out, timeout_s=60))
    order = [c for c in CONFIGS if c in configs]
    cost_reps = args.cost_reps or (1 if quick else 3)
    floor_per_hook = lambda: Tool(
        "floor_load --per-hook", [os.path.join(build, "bench/floor_load"), "--per-hook"],
        os.path.join(work, "floor-per-hook.out"), lambda out: "ready\n" in out)

    server = subprocess.Popen(["iperf3", "-s", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    runs = {w.name: [] for w in workloads}
    try:
        time.sleep(0.3)
        if args.prog_cost_only:
            costs = prog_costs(workloads, configs["perfbpf"].make_tool, floor_per_hook, cost_reps)
            print(prog_cost_report(costs, cost_reps))
            return

        # The peer must work here before it is measured; a failure is reported, not fatal.
        if "peer" in configs:
            t = configs["peer"].make_tool()
            try:
                t.start()
            except Failed as e:
                peer_reason = f"bpftrace does not run here: {e}"
                del configs["peer"]
                order.remove("peer")
            finally:
                t.stop()
        if peer_reason:
            log(f"peer left out: {peer_reason}")
        if not quick:
            log("warm-up: each workload once, alone (not counted)")
            for w in workloads:
                w.run()
        for rep in range(reps):
            rotated = order[rep % len(order):] + order[:rep % len(order)]
            for w in workloads:
                per = {}
                for c in rotated:
                    per[c] = configs[c].run(w)
                    log(f"[{rep + 1}/{reps}] {w.name:18s} {c:8s} {per[c]['value']:12.3f} {w.unit}")
                runs[w.name].append(per)
    finally:
        server.terminate()
        server.wait()

    log("per-program cost: perfbpf and the per-hook floor together, BPF run statistics on")
    server = subprocess.Popen(["iperf3", "-s", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        costs = prog_costs(workloads, configs["perfbpf"].make_tool, floor_per_hook, cost_reps)
    finally:
        server.terminate()
        server.wait()
    log("event pipeline: build/bench/pipeline_bench")
    pipeline = pipeline_results(build, quick, work)
    summary = summarize(workloads, runs, order)
    t = targets(summary, pipeline)
    elapsed = time.monotonic() - started
    load = os.getloadavg()
    probes_top = configs["perfbpf"].notes.get("probes", [])
    probes_floor = configs["floor"].notes.get("probes", [])
    header = (f"perfbpf overhead, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
              f"kernel {os.uname().release}, {os.cpu_count()} CPUs, {reps} repetition(s)"
              f"{' (--quick: smoke check, numbers not to be quoted)' if quick else ''}, "
              f"{elapsed / 60:.1f} min, load average at the end {load[0]:.2f}")
    notes = [f"perfbpf top attached {len(probes_top)} probes; the floor {len(probes_floor)}"
             + ("" if probes_top == probes_floor else " (**the sets differ**)") + ".",
             "peer: " + (peer_reason and f"left out ({peer_reason})" or
                         "bpftrace 0.17, run-queue latency (runqlat.bt's logic) and block latency "
                         "histograms on tracepoints (it covers the sched and block hooks only)"),
             "Values: median (min–max) of the runs; ratios: slowdown against alone (>1 = slower), "
             "median (min–max) of the per-repetition ratios."]
    drops = [r["perfbpf"].get("drops", 0) for per in runs.values() for r in per if "perfbpf" in r]
    notes.append(f"perfbpf's own lost-data counters over all its runs: {sum(drops)}.")
    report = "\n".join([header, "", markdown(summary, workloads, order), "",
                        "Event pipeline (build/bench/pipeline_bench, synthetic records):", "",
                        pipeline_markdown(pipeline), "", prog_cost_report(costs, cost_reps), "",
                        "Targets:", "", targets_markdown(t), "",
                        *[f"- {n}" for n in notes]])
    print(report, flush=True)  # before the "wrote" lines on stderr, in a shared log

    out_dir = args.out or os.path.join(build, "bench-results")
    os.makedirs(out_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    result = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "kernel": os.uname().release, "cpus": os.cpu_count(), "reps": reps,
              "quick": quick, "elapsed_s": elapsed, "loadavg_end": load,
              "commit": subprocess.run(["git", "-C", os.path.dirname(__file__), "rev-parse",
                                        "HEAD"], capture_output=True, text=True).stdout.strip(),
              "peer": peer_reason or "bpftrace", "probes": {"perfbpf": probes_top,
                                                           "floor": probes_floor},
              "workloads": summary, "pipeline": pipeline, "prog_cost": costs, "targets": t}
    for ext, text in (("json", json.dumps(result, indent=1)), ("md", report + "\n")):
        path = os.path.join(out_dir, f"overhead-{stamp}.{ext}")
        with open(path, "w") as f:
            f.write(text)
        log(f"wrote {path}")


if __name__ == "__main__":
    # run.sh stops the harness with SIGTERM; unwinding runs every cleanup on the way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    except Failed as e:
        sys.exit(f"overhead.py: {e}")

"""Per-program cost for bench/overhead.py: ns per run of every BPF program perfbpf top
attached, next to the floor's empty program on the same hook, under one workload.

Both tools run at once, so each of our programs and its hook's empty program see the same
events under the same load: the difference is what our program's body costs. The kernel's
run statistics (run_time_ns, run_cnt per program) measure only the program, not the hook's
dispatch, and are far less disturbed by other work on a shared machine than wall time.

They are switched on with BPF_ENABLE_STATS, not the kernel.bpf_stats_enabled sysctl: the
kernel counts the references and drops ours when the fd closes (also when this process
dies), so nothing host-wide is left changed and another user's own reference is untouched.
"""

import ctypes
import json
import os
import statistics
import subprocess

BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0
BPF_PROG_TYPE_PERF_EVENT = "7"  # fdinfo prints the type's number
SYS_BPF = {"x86_64": 321, "aarch64": 280}


class RunStats:
    """The kernel's BPF run statistics, counted while this context is open."""

    def __enter__(self):
        nr = SYS_BPF.get(os.uname().machine)
        if nr is None:
            raise OSError(f"bpf(2) syscall number unknown for {os.uname().machine}")
        libc = ctypes.CDLL(None, use_errno=True)
        attr = (ctypes.c_uint32 * 32)()  # union bpf_attr, zeroed; enable_stats.type first
        attr[0] = BPF_STATS_RUN_TIME
        self.fd = libc.syscall(nr, BPF_ENABLE_STATS, ctypes.byref(attr), ctypes.sizeof(attr))
        if self.fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"BPF_ENABLE_STATS: {os.strerror(err)}")
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def fdinfo(pid, fd):
    out = {}
    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip()
    return out


def process_programs(pid):
    """{prog_id: [hook, ...]} for the BPF programs process pid holds: a raw tracepoint's
    hook from its link, a perf_event program's from its type (it is the cpu-clock sampler
    in both perfbpf and the floor). Programs held but not attached are left out."""
    progs, hooks = {}, {}
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
            if target == "anon_inode:bpf-prog":
                info = fdinfo(pid, fd)
                progs[int(info["prog_id"])] = info.get("prog_type")
            elif target == "anon_inode:bpf_link":
                info = fdinfo(pid, fd)
                if info.get("link_type") == "raw_tracepoint" and "tp_name" in info:
                    hooks.setdefault(int(info["prog_id"]), set()).add("raw_tp/" + info["tp_name"])
        except (OSError, KeyError, ValueError):
            continue  # an fd closed meanwhile, or one without the fields (not ours)
    out = {}
    for pid_, ptype in progs.items():
        if pid_ in hooks:
            out[pid_] = sorted(hooks[pid_])
        elif ptype == BPF_PROG_TYPE_PERF_EVENT:
            out[pid_] = ["perf_event/cpu-clock"]
    return out


def prog_stats(ids):
    """{prog_id: (name, run_time_ns, run_cnt)} from bpftool, for the ids given."""
    p = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                       check=True)
    out = {}
    for prog in json.loads(p.stdout):
        if prog["id"] in ids:
            out[prog["id"]] = (prog.get("name", "?"), prog.get("run_time_ns", 0),
                               prog.get("run_cnt", 0))
    return out


def measure(ours_pid, floor_pid, run_workload):
    """Runs the workload with statistics on; returns rows {hook, program, runs, ns_per_run,
    floor_ns_per_run} for every program of ours that ran, with the floor's on its hook."""
    ours, floor = process_programs(ours_pid), process_programs(floor_pid)
    ids = set(ours) | set(floor)
    with RunStats():
        before = prog_stats(ids)
        run_workload()
        after = prog_stats(ids)

    def delta(pid_):
        if pid_ not in before or pid_ not in after:
            return None
        return after[pid_][1] - before[pid_][1], after[pid_][2] - before[pid_][2]

    # Summed per hook: the floor's skeletons each hold a perf_event program, only one of
    # which is attached (the others add nothing).
    floor_by_hook = {}
    for pid_, hooks in floor.items():
        d = delta(pid_) or (0, 0)
        for h in hooks:
            t, n = floor_by_hook.get(h, (0, 0))
            floor_by_hook[h] = (t + d[0], n + d[1])
    rows = []
    for pid_, hooks in ours.items():
        d = delta(pid_)
        if not d or d[1] == 0:
            continue
        f = [floor_by_hook.get(h) for h in hooks]
        f = [x for x in f if x and x[1]]
        rows.append({"hook": " ".join(hooks), "program": after[pid_][0], "runs": d[1],
                     "ns_per_run": d[0] / d[1],
                     "floor_ns_per_run": (sum(x[0] for x in f) / sum(x[1] for x in f)
                                          if f else None)})
    return rows


def summarize(per_rep):
    """Rows of several repetitions of one workload -> one row per program: medians."""
    by = {}
    for rows in per_rep:
        for r in rows:
            by.setdefault((r["hook"], r["program"]), []).append(r)
    out = []
    for (hook, prog), rs in by.items():
        floors = [r["floor_ns_per_run"] for r in rs if r["floor_ns_per_run"] is not None]
        out.append({"hook": hook, "program": prog,
                    "runs": statistics.median(r["runs"] for r in rs),
                    "ns_per_run": statistics.median(r["ns_per_run"] for r in rs),
                    "ns_min": min(r["ns_per_run"] for r in rs),
                    "ns_max": max(r["ns_per_run"] for r in rs),
                    "floor_ns_per_run": statistics.median(floors) if floors else None})
    # Hottest first: total time our program took in the workload.
    out.sort(key=lambda r: -r["runs"] * r["ns_per_run"])
    return out


def markdown(by_workload):
    lines = ["| workload | hook | program | runs | ns/run (min–max) | floor ns/run | "
             "ours − floor |", "|---|---|---|---|---|---|---|"]
    for w, rows in by_workload.items():
        for r in rows:
            f = r["floor_ns_per_run"]
            lines.append(
                f"| {w} | {r['hook']} | {r['program']} | {r['runs']:,.0f} | "
                f"{r['ns_per_run']:.0f} ({r['ns_min']:.0f}–{r['ns_max']:.0f}) | "
                + (f"{f:.0f} | {r['ns_per_run'] - f:.0f} |" if f is not None else "– | – |"))
    return "\n".join(lines)

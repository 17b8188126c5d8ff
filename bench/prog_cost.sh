#!/usr/bin/env bash
# The per-program cost table alone (see bench/prog_cost.py): ns per run of every BPF
# program of perfbpf top next to the floor's empty program on the same hook, under the
# overhead benchmark's workloads. Takes run.sh's options (--only, --quick) and
# --cost-reps N (default 3).
#   sudo bench/prog_cost.sh --only sched-pipe-pinned,fio-randread,tcp-loopback,malloc-heavy
exec "$(cd "$(dirname "$0")" && pwd)/run.sh" --prog-cost-only "$@"

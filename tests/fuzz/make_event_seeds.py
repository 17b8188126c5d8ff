#!/usr/bin/env python3
"""Writes the seeds of fuzz_events (tests/fuzz/corpus/events/) in the byte program that
tests/fuzz/entries.cpp's events() reads: two bytes (CPUs, netns slots), then per interval
u64 interval_ns, u64 now_ns, records (an op byte and the record as the kernel lays it out,
include/perfbpf/*.h on x86-64), and a 0 byte. Run it again when a record's layout changes."""
import os
import struct

HIST = 32
NS = 1_000_000_000


def rec(size, fields):
    """A zero-filled record of `size` bytes with (offset, struct format, values) written."""
    b = bytearray(size)
    for off, fmt, *vals in fields:
        struct.pack_into("<" + fmt, b, off, *vals)
    return bytes(b)


def comm(name):
    return name.encode()[:15].ljust(16, b"\0")


def event(kind, tgid, ts, arg0=0, arg1=0, name="spin", size=64):
    r = rec(64, [(0, "IIII", kind, tgid, tgid, 1), (16, "QQQQ", ts, 7, arg0, arg1),
                 (48, "16s", comm(name))])
    r = r[:size].ljust(size, b"\0")
    return bytes([10, size // 2]) + r


def hist(buckets, fmt="Q"):
    h = [0] * HIST
    for i, n in buckets.items():
        h[i] = n
    return struct.pack("<%d%s" % (HIST, fmt), *h)


def sched_thread(pid, tgid, oncpu, wait, waits, flags=0, name="spin"):
    r = rec(232, [(0, "IIQQ", pid, tgid, 42, 5 * NS),
                  (24, "QQQQQQQ", oncpu, wait, oncpu // 2, waits, waits, waits // 3, 9 * NS),
                  (80, "I16s", flags, comm(name))])
    return bytes([1]) + r[:100] + hist({3: waits // 2, 7: waits - waits // 2}, "I")


def sched_cpu(cpu, busy, switches):
    r = rec(336, [(0, "QQQQQQ", busy, switches, busy // 10, switches // 2, switches * 2,
                   switches)])
    return bytes([2, cpu]) + r[:48] + hist({2: switches // 2, 9: switches // 2}) + r[304:]


def block_proc(tgid, rb, wb, rios, wios):
    return (bytes([3]) + struct.pack("<I", tgid) + struct.pack("<QQQQ", rb, wb, rios, wios)
            + hist({5: rios, 11: wios}))


def block_dev(queue, major, minor, rios, wios, rb, wb):
    head = rec(192, [(0, "IIQqqQII", major, minor, 1, 2, 4, 0, 0, 1),
                     (48, "QQ", rios, wios), (128, "QQQQ", 3, rb, wb, 0),
                     (160, "QQQQ", rios + wios, 0, 0, 0)])
    lat = hist({6: rios}) + hist({8: wios}) + hist({4: 3})
    return bytes([4]) + struct.pack("<Q", queue) + head + lat


def net_proc(tgid, tx, rx, retrans):
    return bytes([5]) + struct.pack("<I", tgid) + rec(56, [(0, "QQQ", tx, rx, retrans)])


def net_cpu(tx, rx, retrans, samples):
    r = bytearray(rec(4416, [(0, "QQQQQQ", tx, rx, retrans, 1, samples, samples * 10)]))
    r[48:48 + 8 * HIST] = hist({10: samples})
    struct.pack_into("<Q", r, 304 + 8 * (1 * 16 + 7), 2)  # ESTABLISHED -> CLOSE: a reset
    return bytes(r)


def net_ns(inum, tx, rx, samples, drops):
    fields = [(0, "II", inum, 0), (8, "QQQQQQQ", tx, rx, 1, 2, 0, 1, samples),
              (80, "QQQQQQQQQQQ", samples, samples * 65536, samples * 65536,
               samples * 212992, samples * 212992, samples * 1000, samples * 3000, 1, 2, 0, 0)]
    r = bytearray(rec(520, fields))
    r[168:168 + 8 * HIST] = hist({9: samples})
    struct.pack_into("<II", r, 424, 3, 0)  # way 0: reason 2 (NO_SOCKET) ...
    struct.pack_into("<Q", r, 456, drops)  # ... counted `drops` times
    return bytes(r)


def mem_live(tgid, rss, peak):
    return bytes([9]) + struct.pack("<III", tgid, rss, peak)


def mem_exit(tgid, rss, peak, code, ts, name="spin"):
    return bytes([0x89]) + rec(56, [(0, "IIIiQQQ", tgid, rss, peak, code, 100, 2, ts),
                                    (40, "16s", comm(name))])


def interval(now, *records):
    return struct.pack("<QQ", NS, now) + b"".join(records) + b"\0"


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "events")
    os.makedirs(out, exist_ok=True)
    seeds = {
        # A process starts, runs on two CPUs, grows, exits; an OOM kill elsewhere.
        "exec-run-exit": bytes([1, 0]) + interval(
            10 * NS, event(1, 1234, 9 * NS), sched_thread(1234, 1234, 3 * 10**8, 10**7, 40),
            sched_cpu(0, 6 * 10**8, 900), sched_cpu(1, 2 * 10**8, 300),
            mem_live(1234, 2560, 3000)) + interval(
            11 * NS, sched_thread(1234, 1234, 9 * 10**8, 3 * 10**7, 90, flags=1),
            sched_thread(1235, 1234, 10**8, 10**6, 5), sched_cpu(0, 14 * 10**8, 2000),
            event(2, 1234, 11 * NS - 5, arg0=256), mem_exit(1234, 0, 4096, 256, 11 * NS),
            event(3, 999, 11 * NS - 9, arg1=8192, name="hog")),
        # Disk and network counters over three intervals: growth, a reset (lower totals:
        # the key was reused), drops by reason and a namespace's slot on two CPUs.
        "block-net": bytes([1, 0]) + interval(
            10 * NS, block_proc(77, 1 << 20, 4 << 20, 16, 64),
            block_dev(0xffff888000001000, 8, 0, 16, 64, 1 << 20, 4 << 20),
            net_proc(77, 10**6, 2 * 10**6, 3), bytes([6]) + net_cpu(10**6, 2 * 10**6, 3, 50)
            + net_cpu(5 * 10**5, 10**5, 0, 20),
            bytes([7]) + net_ns(0xF0000001, 10**6, 10**6, 40, 5) + net_ns(0xF0000001, 10, 10, 1, 0),
            bytes([8]) + struct.pack("<IIQ", 0xF0000001, 9, 4)) + interval(
            11 * NS, block_proc(77, 3 << 20, 8 << 20, 48, 128),
            block_dev(0xffff888000001000, 8, 0, 48, 128, 3 << 20, 8 << 20),
            net_proc(77, 3 * 10**6, 5 * 10**6, 7), bytes([6]) + net_cpu(3 * 10**6, 5 * 10**6, 7, 90)
            + net_cpu(6 * 10**5, 2 * 10**5, 1, 30),
            bytes([0x87]) + net_ns(0xF0000001, 2 * 10**6, 3 * 10**6, 90, 9)
            + net_ns(0xF0000002, 10, 10, 1, 0),
            bytes([8]) + struct.pack("<IIQ", 0xF0000001, 9, 10)) + interval(
            12 * NS, block_proc(77, 1 << 10, 0, 1, 0), net_proc(77, 10, 0, 0)),
        # Ring records of the wrong length: short (dropped as malformed) and long.
        "ring-lengths": bytes([0, 0]) + interval(
            10 * NS, event(1, 50, NS, size=40), event(1, 51, NS, size=80),
            event(7, 52, NS), event(2, 2**31 + 5, NS, arg0=2**40)),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()

// What a tune number measures, so that plans, events and status show it in human units
// (KiB, MiB/s, ms, %). Declared once beside each knob (KnobSpec::unit) and each evidence value
// (Evidence::unit); format_quantity below, tune/text.h and sinks/tune_units.h turn a value
// and its unit into text.
#pragma once

#include <cstdint>
#include <string>

namespace perfbpf::tune {

enum class Unit : uint8_t {
    none,         // a plain number: a weight, a nice value, swappiness
    count,        // events in the window: reads, samples, drops
    bytes,        // 1536836583 -> 1.43 GiB
    kib,          // a value kept in KiB (read_ahead_kb, max_sectors_kb)
    share,        // a ratio 0..1, shown as a percentage (0.8 -> 80 %)
    pct,          // already a percentage (PSI)
    us,           // microseconds, shown as us, ms or s
    ms_per_s,     // waiting time per second of wall time
    per_s,        // events per second
    bytes_per_s,  // throughput
    cpus,         // CPU time per second of wall time
};

// 0.8 share -> "80 %", 1536836583 bytes -> "1.43 GiB", 1300 us -> "1.3 ms", 12e6 B/s ->
// "11.4 MiB/s", 568 count -> "568". Here rather than in sinks/ because the engine's
// verification verdicts (text kept in the journal) quote their metrics in these units too.
std::string format_quantity(double value, Unit unit);

}  // namespace perfbpf::tune

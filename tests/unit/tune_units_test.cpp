// tune's numbers in human units: one formatter for knob values, evidence and reasons.
#include <gtest/gtest.h>

#include "sinks/tune_units.h"

namespace perfbpf {
namespace {

using tune::Evidence;
using tune::KnobId;
using tune::KnobKind;
using tune::Scope;
using tune::Unit;

TEST(TuneUnits, FormatsEachUnit) {
    EXPECT_EQ(format_quantity(0.8, Unit::share), "80 %");
    EXPECT_EQ(format_quantity(0.774, Unit::share), "77 %");
    EXPECT_EQ(format_quantity(0.05, Unit::share), "5 %");
    EXPECT_EQ(format_quantity(0.1, Unit::pct), "0.1 %");
    EXPECT_EQ(format_quantity(568.0, Unit::count), "568");
    EXPECT_EQ(format_quantity(1'500'000, Unit::count), "1.5M");
    EXPECT_EQ(format_quantity(1536836583, Unit::bytes), "1.43 GiB");
    EXPECT_EQ(format_quantity(4096, Unit::bytes), "4 KiB");
    EXPECT_EQ(format_quantity(1280, Unit::kib), "1.25 MiB");
    EXPECT_EQ(format_quantity(128, Unit::kib), "128 KiB");
    EXPECT_EQ(format_quantity(1300, Unit::us), "1.3 ms");
    EXPECT_EQ(format_quantity(12.5, Unit::ms_per_s), "12.5 ms/s");
    EXPECT_EQ(format_quantity(3, Unit::per_s), "3/s");
    EXPECT_EQ(format_quantity(12 << 20, Unit::bytes_per_s), "12 MiB/s");
    EXPECT_EQ(format_quantity(1.95, Unit::cpus), "1.95 CPUs");
    EXPECT_EQ(format_quantity(100, Unit::none), "100");
    EXPECT_EQ(format_quantity(-5, Unit::none), "-5");
}

TEST(TuneUnits, KnobValuesInTheKnobsUnit) {
    const KnobId rmem{KnobKind::sysctl, "net.ipv4.tcp_rmem", Scope::host()};
    EXPECT_EQ(format_knob_value(rmem, "4096 131072 6291456"), "4 KiB / 128 KiB / 6 MiB");
    const KnobId ra{KnobKind::block_queue, "read_ahead_kb", Scope::device("sda")};
    EXPECT_EQ(format_knob_change(ra, "128", "2560"), "128 KiB -> 2.5 MiB");
    // Choices and unitless knobs as they are.
    const KnobId sched{KnobKind::block_queue, "scheduler", Scope::device("sda")};
    EXPECT_EQ(format_knob_change(sched, "none", "kyber"), "none -> kyber");
    const KnobId weight{KnobKind::cgroup, "cpu.weight", Scope::cgroup("/a")};
    EXPECT_EQ(format_knob_change(weight, "100", "400"), "100 -> 400");
}

TEST(TuneUnits, ReasonsQuoteTheEvidenceAsTheEvidenceLineShowsIt) {
    const tune::EvidenceList ev{{"rcvbuf_at_max_share", 0.774, Unit::share},
                                {"rx_bytes_per_s", 3 << 20, Unit::bytes_per_s}};
    const std::string words =
        render_reason("{rcvbuf_at_max_share} at the max while receiving {rx_bytes_per_s}", ev);
    EXPECT_EQ(words, "77 % at the max while receiving 3 MiB/s");
    EXPECT_EQ(format_evidence(ev), "rcvbuf_at_max 77 %, rx 3 MiB/s");
    // A name the evidence lacks stays visible.
    EXPECT_EQ(render_reason("{nope} left", ev), "{nope?} left");
    EXPECT_EQ(render_reason("no braces", ev), "no braces");
}

TEST(TuneUnits, LabelsKeepTheirNameWhenTheShortOneWouldClash) {
    const tune::EvidenceList ev{{"syn_drops_per_s", 30, Unit::per_s},
                                {"syn_drops", 150, Unit::count}};
    EXPECT_EQ(format_evidence(ev), "syn_drops_per_s 30/s, syn_drops 150");
}

}  // namespace
}  // namespace perfbpf

// Tune's evidence as text, each value in its unit (KiB, MiB/s, ms, %) the way a reason's
// {name} quotes it (tune/text.h, which the engine shares: knob values and reasons), so that
// the words and the evidence line show the same number the same way.
#pragma once

#include <string>
#include <string_view>

#include "tune/text.h"
#include "tune/tuner.h"
#include "tune/unit.h"

namespace perfbpf {

using tune::format_quantity;

// An evidence value's name without the unit its name spells ("rx_bytes_per_s" -> "rx",
// "read_seq_pct" -> "read_seq"), since the value carries the unit.
std::string evidence_label(const tune::Evidence& e);
// "read_ios 568, read_seq 92 %, avg_read 128 KiB, ..."
std::string format_evidence(const tune::EvidenceList& evidence);

}  // namespace perfbpf

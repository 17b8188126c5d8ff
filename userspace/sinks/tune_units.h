// The one place tune's numbers become text: knob values and evidence in their units
// (KiB, MiB/s, ms, %), and reasons whose {name} quotes an evidence value, so that the
// words and the evidence line show the same number the same way.
#pragma once

#include <string>
#include <string_view>

#include "tune/tuner.h"
#include "tune/unit.h"

namespace perfbpf {

using tune::format_quantity;

// A knob's value as read or proposed, in the knob's unit: "4 KiB / 128 KiB / 6 MiB" for
// tcp_rmem, "2.5 MiB" for read_ahead_kb 2560; "max", choices and unitless values unchanged.
std::string format_knob_value(const tune::KnobId& id, std::string_view value);
// "from -> to" in the knob's unit; exact KiB when the rounded forms would look the same.
std::string format_knob_change(const tune::KnobId& id, std::string_view from, std::string_view to);

// An evidence value's name without the unit its name spells ("rx_bytes_per_s" -> "rx",
// "read_seq_pct" -> "read_seq"), since the value carries the unit.
std::string evidence_label(const tune::Evidence& e);
// "read_ios 568, read_seq 92 %, avg_read 128 KiB, ..."
std::string format_evidence(const tune::EvidenceList& evidence);
// `text` with each {name} replaced by that evidence value in its unit; a name the evidence
// lacks is left as "{name?}" so that a test sees it.
std::string render_reason(std::string_view text, const tune::EvidenceList& evidence);

}  // namespace perfbpf

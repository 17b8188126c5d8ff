// Knob values and reasons as text, in their units. Here rather than in sinks/ for the reason
// format_quantity is (tune/unit.h): the engine's events and rollback lines, kept in the
// journal, quote them too; sinks/tune_units.h has the rest of tune's formatting.
#pragma once

#include <string>
#include <string_view>

#include "tune/knob.h"
#include "tune/tuner.h"

namespace perfbpf {

// A knob's value as read or proposed, in the knob's unit: "4 KiB / 128 KiB / 6 MiB" for
// tcp_rmem, "2.5 MiB" for read_ahead_kb 2560; "max", choices and unitless values unchanged.
std::string format_knob_value(const tune::KnobId& id, std::string_view value);
// "from -> to" in the knob's unit; exact KiB when the rounded forms would look the same.
std::string format_knob_change(const tune::KnobId& id, std::string_view from, std::string_view to);

// `text` with each {name} replaced by that evidence value in its unit; a name the evidence
// lacks is left as "{name?}" so that a test sees it.
std::string render_reason(std::string_view text, const tune::EvidenceList& evidence);

}  // namespace perfbpf

// What the tune engine hands out for the CLI and sinks to show: plan entries, rollback
// reports and status entries. Apart from the engine (tune/engine.h) so formatting in sinks/
// needs only these values, not the engine that computes them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tune/journal.h"
#include "tune/tuner.h"

namespace perfbpf::tune {

struct PlanEntry {
    std::string tuner;
    Recommendation rec;
    std::string display;   // the knob as users see it
    std::string original;  // from the journal when a change of ours is on it, else current
    std::string blocked;   // why auto mode would not apply it now ("" when it would)
    // A note (Recommendation::unavailable, also in `blocked`): no current or proposed value.
    bool is_note() const { return !rec.unavailable.empty(); }
};

struct RollbackReport {
    std::vector<std::string> lines;
    size_t restored = 0, already = 0, left_alone = 0, failures = 0;
    // Knobs of the journal this rollback looked at (after the filters), and of those the
    // ones closed before it: back at their original (reverted, rolled back) or someone
    // else's (overridden, gone).
    size_t in_journal = 0, restored_earlier = 0, left_alone_earlier = 0;
};

struct StatusEntry {
    KnobRecord record;
    std::string current;        // read now
    std::string current_error;  // why it could not be read
    // Whether a value of ours is on the knob now. The journal alone can be wrong: a kill
    // between a change record and its write leaves a change that never reached the knob,
    // so a readable knob decides.
    bool changed = false;
    std::string note;  // why the knob and the journal disagree, when they do
};

}  // namespace perfbpf::tune

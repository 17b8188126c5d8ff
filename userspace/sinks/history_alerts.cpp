#include "sinks/history_alerts.h"

#include <algorithm>
#include <cstdio>

#include "sinks/alert_receivers.h"

namespace perfbpf {
namespace {

std::string object_text(const Labels& l) {
    std::string out;
    for (const auto& [k, v] : l) out += (out.empty() ? "" : ",") + k + "=" + v;
    return out.empty() ? "host" : out;
}

std::string duration_text(int64_t ms) {
    const int64_t s = ms / 1000;
    char buf[32];
    if (s < 120)
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
    else if (s < 7200)
        std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(s / 60));
    else
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60));
    return buf;
}

}  // namespace

std::vector<AlertEpisode> alert_episodes(const std::vector<SeriesResult>& series, int64_t now_ms,
                                         int64_t stale_ms) {
    std::vector<AlertEpisode> out;
    for (const auto& s : series) {
        AlertEpisode base;
        for (const auto& [k, v] : s.key.labels) {
            if (k == "alert")
                base.alert = v;
            else if (k == "severity")
                base.severity = v;
            else
                base.object.emplace_back(k, v);
        }
        std::optional<AlertEpisode> open;
        int64_t last_ts = 0;
        for (const auto& p : s.points) {
            last_ts = p.ts_ms;
            if (p.value >= 0.5 && !open) {
                open = base;
                open->start_ms = p.ts_ms;
            } else if (p.value < 0.5 && open) {
                open->end_ms = p.ts_ms;
                out.push_back(*open);
                open.reset();
            }
        }
        if (open) {
            if (now_ms - last_ts > stale_ms) {
                open->end_ms = last_ts;
                open->daemon_stopped = true;
            }
            out.push_back(*open);
        }
    }
    std::ranges::sort(out, [](const AlertEpisode& a, const AlertEpisode& b) {
        if ((a.end_ms == 0) != (b.end_ms == 0)) return a.end_ms == 0;
        return a.start_ms > b.start_ms;
    });
    return out;
}

nlohmann::json alert_episodes_json(const std::vector<AlertEpisode>& episodes) {
    nlohmann::json j = {{"active", nlohmann::json::array()}, {"past", nlohmann::json::array()}};
    for (const auto& e : episodes) {
        nlohmann::json labels = nlohmann::json::object();
        for (const auto& [k, v] : e.object) labels[k] = v;
        nlohmann::json x = {{"alert", e.alert},
                            {"severity", e.severity},
                            {"labels", labels},
                            {"start", rfc3339_ms(e.start_ms)}};
        x["end"] = e.end_ms ? nlohmann::json(rfc3339_ms(e.end_ms)) : nlohmann::json(nullptr);
        if (e.daemon_stopped) x["daemon_stopped"] = true;
        j[e.end_ms ? "past" : "active"].push_back(std::move(x));
    }
    return j;
}

std::string render_alert_episodes(const std::vector<AlertEpisode>& episodes, int64_t now_ms) {
    if (episodes.empty()) return "no alerts in this range\n";
    std::string out;
    char line[1024];
    std::snprintf(line, sizeof line, "%-8s %-20s %-8s %-24s %-24s %-24s %s\n", "STATE", "ALERT",
                  "SEVERITY", "OBJECT", "SINCE", "UNTIL", "FOR");
    out += line;
    for (const auto& e : episodes) {
        const std::string until = e.end_ms == 0      ? "-"
                                  : e.daemon_stopped ? rfc3339_ms(e.end_ms) + "?"
                                                     : rfc3339_ms(e.end_ms);
        std::snprintf(line, sizeof line, "%-8s %-20s %-8s %-24s %-24s %-24s %s\n",
                      e.end_ms ? "resolved" : "FIRING", e.alert.c_str(), e.severity.c_str(),
                      object_text(e.object).c_str(), rfc3339_ms(e.start_ms).c_str(), until.c_str(),
                      duration_text((e.end_ms ? e.end_ms : now_ms) - e.start_ms).c_str());
        out += line;
    }
    return out;
}

}  // namespace perfbpf

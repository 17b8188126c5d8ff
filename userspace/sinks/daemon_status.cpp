#include "sinks/daemon_status.h"

#include <cstdio>

#include "sinks/json_sink.h"

namespace perfbpf {

using nlohmann::json;

json daemon_status_json(const DaemonStatus& s) {
    auto cost = [](double v) { return v < 0 ? json(nullptr) : json(v); };
    json receivers = json::object();
    for (const auto& [name, r] : s.alert_receivers)
        receivers[name] = {{"sent", r.sent},
                           {"failed", r.failed},
                           {"dropped", r.dropped},
                           {"queued", r.queued},
                           {"last_error", r.last_error}};
    json firing = json::array();
    for (const auto& a : s.firing)
        firing.push_back({{"alert", a.alert},
                          {"severity", severity_name(a.severity)},
                          {"summary", a.summary},
                          {"since_unix_ms", a.since_unix_ms}});
    const auto& rw = s.remote_write;
    const json remote_write = !rw.enabled ? json(nullptr)
                                          : json{{"sent_samples", rw.sent_samples},
                                                 {"failed_requests", rw.failed_requests},
                                                 {"dropped_queue_full", rw.dropped_queue_full},
                                                 {"dropped_rejected", rw.dropped_rejected},
                                                 {"queued_samples", rw.queued_samples},
                                                 {"last_error", rw.last_error}};
    return {{"pid", s.pid},
            {"started_unix_ms", s.started_unix_ms},
            {"updated_unix_ms", s.updated_unix_ms},
            {"state_dir", s.state_dir},
            {"config_path", s.config_path},
            {"interval_s", s.interval_s},
            {"intervals", s.intervals},
            {"series", s.series},
            {"history",
             {{"bytes", s.history_bytes},
              {"samples", s.history_samples},
              {"dropped_intervals", s.history_dropped_intervals},
              {"paused", s.history_paused},
              {"error", s.history_error}}},
            {"governor",
             {{"level", s.governor_level},
              {"shed", s.governor_shed},
              {"budget_pct", s.budget_pct},
              {"own_cpu_pct", cost(s.cost_own_cpu_pct)},
              {"bpf_pct", cost(s.cost_bpf_pct)}}},
            {"probes", probe_status_json(s.probes)},
            {"probe_retries", s.probe_retries},
            {"drops", s.drops},
            {"alerts", {{"firing", s.alerts_firing}, {"active", firing}, {"receivers", receivers}}},
            {"remote_write", remote_write}};
}

Result<DaemonStatus> daemon_status_from_json(const json& j) {
    if (!j.is_object()) return fail("daemon status: not a JSON object");
    try {
        DaemonStatus s;
        s.pid = j.at("pid").get<int>();
        s.started_unix_ms = j.at("started_unix_ms").get<int64_t>();
        s.updated_unix_ms = j.at("updated_unix_ms").get<int64_t>();
        s.state_dir = j.at("state_dir").get<std::string>();
        s.config_path = j.at("config_path").get<std::string>();
        s.interval_s = j.at("interval_s").get<double>();
        s.intervals = j.at("intervals").get<uint64_t>();
        s.series = j.at("series").get<uint64_t>();
        const json& h = j.at("history");
        s.history_bytes = h.at("bytes").get<uint64_t>();
        s.history_samples = h.at("samples").get<uint64_t>();
        s.history_dropped_intervals = h.at("dropped_intervals").get<uint64_t>();
        s.history_paused = h.at("paused").get<bool>();
        s.history_error = h.at("error").get<std::string>();
        const json& g = j.at("governor");
        s.governor_level = g.at("level").get<int>();
        s.governor_shed = g.at("shed").get<std::string>();
        s.budget_pct = g.at("budget_pct").get<double>();
        s.cost_own_cpu_pct = g.at("own_cpu_pct").is_null() ? -1 : g.at("own_cpu_pct").get<double>();
        s.cost_bpf_pct = g.at("bpf_pct").is_null() ? -1 : g.at("bpf_pct").get<double>();
        for (const json& p : j.at("probes"))
            s.probes.push_back(
                ProbeStatus{p.at("family").get<std::string>(), p.at("probe").get<std::string>(),
                            p.at("attached").get<bool>(), p.at("core").get<bool>(),
                            p.at("reason").get<std::string>(), p.at("skipped").get<bool>()});
        s.probe_retries = j.at("probe_retries").get<std::map<std::string, std::string>>();
        s.drops = j.at("drops").get<std::map<std::string, uint64_t>>();
        // Written by a daemon from before alerting: no "alerts".
        if (j.contains("alerts")) {
            s.alerts_firing = j["alerts"].at("firing").get<uint64_t>();
            // A daemon from before the list: the count alone.
            if (j["alerts"].contains("active"))
                for (const json& a : j["alerts"]["active"]) {
                    auto sev = parse_severity(a.at("severity").get<std::string>());
                    if (!sev)
                        return fail("daemon status: alert severity " +
                                    a.at("severity").get<std::string>());
                    s.firing.push_back({a.at("alert").get<std::string>(), *sev,
                                        a.at("summary").get<std::string>(),
                                        a.at("since_unix_ms").get<int64_t>()});
                }
            for (const auto& [name, r] : j["alerts"].at("receivers").items())
                s.alert_receivers[name] = {
                    r.at("sent").get<uint64_t>(), r.at("failed").get<uint64_t>(),
                    r.at("dropped").get<uint64_t>(), r.at("queued").get<uint64_t>(),
                    r.at("last_error").get<std::string>()};
        }
        // null when off; absent in files of a daemon from before remote write.
        if (j.contains("remote_write") && !j["remote_write"].is_null()) {
            const json& r = j["remote_write"];
            s.remote_write = {.enabled = true,
                              .sent_samples = r.at("sent_samples").get<uint64_t>(),
                              .failed_requests = r.at("failed_requests").get<uint64_t>(),
                              .dropped_queue_full = r.at("dropped_queue_full").get<uint64_t>(),
                              .dropped_rejected = r.at("dropped_rejected").get<uint64_t>(),
                              .queued_samples = r.at("queued_samples").get<uint64_t>(),
                              .last_error = r.at("last_error").get<std::string>()};
        }
        return s;
    } catch (const json::exception& e) {
        return fail(std::string("daemon status: ") + e.what());
    }
}

std::string render_daemon_status(const DaemonStatus& s, int64_t now_unix_ms) {
    std::string out;
    char line[512];
    auto add = [&](const char* fmt, auto... args) {
        std::snprintf(line, sizeof line, fmt, args...);
        out += line;
    };
    add("perfbpf daemon, pid %d, up %.0f s, last interval %.1f s ago\n", s.pid,
        (s.updated_unix_ms - s.started_unix_ms) / 1000.0,
        (now_unix_ms - s.updated_unix_ms) / 1000.0);
    add("  state dir   %s\n", s.state_dir.c_str());
    add("  config      %s\n", s.config_path.empty() ? "(defaults)" : s.config_path.c_str());
    add("  interval    %.3g s, %llu collected, %llu series in the last\n", s.interval_s,
        static_cast<unsigned long long>(s.intervals), static_cast<unsigned long long>(s.series));
    add("  history     %.1f MiB, %llu intervals not written%s%s\n", s.history_bytes / 1048576.0,
        static_cast<unsigned long long>(s.history_dropped_intervals),
        s.history_paused ? ", PAUSED: " : "", s.history_paused ? s.history_error.c_str() : "");
    if (s.cost_own_cpu_pct < 0)
        add("  cost        not measured yet (budget %.2f %% of one CPU)\n", s.budget_pct);
    else
        add("  cost        %.2f %% own CPU + %.2f %% BPF of one CPU (budget %.2f %%)\n",
            s.cost_own_cpu_pct, s.cost_bpf_pct < 0 ? 0.0 : s.cost_bpf_pct, s.budget_pct);
    add("  governor    level %d%s%s\n", s.governor_level,
        s.governor_shed.empty() ? "" : ": shedding ", s.governor_shed.c_str());
    uint64_t dropped = 0;
    for (const auto& [kind, n] : s.drops) dropped += n;
    add("  lost events %llu since start\n", static_cast<unsigned long long>(dropped));
    add("  alerts      %llu firing\n", static_cast<unsigned long long>(s.alerts_firing));
    for (const auto& a : s.firing)
        add("    %-8s %s (for %.0f s)\n", severity_name(a.severity), a.summary.c_str(),
            (now_unix_ms - a.since_unix_ms) / 1000.0);
    for (const auto& [name, r] : s.alert_receivers)
        add("    %-12s sent %llu, failed %llu, dropped %llu, queued %llu%s%s\n", name.c_str(),
            static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.failed),
            static_cast<unsigned long long>(r.dropped), static_cast<unsigned long long>(r.queued),
            r.last_error.empty() ? "" : "; last error: ", r.last_error.c_str());
    if (const auto& rw = s.remote_write; rw.enabled)
        add("  remote write sent %llu samples, %llu posts failed, dropped %llu (queue full) + "
            "%llu (rejected), queued %llu%s%s\n",
            static_cast<unsigned long long>(rw.sent_samples),
            static_cast<unsigned long long>(rw.failed_requests),
            static_cast<unsigned long long>(rw.dropped_queue_full),
            static_cast<unsigned long long>(rw.dropped_rejected),
            static_cast<unsigned long long>(rw.queued_samples),
            rw.last_error.empty() ? "" : "; last error: ", rw.last_error.c_str());
    out += "  probes:\n";
    for (const auto& p : s.probes) {
        if (p.skipped) continue;
        add("    %-6s %-34s %s%s\n", p.family.c_str(), p.probe.c_str(),
            p.attached ? "attached" : "unavailable: ", p.attached ? "" : p.reason.c_str());
    }
    for (const auto& [family, when] : s.probe_retries)
        add("    %-6s retry: %s\n", family.c_str(), when.c_str());
    return out;
}

}  // namespace perfbpf

#include "config/config.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "tune/registry.h"
#include "util/files.h"
#include "util/listen_address.h"

namespace perfbpf {
namespace {

struct Range {
    double lo, hi;
};

// Thresholds by their TOML name; each entry points into the struct.
std::map<std::string, std::pair<double Thresholds::*, Range>> threshold_fields() {
    constexpr double kBig = 1e12;
    return {
        {"cpu_runq_p99_warn_us", {&Thresholds::cpu_runq_p99_warn_us, {0, kBig}}},
        {"cpu_runq_p99_crit_us", {&Thresholds::cpu_runq_p99_crit_us, {0, kBig}}},
        {"cpu_psi_some_warn_pct", {&Thresholds::cpu_psi_some_warn_pct, {0, 100}}},
        {"cpu_psi_some_crit_pct", {&Thresholds::cpu_psi_some_crit_pct, {0, 100}}},
        {"cpu_waiting_per_cpu_warn", {&Thresholds::cpu_waiting_per_cpu_warn, {0, kBig}}},
        {"cpu_waiting_per_cpu_crit", {&Thresholds::cpu_waiting_per_cpu_crit, {0, kBig}}},
        {"disk_util_warn_pct", {&Thresholds::disk_util_warn_pct, {0, 100}}},
        {"disk_util_crit_pct", {&Thresholds::disk_util_crit_pct, {0, 100}}},
        {"disk_p99_warn_us", {&Thresholds::disk_p99_warn_us, {0, kBig}}},
        {"disk_p99_crit_us", {&Thresholds::disk_p99_crit_us, {0, kBig}}},
        {"io_psi_some_warn_pct", {&Thresholds::io_psi_some_warn_pct, {0, 100}}},
        {"io_psi_some_crit_pct", {&Thresholds::io_psi_some_crit_pct, {0, 100}}},
        {"mem_psi_some_warn_pct", {&Thresholds::mem_psi_some_warn_pct, {0, 100}}},
        {"mem_psi_some_crit_pct", {&Thresholds::mem_psi_some_crit_pct, {0, 100}}},
        {"mem_available_warn_pct", {&Thresholds::mem_available_warn_pct, {0, 100}}},
        {"mem_available_crit_pct", {&Thresholds::mem_available_crit_pct, {0, 100}}},
        {"major_faults_warn_per_s", {&Thresholds::major_faults_warn_per_s, {0, kBig}}},
        {"swap_out_warn_pages_per_s", {&Thresholds::swap_out_warn_pages_per_s, {0, kBig}}},
        {"retrans_warn_per_s", {&Thresholds::retrans_warn_per_s, {0, kBig}}},
        {"retrans_crit_per_s", {&Thresholds::retrans_crit_per_s, {0, kBig}}},
        {"drops_warn_per_s", {&Thresholds::drops_warn_per_s, {0, kBig}}},
        {"drops_crit_per_s", {&Thresholds::drops_crit_per_s, {0, kBig}}},
    };
}

// The keys outside [thresholds], each handled by its own branch of parse_config.
constexpr const char* kTopInterval = "top.interval";
constexpr const char* kProbesSampleHz = "probes.sample_hz";
constexpr const char* kGeneralStateDir = "general.state_dir";

std::string fmt(double v) {
    std::ostringstream o;
    o << v;
    return o.str();
}

Result<double> number(const toml::node& node, const std::string& key, Range r,
                      const std::string& origin) {
    std::optional<double> v = node.value<double>();
    if (!v || node.is_boolean() || node.is_string())
        return fail(origin + ": " + key + " must be a number");
    // TOML has nan and inf literals; NaN would pass the range check below.
    if (!std::isfinite(*v)) return fail(origin + ": " + key + " must be a finite number");
    if (*v < r.lo || *v > r.hi)
        return fail(origin + ": " + key + " = " + fmt(*v) + " is out of range [" + fmt(r.lo) +
                    ", " + fmt(r.hi) + "]");
    return *v;
}

Result<void> set_number(double& out, const toml::node& node, const std::string& key, Range r,
                        const std::string& origin) {
    auto v = number(node, key, r, origin);
    if (!v) return std::unexpected(v.error());
    out = *v;
    return {};
}

// Keys of [daemon], [history], [alerting], [remote_write] and [anomaly], each with what it
// sets.
using KeySetter = Result<void> (*)(Config&, const toml::node&, const std::string& key,
                                   const std::string& origin);

Result<void> set_watch(Config& c, const toml::node& node, const std::string& key,
                       const std::string& origin) {
    const toml::array* arr = node.as_array();
    if (!arr) return fail(origin + ": " + key + " must be an array of process names");
    c.daemon.watch.clear();
    for (const auto& e : *arr) {
        auto s = e.value<std::string>();
        if (!s || s->empty() || !e.is_string())
            return fail(origin + ": " + key + " must hold non-empty strings");
        c.daemon.watch.push_back(*s);
    }
    return {};
}

Result<void> set_listen(Config& c, const toml::node& node, const std::string& key,
                        const std::string& origin) {
    auto s = node.value<std::string>();
    if (!s || !node.is_string()) return fail(origin + ": " + key + " must be a string");
    if (!s->empty())
        if (auto a = parse_listen(*s); !a)
            return fail(origin + ": " + key + ": " + a.error().message);
    c.daemon.listen = *s;
    return {};
}

// A file's absolute path, or "" for none.
Result<void> set_optional_path(std::string& out, const toml::node& node, const std::string& key,
                               const std::string& origin) {
    auto s = node.value<std::string>();
    if (!s || !node.is_string() || (!s->empty() && (*s)[0] != '/'))
        return fail(origin + ": " + key + " must be an absolute path (or \"\" for none)");
    out = *s;
    return {};
}

// A whole number in [lo, hi].
Result<void> set_count(int& out, const toml::node& node, const std::string& key, Range r,
                       const std::string& origin) {
    double v = 0;
    if (auto ok = set_number(v, node, key, r, origin); !ok) return ok;
    if (v != std::floor(v)) return fail(origin + ": " + key + " must be a whole number");
    out = static_cast<int>(v);
    return {};
}

// A receiver's URL (http or https), or "" for none.
Result<void> set_url(std::string& out, const toml::node& node, const std::string& key,
                     const std::string& origin) {
    auto v = node.value<std::string>();
    if (!v || !node.is_string()) return fail(origin + ": " + key + " must be a string");
    if (!v->empty() && !v->starts_with("http://") && !v->starts_with("https://"))
        return fail(origin + ": " + key + " = \"" + *v + "\" must be an http:// or https:// URL");
    out = *v;
    return {};
}

// The remote-write receiver: http:// only, this build's HTTP client has no TLS.
Result<void> set_remote_write_url(Config& c, const toml::node& node, const std::string& key,
                                  const std::string& origin) {
    auto v = node.value<std::string>();
    if (!v || !node.is_string()) return fail(origin + ": " + key + " must be a string");
    if (v->starts_with("https://"))
        return fail(origin + ": " + key + " = \"" + *v +
                    "\": https is not supported (no TLS in perfbpf's HTTP client); use "
                    "http:// to a local receiver or TLS-terminating proxy");
    if (!v->empty() && (!v->starts_with("http://") || v->size() == 7))
        return fail(origin + ": " + key + " = \"" + *v + "\" must be an http:// URL");
    c.remote_write.url = *v;
    return {};
}

Result<void> set_exec(Config& c, const toml::node& node, const std::string& key,
                      const std::string& origin) {
    auto v = node.value<std::string>();
    if (!v || !node.is_string() || (!v->empty() && (*v)[0] != '/'))
        return fail(origin + ": " + key + " must be an absolute path");
    c.alerting.exec = *v;
    return {};
}

Result<void> set_bool(bool& out, const toml::node& node, const std::string& key,
                      const std::string& origin) {
    if (!node.is_boolean()) return fail(origin + ": " + key + " must be true or false");
    out = *node.value<bool>();
    return {};
}

#define PERFBPF_NUMBER_KEY(field, lo, hi)                                            \
    [](Config& c, const toml::node& n, const std::string& k, const std::string& o) { \
        return set_number(c.field, n, k, {lo, hi}, o);                               \
    }

constexpr double kYears = 36500;
const std::map<std::string, KeySetter>& daemon_keys() {
    static const std::map<std::string, KeySetter> keys = {
        {"daemon.interval", PERFBPF_NUMBER_KEY(daemon.interval_s, 0.1, 3600)},
        {"daemon.top_processes",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_count(c.daemon.top_processes, n, k, {0, 10000}, o);
         }},
        {"daemon.watch", &set_watch},
        {"daemon.min_process_age", PERFBPF_NUMBER_KEY(daemon.min_process_age_s, 0, 86400)},
        {"daemon.cpu_budget_pct", PERFBPF_NUMBER_KEY(daemon.cpu_budget_pct, 0.01, 100)},
        {"daemon.governor_period", PERFBPF_NUMBER_KEY(daemon.governor_period_s, 1, 3600)},
        {"daemon.listen", &set_listen},
        {"daemon.bearer_token_file",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_optional_path(c.daemon.bearer_token_file, n, k, o);
         }},
        {"history.raw_days", PERFBPF_NUMBER_KEY(history.raw_days, 0.01, kYears)},
        {"history.minute_days", PERFBPF_NUMBER_KEY(history.minute_days, 0.01, kYears)},
        {"history.hour_days", PERFBPF_NUMBER_KEY(history.hour_days, 0.01, kYears)},
        {"history.max_disk_mib", PERFBPF_NUMBER_KEY(history.max_disk_mib, 1, 1e9)},
        {"alerting.alertmanager",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_url(c.alerting.alertmanager, n, k, o);
         }},
        {"alerting.webhook",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_url(c.alerting.webhook, n, k, o);
         }},
        {"alerting.exec", &set_exec},
        {"alerting.resend", PERFBPF_NUMBER_KEY(alerting.resend_s, 1, 3600)},
        {"alerting.queue",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_count(c.alerting.queue, n, k, {1, 100000}, o);
         }},
        {"remote_write.url", &set_remote_write_url},
        {"remote_write.batch_samples",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_count(c.remote_write.batch_samples, n, k, {1, 1e6}, o);
         }},
        {"remote_write.queue_samples",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_count(c.remote_write.queue_samples, n, k, {1, 1e7}, o);
         }},
        {"remote_write.timeout", PERFBPF_NUMBER_KEY(remote_write.timeout_s, 0.1, 300)},
        {"remote_write.bearer_token_file",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_optional_path(c.remote_write.bearer_token_file, n, k, o);
         }},
        {"anomaly.enabled",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_bool(c.anomaly.enabled, n, k, o);
         }},
        {"anomaly.score", PERFBPF_NUMBER_KEY(anomaly.score, 1, 1000)},
        {"anomaly.window",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_count(c.anomaly.window, n, k, {20, 100000}, o);
         }},
        {"anomaly.clear_intervals",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_count(c.anomaly.clear_intervals, n, k, {1, 100000}, o);
         }},
        {"anomaly.seed_days", PERFBPF_NUMBER_KEY(anomaly.seed_days, 0, 60)},
        {"anomaly.seed_budget", PERFBPF_NUMBER_KEY(anomaly.seed_budget_s, 0.1, 600)},
        {"anomaly.evidence_intervals",
         [](Config& c, const toml::node& n, const std::string& k, const std::string& o) {
             return set_count(c.anomaly.evidence_intervals, n, k, {1, 600}, o);
         }},
        {"anomaly.max_file_mib", PERFBPF_NUMBER_KEY(anomaly.max_file_mib, 0.01, 1e6)},
        {"tune.auto", [](Config& c, const toml::node& n, const std::string& k,
                         const std::string& o) { return set_bool(c.tune.auto_tune, n, k, o); }},
    };
    return keys;
}
#undef PERFBPF_NUMBER_KEY

Result<void> daemon_key(Config& c, const std::string& section, const std::string& name,
                        const toml::node& node, const std::string& origin) {
    const std::string key = section + "." + name;
    auto it = daemon_keys().find(key);
    if (it == daemon_keys().end()) return fail(origin + ": unknown key " + key);
    return it->second(c, node, key, origin);
}

// One [[alert]] table into a rule, validated as the daemon will use it. `where` names it in
// errors: "f.toml: [[alert]] 2".
Result<AlertRuleSpec> parse_alert(const toml::table& t, const std::string& origin,
                                  const std::string& where) {
    AlertRuleSpec r;
    auto text = [&](const toml::node& n, const std::string& k) -> Result<std::string> {
        auto v = n.value<std::string>();
        if (!v || !n.is_string()) return fail(where + ": " + k + " must be a string");
        return *v;
    };
    auto field = [&](const std::string& k, const toml::node& n) -> Result<void> {
        auto number_into = [&](double& out) { return set_number(out, n, k, {-1e15, 1e15}, where); };
        if (k == "name" || k == "select" || k == "aggregate" || k == "summary") {
            auto v = text(n, k);
            if (!v) return std::unexpected(v.error());
            (k == "name"        ? r.name
             : k == "select"    ? r.select
             : k == "aggregate" ? r.aggregate
                                : r.summary) = *v;
        } else if (k == "tuner") {
            auto v = text(n, k);
            if (!v) return std::unexpected(v.error());
            const auto names = tune::tuner_names();
            if (std::ranges::find(names, *v) == names.end()) {
                std::string all;
                for (const auto& t : names) all += (all.empty() ? "" : ", ") + t;
                return fail(where + ": tuner '" + *v + "' is not one of " + all);
            }
            r.tuner = *v;
        } else if (k == "window") {
            if (n.is_string())
                r.window = *n.value<std::string>();
            else {
                double s = 0;
                if (auto v = set_number(s, n, k, {0.001, 1e9}, where); !v) return v;
                r.window = fmt(s * 1000) + "ms";
            }
        } else if (k == "warn" || k == "scale" || k == "for") {
            return number_into(k == "warn" ? r.warn : k == "scale" ? r.scale : r.for_s);
        } else if (k == "crit" || k == "clear") {
            double v = 0;
            if (auto ok = number_into(v); !ok) return ok;
            (k == "crit" ? r.crit : r.clear) = v;
        } else if (k == "for_intervals") {
            double v = 0;
            if (auto ok = number_into(v); !ok) return ok;
            if (v != std::floor(v)) return fail(where + ": " + k + " must be a whole number");
            r.for_intervals = static_cast<int>(std::clamp(v, -1.0, 1e6));
        } else if (k == "enabled") {
            if (!n.is_boolean()) return fail(where + ": " + k + " must be true or false");
            r.enabled = *n.value<bool>();
        } else if (k == "labels") {
            const toml::table* lt = n.as_table();
            if (!lt) return fail(where + ": labels must be a table of strings");
            for (auto& [lk, lv] : *lt) {
                auto v = text(lv, "labels." + std::string(lk.str()));
                if (!v) return std::unexpected(v.error());
                r.labels.emplace_back(std::string(lk.str()), *v);
            }
            std::ranges::sort(r.labels);
        } else {
            return fail(where + ": unknown key " + k);
        }
        return {};
    };
    for (auto& [k, node] : t)
        if (auto ok = field(std::string(k.str()), node); !ok) return std::unexpected(ok.error());
    if (r.name.empty()) return fail(where + ": name is missing");
    if (!r.enabled) return r;
    if (r.select.empty()) return fail(where + " (" + r.name + "): select is missing");
    if (!t.contains("warn")) return fail(where + " (" + r.name + "): warn is missing");
    if (auto c = compile_rule(r); !c) return fail(origin + ": " + c.error().message);
    return r;
}

Result<void> parse_alerts(const toml::node& node, Config& c, const std::string& origin) {
    const toml::array* arr = node.as_array();
    if (!arr) return fail(origin + ": alert rules are [[alert]] tables");
    for (size_t i = 0; i < arr->size(); ++i) {
        const std::string where = origin + ": [[alert]] " + std::to_string(i + 1);
        const toml::table* t = (*arr)[i].as_table();
        if (!t) return fail(where + " must be a table");
        auto r = parse_alert(*t, origin, where);
        if (!r) return std::unexpected(r.error());
        if (std::ranges::count(c.alerting.rules, r->name, &AlertRuleSpec::name))
            return fail(where + ": alert rule " + r->name + " is defined twice");
        c.alerting.rules.push_back(std::move(*r));
    }
    return {};
}

}  // namespace

Result<Config> parse_config(const std::string& text, const std::string& origin) {
    toml::table root;
    try {
        root = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
        std::ostringstream o;
        o << origin << ":" << e.source().begin.line << ": " << e.description();
        return fail(o.str());
    }
    Config c;
    for (auto& [section_key, section] : root) {
        std::string section_name(section_key.str());
        if (section_name == "alert") {
            if (auto r = parse_alerts(section, c, origin); !r) return std::unexpected(r.error());
            continue;
        }
        const toml::table* table = section.as_table();
        if (!table)
            return fail(origin + ": '" + section_name + "' must be a table ([" + section_name +
                        "])");
        for (auto& [k, node] : *table) {
            std::string key = section_name + "." + std::string(k.str());
            if (key == kTopInterval) {
                auto v = number(node, key, {0.1, 3600}, origin);
                if (!v) return std::unexpected(v.error());
                c.interval_s = *v;
            } else if (key == kProbesSampleHz) {
                auto v = number(node, key, {1, 1000}, origin);
                if (!v) return std::unexpected(v.error());
                c.sample_hz = static_cast<int>(*v);
            } else if (key == kGeneralStateDir) {
                auto s = node.value<std::string>();
                if (!s || s->empty() || (*s)[0] != '/')
                    return fail(origin + ": " + key + " must be an absolute path");
                c.state_dir = *s;
            } else if (section_name == "daemon" || section_name == "history" ||
                       section_name == "alerting" || section_name == "remote_write" ||
                       section_name == "anomaly" || section_name == "tune") {
                if (auto r = daemon_key(c, section_name, std::string(k.str()), node, origin); !r)
                    return std::unexpected(r.error());
            } else if (section_name == "thresholds") {
                auto fields = threshold_fields();
                auto it = fields.find(std::string(k.str()));
                if (it == fields.end()) return fail(origin + ": unknown key " + key);
                auto v = number(node, key, it->second.second, origin);
                if (!v) return std::unexpected(v.error());
                c.thresholds.*(it->second.first) = *v;
            } else {
                return fail(origin + ": unknown key " + key);
            }
        }
    }
    if (auto r = validate(c.thresholds); !r)
        return fail(origin + ": [thresholds] " + r.error().message);
    return c;
}

std::vector<std::string> known_config_keys() {
    std::vector<std::string> keys = {kTopInterval, kProbesSampleHz, kGeneralStateDir};
    for (const auto& [name, field] : threshold_fields()) keys.push_back("thresholds." + name);
    for (const auto& [key, setter] : daemon_keys()) keys.push_back(key);
    return keys;
}

Result<Config> load_config(const std::string& path) {
    std::string p = path;
    if (p.empty()) {
        if (::access(kDefaultConfigPath, F_OK) != 0) return Config{};
        p = kDefaultConfigPath;
    }
    auto text = read_regular_file(p, kMaxConfigBytes);
    if (!text) return fail("config: " + text.error().message);
    return parse_config(*text, p);
}

}  // namespace perfbpf

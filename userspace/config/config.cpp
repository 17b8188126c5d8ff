#include "config/config.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <cmath>
#include <map>
#include <sstream>

#include "util/files.h"

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
        const toml::table* table = section.as_table();
        if (!table)
            return fail(origin + ": '" + section_name + "' must be a table ([" + section_name +
                        "])");
        for (auto& [k, node] : *table) {
            std::string key = section_name + "." + std::string(k.str());
            if (section_name == "top" && k.str() == "interval") {
                auto v = number(node, key, {0.1, 3600}, origin);
                if (!v) return std::unexpected(v.error());
                c.interval_s = *v;
            } else if (section_name == "probes" && k.str() == "sample_hz") {
                auto v = number(node, key, {1, 1000}, origin);
                if (!v) return std::unexpected(v.error());
                c.sample_hz = static_cast<int>(*v);
            } else if (section_name == "general" && k.str() == "state_dir") {
                auto s = node.value<std::string>();
                if (!s || s->empty() || (*s)[0] != '/')
                    return fail(origin + ": " + key + " must be an absolute path");
                c.state_dir = *s;
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

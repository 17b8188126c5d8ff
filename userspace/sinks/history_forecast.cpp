#include "sinks/history_forecast.h"

#include <cmath>

#include "sinks/history_sink.h"
#include "util/format.h"

namespace perfbpf {

using ojson = nlohmann::ordered_json;

namespace {

// Bytes to four significant digits: a forecast of 100 GiB with an interval of 99-101 GiB
// needs the tenths that top's format_bytes rounds away.
std::string bytes_text(double v) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double a = std::abs(v);
    size_t u = 0;
    while (a >= 1024 && u + 1 < std::size(units)) {
        a /= 1024;
        ++u;
    }
    return (v < 0 ? "-" : "") + format_fixed(a, u == 0 ? 0 : a < 10 ? 2 : 1) + " " + units[u];
}

std::string value_text(double v, std::string_view unit) {
    if (unit == "bytes") return bytes_text(v);
    if (unit == "pct") return format_fixed(v, 1) + " %";
    if (unit == "us") return format_us(v);
    if (unit == "count") return format_count(v);
    return format_fixed(v, 2) + (unit.empty() ? "" : " " + std::string(unit));
}

std::string signed_text(double v, std::string_view unit) {
    return (v >= 0 ? "+" : "") + value_text(v, unit);
}

std::string crossing_text(const SeriesForecast& s, double coverage, int64_t horizon_ms) {
    const Crossing& c = *s.forecast->crossing;
    std::string out = s.threshold_meaning + " (" + s.threshold_source + " " +
                      value_text(*s.threshold, s.unit) + ")";
    const int pct = static_cast<int>(std::lround(coverage * 100));
    if (c.already) return out + ": already";
    if (c.eta_ms) {
        out += " in " + forecast_duration(*c.eta_ms) + " (" + std::to_string(pct) +
               " %: " + forecast_duration(c.early_ms.value_or(*c.eta_ms)) + "–" +
               (c.late_ms ? forecast_duration(*c.late_ms)
                          : "beyond " + forecast_duration(horizon_ms)) +
               ")";
        return out;
    }
    out += ": not within " + forecast_duration(horizon_ms);
    if (c.early_ms)
        out +=
            " (" + std::to_string(pct) + " %: possibly in " + forecast_duration(*c.early_ms) + ")";
    return out;
}

}  // namespace

std::string forecast_value_text(double v, std::string_view unit) {
    return value_text(v, unit);
}

std::string forecast_outlook(const SeriesForecast& s, double coverage, int64_t horizon_ms) {
    if (!s.forecast) return "no forecast: " + s.error;
    const Forecast& f = *s.forecast;
    if (f.crossing && s.threshold) return crossing_text(s, coverage, horizon_ms);
    const int pct = static_cast<int>(std::lround(coverage * 100));
    return "in " + forecast_duration(horizon_ms) + " " + value_text(f.value, s.unit) + " (" +
           std::to_string(pct) + " %: " + value_text(f.lo, s.unit) + " – " +
           value_text(f.hi, s.unit) + ")";
}

namespace {

ojson opt_ms(const std::optional<int64_t>& v) {
    return v ? ojson(*v) : ojson(nullptr);
}

}  // namespace

std::string render_forecasts(const ForecastRun& run, int64_t horizon_ms) {
    std::string out;
    const int pct = static_cast<int>(std::lround(run.coverage * 100));
    for (const SeriesForecast& s : run.series) {
        out += series_name(s.key);
        if (!s.forecast) {
            out += "\n  no forecast: " + s.error + "\n";
            continue;
        }
        const Forecast& f = *s.forecast;
        out += "  (" + std::string(tier_name(s.tier)) + " tier, " + std::to_string(f.points) +
               " points, interval from " + std::to_string(f.backtests) + " backtests)\n";
        out += "  now " + value_text(s.last, s.unit) + "; in " + forecast_duration(horizon_ms) +
               " " + value_text(f.value, s.unit) + " (" + std::to_string(pct) +
               " %: " + value_text(f.lo, s.unit) + " – " + value_text(f.hi, s.unit) + ")\n";
        out += "  trend " + signed_text(f.slope_per_day, s.unit) + " a day";
        if (f.daily)
            out += "; daily cycle (" + std::to_string(std::lround(f.daily_share * 100)) +
                   " % of what the trend leaves)";
        out += "\n";
        if (f.crossing) out += "  " + crossing_text(s, run.coverage, horizon_ms) + "\n";
    }
    return out;
}

ojson forecasts_json(const ForecastRun& run, int64_t horizon_ms) {
    ojson list = ojson::array();
    for (const SeriesForecast& s : run.series) {
        ojson labels = ojson::object();
        for (const auto& [k, v] : s.key.labels) labels[k] = v;
        ojson j{{"metric", s.key.metric},
                {"labels", labels},
                {"tier", tier_name(s.tier)},
                {"last", s.last}};
        if (!s.forecast) {
            j["error"] = s.error;
            list.push_back(std::move(j));
            continue;
        }
        const Forecast& f = *s.forecast;
        j["from_ms"] = f.from_ms;
        j["at_ms"] = f.at_ms;
        j["value"] = f.value;
        j["lo"] = f.lo;
        j["hi"] = f.hi;
        j["slope_per_day"] = f.slope_per_day;
        j["daily"] = f.daily;
        j["daily_share"] = f.daily_share;
        j["points"] = f.points;
        j["backtests"] = f.backtests;
        if (f.crossing && s.threshold) {
            const Crossing& c = *f.crossing;
            j["threshold"] = {{"value", *s.threshold},          {"source", s.threshold_source},
                              {"meaning", s.threshold_meaning}, {"already", c.already},
                              {"eta_ms", opt_ms(c.eta_ms)},     {"early_ms", opt_ms(c.early_ms)},
                              {"late_ms", opt_ms(c.late_ms)}};
        }
        list.push_back(std::move(j));
    }
    return {{"horizon_ms", horizon_ms},
            {"step_ms", run.step_ms},
            {"coverage", run.coverage},
            {"series", std::move(list)}};
}

}  // namespace perfbpf

#include "detect/forecast.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace perfbpf {
namespace {

constexpr int64_t kDayMs = 86'400'000;
// Half-hour slots: fine enough for a working day's shape, and at a 5-minute step two days
// give each slot 12 points.
constexpr int kSlots = 48;
// The daily profile has to explain this share of what the trend leaves, else it is noise
// fitted to noise and only widens forecasts.
constexpr double kDailyMinShare = 0.3;
// Theil–Sen over all n²/2 pairs is quadratic; the median of a few thousand random pairs is
// within a few percent of it and costs the same at any history length.
constexpr size_t kMaxPairs = 4000;
// Past forecasts the interval is calibrated on: enough for the 5 % and 95 % order
// statistics to be interior (with 60, the 3rd and 58th).
constexpr size_t kMaxBacktests = 60;

double median_of(std::vector<double>& v) {
    if (v.empty()) return 0;
    const size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    double m = v[mid];
    if (v.size() % 2 == 0) {
        const double below =
            *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
        m = (m + below) / 2;
    }
    return m;
}

int slot_of(int64_t ts_ms) {
    const int64_t in_day = ((ts_ms % kDayMs) + kDayMs) % kDayMs;
    return static_cast<int>(in_day * kSlots / kDayMs);
}

double profile_at(const std::vector<double>& profile, int64_t ts_ms) {
    return profile.empty() ? 0.0 : profile[static_cast<size_t>(slot_of(ts_ms))];
}

// Median slope (per ms) of pairs of points, of y = value - profile.
double theil_sen(std::span<const ForecastPoint> pts, const std::vector<double>& profile) {
    const size_t n = pts.size();
    std::vector<double> slopes;
    auto add = [&](size_t i, size_t j) {
        const auto dt = static_cast<double>(pts[j].ts_ms - pts[i].ts_ms);
        if (dt == 0) return;
        const double dy = (pts[j].value - profile_at(profile, pts[j].ts_ms)) -
                          (pts[i].value - profile_at(profile, pts[i].ts_ms));
        slopes.push_back(dy / dt);
    };
    if (n * (n - 1) / 2 <= kMaxPairs) {
        for (size_t i = 0; i < n; ++i)
            for (size_t j = i + 1; j < n; ++j) add(i, j);
    } else {
        // Fixed seed: the same history gives the same forecast.
        std::mt19937_64 rng(0x5eed);
        std::uniform_int_distribution<size_t> pick(0, n - 1);
        slopes.reserve(kMaxPairs);
        while (slopes.size() < kMaxPairs) {
            size_t i = pick(rng), j = pick(rng);
            if (i == j) continue;
            if (i > j) std::swap(i, j);
            add(i, j);
            if (pts[0].ts_ms == pts[n - 1].ts_ms) break;  // every dt is 0
        }
    }
    return median_of(slopes);
}

// Median per half-hour slot of the residuals, centred on 0; slots with fewer than two
// points stay 0.
std::vector<double> daily_profile(std::span<const ForecastPoint> pts, double slope) {
    std::vector<std::vector<double>> by_slot(kSlots);
    for (const auto& p : pts)
        by_slot[static_cast<size_t>(slot_of(p.ts_ms))].push_back(
            p.value - slope * static_cast<double>(p.ts_ms - pts.back().ts_ms));
    std::vector<double> profile(kSlots, 0.0);
    double sum = 0;
    int filled = 0;
    for (int s = 0; s < kSlots; ++s) {
        auto& v = by_slot[static_cast<size_t>(s)];
        if (v.size() < 2) continue;
        profile[static_cast<size_t>(s)] = median_of(v);
        sum += profile[static_cast<size_t>(s)];
        ++filled;
    }
    if (filled == 0) return {};
    const double mean = sum / filled;
    for (int s = 0; s < kSlots; ++s)
        if (by_slot[static_cast<size_t>(s)].size() >= 2) profile[static_cast<size_t>(s)] -= mean;
    return profile;
}

double variance_of_residuals(std::span<const ForecastPoint> pts, double slope,
                             const std::vector<double>& profile) {
    double sum = 0, sum2 = 0;
    for (const auto& p : pts) {
        const double r = p.value - slope * static_cast<double>(p.ts_ms - pts.back().ts_ms) -
                         profile_at(profile, p.ts_ms);
        sum += r;
        sum2 += r * r;
    }
    const auto n = static_cast<double>(pts.size());
    return n > 0 ? sum2 / n - (sum / n) * (sum / n) : 0;
}

struct Model {
    double slope = 0;   // per ms
    double anchor = 0;  // trend level at `from`
    int64_t from = 0;
    std::vector<double> profile;
    double daily_share = 0;

    double predict(int64_t lead_ms) const {
        return anchor + slope * static_cast<double>(lead_ms) + profile_at(profile, from + lead_ms);
    }
};

Model fit(std::span<const ForecastPoint> pts, int64_t horizon_ms) {
    Model m;
    m.from = pts.back().ts_ms;
    m.slope = theil_sen(pts, {});
    if (pts.back().ts_ms - pts.front().ts_ms >= 2 * kDayMs) {
        auto profile = daily_profile(pts, m.slope);
        const double before = variance_of_residuals(pts, m.slope, {});
        const double after = variance_of_residuals(pts, m.slope, profile);
        const double share = before > 0 ? 1 - after / before : 0;
        if (share >= kDailyMinShare) {
            // The cycle biases the slope when the history is not whole days: refit without it.
            m.slope = theil_sen(pts, profile);
            m.profile = daily_profile(pts, m.slope);
            m.daily_share = share;
        }
    }
    // The level now: the median over the last twelfth of a horizon (at least five points),
    // so a step that happened lately is where the forecast starts.
    const int64_t recent_from = m.from - horizon_ms / 12;
    std::vector<double> levels;
    for (size_t i = pts.size(); i-- > 0;) {
        if (pts[i].ts_ms < recent_from && levels.size() >= 5) break;
        levels.push_back(pts[i].value - profile_at(m.profile, pts[i].ts_ms) -
                         m.slope * static_cast<double>(pts[i].ts_ms - m.from));
    }
    m.anchor = median_of(levels);
    return m;
}

// The window a fit ending at `end` (index, exclusive) uses: three horizons, at least three
// days when there are, so a daily profile can be seen.
std::span<const ForecastPoint> fit_window(std::span<const ForecastPoint> pts, size_t end,
                                          int64_t horizon_ms) {
    const int64_t span = std::max(3 * horizon_ms, 3 * kDayMs);
    const int64_t first_ts = pts[end - 1].ts_ms - span;
    auto it =
        std::lower_bound(pts.begin(), pts.begin() + static_cast<std::ptrdiff_t>(end), first_ts,
                         [](const ForecastPoint& p, int64_t t) { return p.ts_ms < t; });
    return pts.subspan(static_cast<size_t>(it - pts.begin()),
                       end - static_cast<size_t>(it - pts.begin()));
}

// The value at ts by linear interpolation (ts within the points).
double value_at(std::span<const ForecastPoint> pts, int64_t ts) {
    auto it = std::lower_bound(pts.begin(), pts.end(), ts,
                               [](const ForecastPoint& p, int64_t t) { return p.ts_ms < t; });
    if (it == pts.end()) return pts.back().value;
    if (it->ts_ms == ts || it == pts.begin()) return it->value;
    const auto& a = *(it - 1);
    const auto& b = *it;
    const double f = static_cast<double>(ts - a.ts_ms) / static_cast<double>(b.ts_ms - a.ts_ms);
    return a.value + f * (b.value - a.value);
}

// The normal quantile (Abramowitz & Stegun 26.2.23, error below 5e-4) and Student's t by
// its Cornish-Fisher expansion in 1/dof. At the 95th percentile the expansion is low by
// 27 % at 1 degree of freedom, 5 % at 2 and under 1 % from 5: the fewest samples get a
// band somewhat narrower than exact t would give, still several times their spread.
double normal_quantile(double p) {
    const double q = p < 0.5 ? p : 1 - p;
    const double t = std::sqrt(-2 * std::log(q));
    const double z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
                             (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
    return p < 0.5 ? -z : z;
}

double t_quantile(double p, double dof) {
    const double z = normal_quantile(p);
    const double z3 = z * z * z, z5 = z3 * z * z;
    return z + (z3 + z) / (4 * dof) + (5 * z5 + 16 * z3 + 3 * z) / (96 * dof * dof);
}

// How many independent samples the backtests' errors are worth. Neighbouring origins overlap
// (their forecasts share most of the history and the target's surroundings): with lag-1
// autocorrelation ρ, K errors of an AR(1)-like sequence carry K(1-ρ)/(1+ρ) samples' worth.
// Noise-driven errors (ρ near 0) keep their number; a random walk's (ρ near 1) are worth a
// few.
double effective_samples(const std::vector<double>& errs) {
    const auto k = static_cast<double>(errs.size());
    double mean = 0;
    for (double e : errs) mean += e;
    mean /= k;
    double num = 0, den = 0;
    for (size_t i = 0; i < errs.size(); ++i) {
        den += (errs[i] - mean) * (errs[i] - mean);
        if (i > 0) num += (errs[i] - mean) * (errs[i - 1] - mean);
    }
    const double rho = den > 0 ? std::clamp(num / den, 0.0, 0.99) : 0.0;
    return std::clamp(k * (1 - rho) / (1 + rho), 2.0, k);
}

// The interval offsets from the errors of the backtests at one lead. Two bounds, the wider
// kept on each side:
// - split-conformal order statistics: the k-th smallest error for k = floor((K+1)·α/2) and
//   ceil((K+1)·(1-α/2)), which covers 1-α of a new error when errors are exchangeable, and
//   follows skewed errors (a disk that is cleaned up at midnight);
// - a Student-t prediction interval on the errors' mean and spread with `independent`
//   samples. When the backtests are worth only a few draws, their order statistics
//   under-cover (a random walk's errors came out inside 80 % of the time); the t quantile
//   of few degrees of freedom widens the band as much as such a small sample needs.
std::pair<double, double> error_band(std::vector<double> errs, double coverage,
                                     double independent) {
    std::sort(errs.begin(), errs.end());
    const auto k = static_cast<double>(errs.size());
    const double alpha = 1 - coverage;
    auto lo_k = static_cast<size_t>(std::floor((k + 1) * alpha / 2));
    auto hi_k = static_cast<size_t>(std::ceil((k + 1) * (1 - alpha / 2)));
    lo_k = std::clamp<size_t>(lo_k, 1, errs.size());
    hi_k = std::clamp<size_t>(hi_k, 1, errs.size());
    double mean = 0, sq = 0;
    for (double e : errs) mean += e;
    mean /= k;
    for (double e : errs) sq += (e - mean) * (e - mean);
    const double sd = errs.size() > 1 ? std::sqrt(sq / (k - 1)) : 0;
    const double n = std::max(2.0, independent);
    const double half = t_quantile(1 - alpha / 2, n - 1) * sd * std::sqrt(1 + 1 / n);
    return {std::min(errs[lo_k - 1], mean - half), std::max(errs[hi_k - 1], mean + half)};
}

void find_crossing(Forecast& f, double threshold, std::optional<bool> upward, int64_t horizon_ms) {
    Crossing c;
    const bool rising = upward.value_or(threshold >= f.anchor);
    c.already = rising ? f.anchor >= threshold : f.anchor <= threshold;
    if (c.already) {
        c.eta_ms = c.early_ms = c.late_ms = 0;
        f.crossing = c;
        return;
    }
    auto past = [&](double v) { return rising ? v >= threshold : v <= threshold; };
    constexpr int kSteps = 500;
    for (int i = 1; i <= kSteps; ++i) {
        const int64_t lead = horizon_ms * i / kSteps;
        const Forecast::Band b = f.at(lead);
        if (!c.eta_ms && past(b.value)) c.eta_ms = lead;
        if (!c.early_ms && past(rising ? b.hi : b.lo)) c.early_ms = lead;
        if (!c.late_ms && past(rising ? b.lo : b.hi)) c.late_ms = lead;
    }
    f.crossing = c;
}

}  // namespace

int64_t forecast_history_needed_ms(int64_t horizon_ms) {
    return 2 * horizon_ms;
}

Forecast::Band Forecast::at(int64_t lead_ms) const {
    Band b;
    b.value = anchor + slope_per_day * static_cast<double>(lead_ms) / kDayMs +
              profile_at(profile, from_ms + lead_ms);
    double lo = leads.front().err_lo, hi = leads.front().err_hi;
    for (size_t i = 1; i < leads.size(); ++i) {
        const Lead &a = leads[i - 1], &z = leads[i];
        if (lead_ms <= a.lead_ms) break;
        if (lead_ms >= z.lead_ms) {
            lo = z.err_lo;
            hi = z.err_hi;
            continue;
        }
        const double t =
            static_cast<double>(lead_ms - a.lead_ms) / static_cast<double>(z.lead_ms - a.lead_ms);
        lo = a.err_lo + t * (z.err_lo - a.err_lo);
        hi = a.err_hi + t * (z.err_hi - a.err_hi);
    }
    b.lo = b.value + lo;
    b.hi = b.value + hi;
    return b;
}

Result<Forecast> forecast(std::span<const ForecastPoint> pts, const ForecastOptions& opt) {
    const int64_t h = opt.horizon_ms;
    if (h <= 0) return fail("forecast horizon must be positive, not " + std::to_string(h) + " ms");
    if (!(opt.coverage > 0 && opt.coverage < 1))
        return fail("forecast coverage must be between 0 and 1, not " +
                    std::to_string(opt.coverage));
    const int64_t need = forecast_history_needed_ms(h);
    const int64_t have = pts.empty() ? 0 : pts.back().ts_ms - pts.front().ts_ms;
    if (have < need || pts.size() < kForecastMinPoints)
        return fail("a forecast " + forecast_duration(h) + " ahead needs " +
                    forecast_duration(need) + " of history and " +
                    std::to_string(kForecastMinPoints) + " points; the series has " +
                    forecast_duration(have) + " and " + std::to_string(pts.size()) +
                    (pts.size() == 1 ? " point" : " points"));

    // Lead times the band is calibrated at; between them it is interpolated.
    std::vector<int64_t> leads;
    for (int64_t d : {16, 8, 4, 2, 1}) leads.push_back(std::max<int64_t>(1, h / d));

    const auto window = fit_window(pts, pts.size(), h);
    const Model m = fit(window, h);

    // Backtest origins: from half a horizon after the start (a fit needs some history) to
    // one horizon before the end (the outcome must be known), evenly spread. With a daily
    // profile, from two days on, where the backtests' fits can have one too (without, their
    // errors carry the whole daily swing and the band came out twice as wide as needed).
    int64_t first_origin = pts.front().ts_ms + h / 2;
    const int64_t last_origin = pts.back().ts_ms - h;
    if (!m.profile.empty() && pts.front().ts_ms + 2 * kDayMs + h / 2 <= last_origin)
        first_origin = pts.front().ts_ms + 2 * kDayMs;
    std::vector<size_t> origins;
    for (size_t k = 0; k < kMaxBacktests; ++k) {
        const int64_t target = first_origin + (last_origin - first_origin) *
                                                  static_cast<int64_t>(k) /
                                                  static_cast<int64_t>(kMaxBacktests - 1);
        auto it = std::upper_bound(pts.begin(), pts.end(), target,
                                   [](int64_t t, const ForecastPoint& p) { return t < p.ts_ms; });
        const auto end = static_cast<size_t>(it - pts.begin());  // points up to the origin
        if (end < 2 || (!origins.empty() && origins.back() == end)) continue;
        origins.push_back(end);
    }
    std::vector<std::vector<double>> errs(leads.size());
    for (size_t end : origins) {
        const Model bm = fit(fit_window(pts, end, h), h);
        for (size_t l = 0; l < leads.size(); ++l) {
            const int64_t ts = pts[end - 1].ts_ms + leads[l];
            if (ts > pts.back().ts_ms) continue;
            errs[l].push_back(value_at(pts, ts) - bm.predict(leads[l]));
        }
    }
    if (errs.back().size() < 5)
        return fail("a forecast " + forecast_duration(h) +
                    " ahead needs at least 5 past forecasts to " +
                    "calibrate its interval; the series has points for " +
                    std::to_string(errs.back().size()));

    Forecast f;
    f.from_ms = pts.back().ts_ms;
    f.at_ms = f.from_ms + h;
    f.slope_per_day = m.slope * kDayMs;
    f.daily = !m.profile.empty();
    f.daily_share = m.daily_share;
    f.points = window.size();
    f.backtests = errs.back().size();
    f.anchor = m.anchor;
    f.profile = m.profile;
    for (size_t l = 0; l < leads.size(); ++l) {
        const double independent = effective_samples(errs[l]);
        auto [lo, hi] = error_band(errs[l], opt.coverage, independent);
        f.leads.push_back({leads[l], lo, hi});
    }
    const Forecast::Band b = f.at(h);
    f.value = b.value;
    f.lo = b.lo;
    f.hi = b.hi;
    if (opt.threshold) find_crossing(f, *opt.threshold, opt.upward, h);
    return f;
}

std::string forecast_duration(int64_t ms) {
    char buf[32];
    const double s = static_cast<double>(ms) / 1000;
    if (s < 3600)
        std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
    else if (s < 2 * 86400)
        std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
    else
        std::snprintf(buf, sizeof buf, "%.1f d", s / 86400);
    return buf;
}

}  // namespace perfbpf

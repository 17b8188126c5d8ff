#include "tune/verify.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

namespace perfbpf::tune {
namespace {

// How much worse `after` is than `before` (positive: worse), in the metric's own units.
double worsening(Better b, double before, double after) {
    return b == Better::higher ? before - after : after - before;
}

double margin(const SampleStats& before, size_t n_after, double k, double rel, double floor) {
    const double se = before.n > 0 && n_after > 0
                          ? before.sd * std::sqrt(1.0 / double(before.n) + 1.0 / double(n_after))
                          : 0;
    return std::max({k * se, rel * std::fabs(before.mean), floor});
}

// Upper tail of the Mann-Whitney U null distribution for samples of m and n: the number of
// orderings of m + n distinct values giving each U, by c(m,n,u) = c(m-1,n,u-n) + c(m,n-1,u),
// summed from u and divided by their total. Exact up to m * n = 2500 (windows of 50),
// the normal approximation with a continuity correction beyond.
double u_upper_tail(size_t m, size_t n, double u) {
    if (m == 0 || n == 0) return 1;
    if (m * n > 2500) {
        const double mean = double(m * n) / 2;
        const double sd = std::sqrt(double(m * n) * double(m + n + 1) / 12);
        return 0.5 * std::erfc((u - 0.5 - mean) / sd / std::sqrt(2.0));
    }
    // prev[j] = c(i-1, j, .), cur[j] = c(i, j, .)
    std::vector<std::vector<double>> prev(n + 1, std::vector<double>{1.0}), cur(n + 1);
    for (size_t i = 1; i <= m; ++i) {
        cur[0] = {1.0};
        for (size_t j = 1; j <= n; ++j) {
            std::vector<double> c(i * j + 1, 0.0);
            for (size_t k = 0; k < prev[j].size(); ++k) c[k + j] += prev[j][k];
            for (size_t k = 0; k < cur[j - 1].size(); ++k) c[k] += cur[j - 1][k];
            cur[j] = std::move(c);
        }
        std::swap(prev, cur);
    }
    const std::vector<double>& c = prev[n];
    double total = 0, tail = 0;
    const double from = std::floor(u + 1e-9);  // half a tie rounds down: never overstates
    for (size_t k = 0; k < c.size(); ++k) {
        total += c[k];
        if (double(k) >= from) tail += c[k];
    }
    return tail / total;
}

}  // namespace

RankTest rank_test(const std::vector<double>& before, const std::vector<double>& after,
                   Better better) {
    RankTest r;
    r.pairs = before.size() * after.size();
    for (double b : before)
        for (double a : after) {
            const double gain = better == Better::higher ? a - b : b - a;
            r.wins += gain > 0 ? 1.0 : gain == 0 ? 0.5 : 0.0;
        }
    r.p = u_upper_tail(before.size(), after.size(), r.wins);
    return r;
}

SampleStats sample_stats(const std::vector<double>& v) {
    SampleStats s;
    s.n = v.size();
    if (v.empty()) return s;
    double sum = 0;
    for (double x : v) sum += x;
    s.mean = sum / double(v.size());
    if (v.size() > 1) {
        double ss = 0;
        for (double x : v) ss += (x - s.mean) * (x - s.mean);
        s.sd = std::sqrt(ss / double(v.size() - 1));
    }
    return s;
}

Verification verify_change(const MetricSpec& target, const std::vector<double>& target_before,
                           const std::vector<double>& target_after, const MetricSpec& guard,
                           const std::vector<double>& guard_before,
                           const std::vector<double>& guard_after, const VerifyPolicy& p) {
    Verification v;
    v.target_before = sample_stats(target_before);
    v.target_after = sample_stats(target_after);
    v.guard_before = sample_stats(guard_before);
    v.guard_after = sample_stats(guard_after);
    if (v.target_before.n < p.min_samples || v.target_after.n < p.min_samples) {
        v.detail = fmt::format("too few samples of {} ({} before, {} after; {} needed)",
                               target.name, v.target_before.n, v.target_after.n, p.min_samples);
        return v;
    }
    v.target_margin =
        margin(v.target_before, v.target_after.n, p.noise_k, p.min_rel_gain, target.abs_floor);
    const double least = std::max(p.min_rel_gain * std::fabs(v.target_before.mean),
                                  target.abs_floor);  // what counts as a gain at all
    v.target_rank = rank_test(target_before, target_after, target.better);
    // Either of two tests may keep a change: each at half the error rate noise_k stands
    // for, so that together they keep a useless change no more often than one did.
    const double alpha = 0.25 * std::erfc(p.noise_k / std::sqrt(2.0));
    const double gain = -worsening(target.better, v.target_before.mean, v.target_after.mean);
    const bool by_means = gain > v.target_margin;
    const bool by_ranks = gain > least && v.target_rank.p <= alpha;
    const char* direction = target.better == Better::higher ? "a rise" : "a fall";
    std::string t =
        fmt::format("{} {} -> {} ", target.name, format_quantity(v.target_before.mean, target.unit),
                    format_quantity(v.target_after.mean, target.unit));
    if (by_means || !by_ranks) {
        t += fmt::format("(needed {} by {})", direction,
                         format_quantity(v.target_margin, target.unit));
    } else {
        t += fmt::format(
            "({} beyond the noise by ranks: better in {:g} of {} window pairs, "
            "p {:.2g}; the means alone needed {} by {})",
            direction, v.target_rank.wins, v.target_rank.pairs, v.target_rank.p, direction,
            format_quantity(v.target_margin, target.unit));
    }
    if (!by_means && !by_ranks) {
        v.detail = t + ": not beyond the noise";
        return v;
    }
    // A guard without samples on either side (no I/O after the change, say) cannot show
    // harm; the target decided.
    if (v.guard_before.n > 0 && v.guard_after.n > 0) {
        v.guard_margin =
            margin(v.guard_before, v.guard_after.n, p.noise_k, p.guard_rel_tol, guard.abs_floor);
        const double worse = worsening(guard.better, v.guard_before.mean, v.guard_after.mean);
        std::string g = fmt::format("guard {} {} -> {} (tolerance {})", guard.name,
                                    format_quantity(v.guard_before.mean, guard.unit),
                                    format_quantity(v.guard_after.mean, guard.unit),
                                    format_quantity(v.guard_margin, guard.unit));
        if (worse > v.guard_margin) {
            v.detail = t + " but " + g + ": worse";
            return v;
        }
        // A guard that moved the wrong way within its tolerance is not "better": say which.
        t += "; " + g + (worse > 0 ? ": within it" : ": no worse");
    }
    v.keep = true;
    v.detail = t + ": kept";
    return v;
}

std::string ChangeGate::blocked(const KnobId& id, const std::string& to, int direction,
                                int64_t now_ms, bool relief) const {
    if (hands_off_.contains(id)) return "changed by someone else: left alone";
    if (relief) return {};
    if (auto b = backoff_.find({id, to}); b != backoff_.end() && now_ms < b->second.until_ms)
        return fmt::format("the same change was reverted; backing off for {} s more",
                           (b->second.until_ms - now_ms + 999) / 1000);
    if (auto l = last_.find(id); l != last_.end()) {
        const int64_t since = now_ms - l->second.at_ms;
        if (since < policy_.min_gap_ms)
            return fmt::format("changed {} s ago (at most one change per {} s)", since / 1000,
                               policy_.min_gap_ms / 1000);
        const bool reverses = (direction != 0 && direction == -l->second.direction) ||
                              (direction == 0 && to == l->second.from);
        if (reverses && since < policy_.reverse_gap_ms)
            return fmt::format("would undo the change of {} s ago (hysteresis: {} s)", since / 1000,
                               policy_.reverse_gap_ms / 1000);
    }
    return {};
}

void ChangeGate::applied(const KnobId& id, const std::string& from, const std::string& to,
                         int direction, int64_t now_ms) {
    last_[id] = Last{now_ms, direction, from, to};
}

void ChangeGate::reverted(const KnobId& id, const std::string& to, int64_t now_ms) {
    Backoff& b = backoff_[{id, to}];
    b.length_ms = b.length_ms ? b.length_ms * 2 : policy_.backoff_ms;
    b.until_ms = now_ms + b.length_ms;
    // The knob is back where it was: a later change in either direction undoes nothing,
    // so only the rate limit applies to it.
    if (auto l = last_.find(id); l != last_.end()) {
        l->second.direction = 0;
        l->second.from.clear();
    }
}

}  // namespace perfbpf::tune

#include "model/series_span.h"

#include <algorithm>
#include <atomic>
#include <cmath>

namespace perfbpf {

size_t intervals_per_span(double interval_s, double cadence_s) {
    if (!(interval_s > 0) || interval_s >= cadence_s) return 1;
    // 1 / 0.1 is 10 plus a rounding error: that must not make it 11.
    return static_cast<size_t>(std::max(1.0, std::ceil(cadence_s / interval_s - 1e-6)));
}

void SpanSeries::counters_per_interval() {
    for (size_t i = 0; i < series.size(); ++i)
        if (series[i].kind == MetricKind::counter && present[i] > 1)
            series[i].value /= static_cast<double>(present[i]);
}

void SeriesSpan::add(std::span<SeriesSample> series) {
    // Unique in the process, so samples of two spans never share an id for two keys.
    static std::atomic<uint64_t> next_id{1};
    ++intervals_;
    last_order_.resize(series.size());
    for (size_t pos = 0; pos < series.size(); ++pos) {
        SeriesSample& s = series[pos];
        // By key: this is where ids come from.
        auto* node = hints_.find(pos, s.key);
        if (!node) {
            auto [it, fresh] = accs_.try_emplace(s.key);
            if (fresh) it->second.id = next_id.fetch_add(1, std::memory_order_relaxed);
            node = &*it;
            hints_.remember(pos, node);
        }
        Acc& a = node->second;
        s.id = a.id;
        const double v = s.value;
        const bool histogram = s.kind == MetricKind::histogram;
        if (a.present == 0) {
            a.sum = a.max = v;
            if (histogram) a.hist = s.hist;
        } else {
            a.sum += v;
            a.max = std::max(a.max, v);
            if (histogram) a.hist.merge(s.hist);
        }
        a.last = v;
        a.kind = s.kind;
        ++a.present;
        last_order_[pos] = node;
    }
}

void SeriesSpan::emit(SpanSeries& out, const Map::value_type& node) {
    const Acc& a = node.second;
    SeriesSample s;
    s.key = node.first;
    s.kind = a.kind;
    s.id = a.id;
    switch (a.kind) {
        case MetricKind::counter:
            s.value = a.sum;
            break;
        case MetricKind::gauge:
            s.value = a.present > 1 ? a.sum / static_cast<double>(a.present) : a.sum;
            break;
        case MetricKind::level:
            s.value = a.last;
            break;
        case MetricKind::histogram:
            s.value = a.last;
            s.hist = a.hist;
            break;
    }
    out.series.push_back(std::move(s));
    out.max.push_back(a.max);
    out.present.push_back(a.present);
}

SpanSeries SeriesSpan::take() {
    SpanSeries out;
    out.intervals = intervals_;
    ++takes_;
    out.series.reserve(accs_.size());
    out.max.reserve(accs_.size());
    out.present.reserve(accs_.size());
    auto done = [&](Map::value_type& node) {
        emit(out, node);
        node.second.present = 0;
        node.second.last_take = takes_;
    };
    for (auto* node : last_order_)
        if (node->second.present > 0) done(*node);
    // Series of earlier intervals of the span that the last one lacked (an exited process).
    for (auto& node : accs_)
        if (node.second.present > 0) done(node);
    intervals_ = 0;
    // Series gone for a few spans are dropped now and then (a pass over all of them here is
    // cheap: once a span, not once an interval).
    constexpr uint64_t kDropAfterSpans = 8;
    if (takes_ % kDropAfterSpans == 0 && std::erase_if(accs_, [&](const auto& n) {
                                             return takes_ - n.second.last_take >= kDropAfterSpans;
                                         }) > 0) {
        hints_.clear();
        last_order_.clear();
    }
    return out;
}

}  // namespace perfbpf

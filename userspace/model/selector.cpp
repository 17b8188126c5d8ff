#include "model/selector.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <limits>

namespace perfbpf {
namespace {

bool name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool name_char(char c) {
    return name_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

// A recursive-descent reader over the selector text that knows its column for errors.
class SelectorReader {
  public:
    explicit SelectorReader(std::string_view text) : text_(text) {}

    Result<Selector> read() {
        Selector sel;
        skip_space();
        if (!done() && (name_start(peek()) || peek() == ':')) sel.metric = read_name(true);
        skip_space();
        if (!done() && peek() == '{') {
            ++pos_;
            auto m = read_matchers();
            if (!m) return std::unexpected(m.error());
            sel.matchers = std::move(*m);
        }
        skip_space();
        if (!done()) return error("expected '{' or the end after the metric name");
        if (sel.metric.empty() && sel.matchers.empty())
            return error("expected a metric name or at least one label matcher");
        return sel;
    }

  private:
    Result<std::vector<LabelMatcher>> read_matchers() {
        std::vector<LabelMatcher> out;
        skip_space();
        if (!done() && peek() == '}') {
            ++pos_;
            return out;
        }
        while (true) {
            skip_space();
            if (done() || !name_start(peek())) return error("expected a label name");
            LabelMatcher m;
            m.name = read_name(false);
            skip_space();
            auto op = read_op();
            if (!op) return std::unexpected(op.error());
            m.op = *op;
            skip_space();
            size_t value_col = pos_;
            auto value = read_quoted();
            if (!value) return std::unexpected(value.error());
            m.value = std::move(*value);
            if (m.op == LabelMatcher::Op::re || m.op == LabelMatcher::Op::nre) {
                try {
                    m.re = std::make_shared<const std::regex>(m.value, std::regex::ECMAScript);
                } catch (const std::regex_error& e) {
                    pos_ = value_col;
                    return error("expected a valid regular expression (" + std::string(e.what()) +
                                 ")");
                }
            }
            out.push_back(std::move(m));
            skip_space();
            if (done()) return error("expected ',' or '}'");
            char c = text_[pos_++];
            if (c == '}') return out;
            if (c != ',') {
                --pos_;
                return error("expected ',' or '}'");
            }
            skip_space();
            if (!done() && peek() == '}') {  // trailing comma, as Prometheus allows
                ++pos_;
                return out;
            }
        }
    }

    Result<LabelMatcher::Op> read_op() {
        auto rest = text_.substr(pos_);
        using Op = LabelMatcher::Op;
        for (auto [tok, op] : {std::pair{"=~", Op::re}, std::pair{"!~", Op::nre},
                               std::pair{"!=", Op::ne}, std::pair{"=", Op::eq}}) {
            if (rest.starts_with(tok)) {
                pos_ += std::string_view(tok).size();
                return op;
            }
        }
        return error("expected one of =, !=, =~, !~");
    }

    Result<std::string> read_quoted() {
        if (done() || peek() != '"') return error("expected a double-quoted value");
        size_t start = pos_++;
        std::string out;
        while (!done()) {
            char c = text_[pos_++];
            if (c == '"') return out;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (done()) break;
            char e = text_[pos_++];
            switch (e) {
                case 'n':
                    out += '\n';
                    break;
                case 't':
                    out += '\t';
                    break;
                case '\\':
                case '"':
                    out += e;
                    break;
                default:
                    // Unknown escapes stay literal, so regex escapes like \d pass through.
                    out += '\\';
                    out += e;
            }
        }
        pos_ = start;
        return error("expected a closing '\"' for the value starting here");
    }

    std::string read_name(bool metric) {
        size_t start = pos_;
        while (!done() && (name_char(peek()) || (metric && peek() == ':'))) ++pos_;
        return std::string(text_.substr(start, pos_ - start));
    }

    void skip_space() {
        while (!done() && std::isspace(static_cast<unsigned char>(peek()))) ++pos_;
    }
    bool done() const { return pos_ >= text_.size(); }
    char peek() const { return text_[pos_]; }

    std::unexpected<Error> error(const std::string& expected) const {
        return fail("selector '" + std::string(text_) + "' column " + std::to_string(pos_ + 1) +
                    ": " + expected);
    }

    std::string_view text_;
    size_t pos_ = 0;
};

std::string_view label_value(const Labels& labels, const std::string& name) {
    auto it = std::lower_bound(labels.begin(), labels.end(), name,
                               [](const auto& l, const std::string& n) { return l.first < n; });
    if (it == labels.end() || it->first != name) return {};
    return it->second;
}

// Digits with an optional fraction, scaled to an integer number of `unit`s without
// going through a double (so "nan"/"inf" cannot appear and overflow is exact).
Result<int64_t> scaled_decimal(std::string_view num, int64_t unit, std::string_view whole) {
    auto bad = [&](const std::string& why) {
        return fail("duration '" + std::string(whole) + "': " + why);
    };
    size_t dot = num.find('.');
    std::string_view ip = num.substr(0, dot);
    std::string_view fp = dot == std::string_view::npos ? std::string_view{} : num.substr(dot + 1);
    if (ip.empty() && fp.empty()) return bad("expected a number before the unit");
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    int64_t v = 0;
    for (char c : ip) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return bad("expected digits");
        if (v > (kMax - (c - '0')) / 10) return bad("too large");
        v = v * 10 + (c - '0');
    }
    if (v > kMax / unit) return bad("too large");
    v *= unit;
    int64_t scale = unit;
    for (char c : fp) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return bad("expected digits");
        if (scale < 10) break;  // finer than 1 ms: dropped
        scale /= 10;
        v += (c - '0') * scale;
        if (v < 0) return bad("too large");
    }
    return v;
}

Result<int> fixed_digits(std::string_view text, size_t pos, size_t n, std::string_view whole) {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i])))
            return fail("time '" + std::string(whole) + "' column " + std::to_string(i + 1) +
                        ": expected a digit");
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    // Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar.
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

Result<int64_t> parse_datetime_ms(std::string_view t, std::string_view whole) {
    auto err = [&](size_t col, const std::string& what) {
        return fail("time '" + std::string(whole) + "' column " + std::to_string(col + 1) +
                    ": expected " + what);
    };
    auto y = fixed_digits(t, 0, 4, whole);
    if (!y) return std::unexpected(y.error());
    if (t.size() < 5 || t[4] != '-') return err(4, "'-'");
    auto mo = fixed_digits(t, 5, 2, whole);
    if (!mo) return std::unexpected(mo.error());
    if (t.size() < 8 || t[7] != '-') return err(7, "'-'");
    auto d = fixed_digits(t, 8, 2, whole);
    if (!d) return std::unexpected(d.error());
    if (t.size() < 11 || (t[10] != 'T' && t[10] != 't' && t[10] != ' ')) return err(10, "'T'");
    auto h = fixed_digits(t, 11, 2, whole);
    if (!h) return std::unexpected(h.error());
    if (t.size() < 14 || t[13] != ':') return err(13, "':'");
    auto mi = fixed_digits(t, 14, 2, whole);
    if (!mi) return std::unexpected(mi.error());
    if (t.size() < 17 || t[16] != ':') return err(16, "':'");
    auto s = fixed_digits(t, 17, 2, whole);
    if (!s) return std::unexpected(s.error());
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*mo < 1 || *mo > 12) return err(5, "a month 01-12");
    int mdays = kDays[*mo - 1] + (*mo == 2 && leap(*y));
    if (*d < 1 || *d > mdays) return err(8, "a day 01-" + std::to_string(mdays));
    if (*h > 23) return err(11, "an hour 00-23");
    if (*mi > 59) return err(14, "a minute 00-59");
    if (*s > 59) return err(17, "a second 00-59");
    size_t pos = 19;
    int64_t frac_ms = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        size_t start = pos;
        int64_t scale = 100;
        while (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) {
            frac_ms += (t[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) return err(pos, "digits after '.'");
    }
    int64_t days = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
    int64_t secs = days * 86400 + *h * 3600 + *mi * 60 + *s;
    if (pos == t.size()) {
        // No zone: local time, as a user at this machine's clock means it.
        std::tm tm{};
        tm.tm_year = *y - 1900;
        tm.tm_mon = *mo - 1;
        tm.tm_mday = *d;
        tm.tm_hour = *h;
        tm.tm_min = *mi;
        tm.tm_sec = *s;
        tm.tm_isdst = -1;
        std::time_t local = std::mktime(&tm);
        if (local == static_cast<std::time_t>(-1) && secs != -1)
            return fail("time '" + std::string(whole) + "': not representable in local time");
        return static_cast<int64_t>(local) * 1000 + frac_ms;
    }
    if (t[pos] == 'Z' || t[pos] == 'z') {
        if (pos + 1 != t.size()) return err(pos + 1, "the end after 'Z'");
        return secs * 1000 + frac_ms;
    }
    if (t[pos] != '+' && t[pos] != '-') return err(pos, "'Z', '+hh:mm', '-hh:mm' or the end");
    int sign = t[pos] == '+' ? 1 : -1;
    auto oh = fixed_digits(t, pos + 1, 2, whole);
    if (!oh) return std::unexpected(oh.error());
    if (t.size() < pos + 4 || t[pos + 3] != ':') return err(pos + 3, "':'");
    auto om = fixed_digits(t, pos + 4, 2, whole);
    if (!om) return std::unexpected(om.error());
    if (*oh > 23 || *om > 59) return err(pos + 1, "an offset up to 23:59");
    if (pos + 6 != t.size()) return err(pos + 6, "the end after the offset");
    return (secs - sign * (*oh * 3600 + *om * 60)) * 1000 + frac_ms;
}

}  // namespace

Result<Selector> parse_selector(std::string_view text) {
    return SelectorReader(text).read();
}

bool matches(const Selector& selector, const SeriesKey& key) {
    if (!selector.metric.empty() && selector.metric != key.metric) return false;
    for (const auto& m : selector.matchers) {
        std::string_view v = label_value(key.labels, m.name);
        bool ok = false;
        switch (m.op) {
            case LabelMatcher::Op::eq:
                ok = v == m.value;
                break;
            case LabelMatcher::Op::ne:
                ok = v != m.value;
                break;
            case LabelMatcher::Op::re:
                ok = std::regex_match(v.begin(), v.end(), *m.re);
                break;
            case LabelMatcher::Op::nre:
                ok = !std::regex_match(v.begin(), v.end(), *m.re);
                break;
        }
        if (!ok) return false;
    }
    return true;
}

Result<int64_t> parse_duration_ms(std::string_view text) {
    std::string_view rest = text;
    if (rest.empty())
        return fail("duration '': expected a number and a unit (90s, 5m, 2h, 7d, 1w)");
    int64_t total = 0;
    while (!rest.empty()) {
        size_t num_end = 0;
        while (num_end < rest.size() &&
               (std::isdigit(static_cast<unsigned char>(rest[num_end])) || rest[num_end] == '.'))
            ++num_end;
        size_t unit_end = num_end;
        while (unit_end < rest.size() && std::isalpha(static_cast<unsigned char>(rest[unit_end])))
            ++unit_end;
        std::string_view unit = rest.substr(num_end, unit_end - num_end);
        int64_t ms = 0;
        if (unit == "ms")
            ms = 1;
        else if (unit == "s")
            ms = 1000;
        else if (unit == "m")
            ms = 60'000;
        else if (unit == "h")
            ms = 3'600'000;
        else if (unit == "d")
            ms = 86'400'000;
        else if (unit == "w")
            ms = 604'800'000;
        else
            return fail("duration '" + std::string(text) + "' column " +
                        std::to_string(text.size() - rest.size() + num_end + 1) +
                        ": expected a unit ms, s, m, h, d or w");
        auto part = scaled_decimal(rest.substr(0, num_end), ms, text);
        if (!part) return std::unexpected(part.error());
        if (*part > std::numeric_limits<int64_t>::max() - total)
            return fail("duration '" + std::string(text) + "': too large");
        total += *part;
        rest.remove_prefix(unit_end);
    }
    if (total <= 0) return fail("duration '" + std::string(text) + "': must be positive");
    return total;
}

Result<int64_t> parse_time_ms(std::string_view text, int64_t now_ms) {
    if (text == "now") return now_ms;
    if (text.empty()) return fail("time '': expected RFC 3339, unix seconds, 'now' or '-2h'");
    if (text.front() == '-') {
        auto d = parse_duration_ms(text.substr(1));
        if (!d) return fail("time '" + std::string(text) + "': " + d.error().message);
        if (now_ms < std::numeric_limits<int64_t>::min() + *d)
            return fail("time '" + std::string(text) + "': too far in the past");
        return now_ms - *d;
    }
    bool all_number = std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
    });
    if (all_number && std::count(text.begin(), text.end(), '.') <= 1) {
        auto ms = scaled_decimal(text, 1000, text);
        if (!ms) return fail("time '" + std::string(text) + "': unix seconds too large");
        return *ms;
    }
    return parse_datetime_ms(text, text);
}

}  // namespace perfbpf

// The metric catalogue covers every field of every struct, and the formats derived from it
// (JSON, recordings) carry every field.
#include <gtest/gtest.h>

#include <set>
#include <type_traits>

#include "model/catalogue.h"

namespace perfbpf {
namespace {

// Counts an aggregate's members by how many initializers it accepts. An array member takes
// one initializer per element (brace elision), which array_extra() makes up for.
struct AnyInit {
    template <class T>
    operator T() const;  // only in unevaluated requires-expressions
};

template <class T, class... A>
consteval size_t initializer_count() {
    if constexpr (requires { T{A{}..., AnyInit{}}; })
        return initializer_count<T, A..., AnyInit>();
    else
        return sizeof...(A);
}

template <class S>
size_t array_extra() {
    size_t extra = 0;
    for (const auto& f : fields<S>())
        std::visit(
            [&](auto m) {
                using T = std::remove_reference_t<decltype(std::declval<S&>().*m)>;
                if constexpr (std::is_array_v<T>) extra += std::extent_v<T> - 1;
            },
            f.member);
    return extra;
}

template <class S>
void expect_complete(const char* name) {
    static_assert(std::is_aggregate_v<S>);
    EXPECT_EQ(fields<S>().size() + array_extra<S>(), initializer_count<S>())
        << name << ": a member is missing from (or doubled in) its catalogue table";
    std::set<std::string_view> names;
    for (const auto& f : fields<S>()) {
        EXPECT_TRUE(names.insert(f.name).second) << name << "." << f.name << " twice";
        EXPECT_FALSE(f.help.empty()) << name << "." << f.name;
        if (metric_kind(f.kind)) {
            EXPECT_FALSE(f.unit.empty()) << name << "." << f.name;
        }
    }
}

TEST(Catalogue, EveryMemberOfEveryStructIsListedOnce) {
    expect_complete<SystemSample>("SystemSample");
    expect_complete<CpuSample>("CpuSample");
    expect_complete<ProcessSample>("ProcessSample");
    expect_complete<CgroupSample>("CgroupSample");
    expect_complete<DeviceSample>("DeviceSample");
    expect_complete<NetnsSample>("NetnsSample");
    expect_complete<Psi>("Psi");
    expect_complete<PsiLine>("PsiLine");
    expect_complete<CgroupMemory>("CgroupMemory");
}

TEST(Catalogue, KindsMapOntoMetricKinds) {
    EXPECT_EQ(metric_kind(FieldKind::counter), MetricKind::counter);
    EXPECT_EQ(metric_kind(FieldKind::histogram), MetricKind::histogram);
    EXPECT_EQ(metric_kind(FieldKind::identity), std::nullopt);
    EXPECT_EQ(metric_kind(FieldKind::nested), std::nullopt);
    const auto& pid = fields<ProcessSample>()[0];
    EXPECT_EQ(pid.name, "pid");
    EXPECT_EQ(pid.kind, FieldKind::identity);
}

}  // namespace
}  // namespace perfbpf

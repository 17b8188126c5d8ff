#include "tune/registry.h"

#include "tune/tuners/block_io.h"
#include "tune/tuners/cpu_share.h"
#include "tune/tuners/memory.h"
#include "tune/tuners/net_backlog.h"
#include "tune/tuners/tcp_buffers.h"

namespace perfbpf::tune {
namespace {

using Factory = std::unique_ptr<Tuner> (*)();

// The whole set, one line per tuner, in the order plans list them.
// (clang-format would pack these lines two by two.)
// clang-format off
const Factory kTuners[] = {
    [] { return make_block_io_tuner(); },
    [] { return make_net_backlog_tuner(); },
    [] { return make_tcp_buffers_tuner(); },
    [] { return make_cpu_share_tuner(); },
    [] { return make_memory_tuner(); },
};
// clang-format on

}  // namespace

std::vector<std::unique_ptr<Tuner>> make_all_tuners() {
    std::vector<std::unique_ptr<Tuner>> out;
    for (Factory f : kTuners) out.push_back(f());
    return out;
}

std::vector<std::string> tuner_names() {
    std::vector<std::string> out;
    for (const auto& t : make_all_tuners()) out.emplace_back(t->name());
    return out;
}

}  // namespace perfbpf::tune

#include "collect/mem_reader.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>

#include "collect/bpf_map_iter.h"
#include "collect/parse/procfs.h"
#include "probes/mem_probe.h"
#include "util/files.h"

namespace perfbpf {
namespace {

uint64_t as_word(mem_rss_slot s) {
    return std::bit_cast<uint64_t>(s);
}
mem_rss_slot as_slot(uint64_t w) {
    return std::bit_cast<mem_rss_slot>(w);
}

}  // namespace

MemReader::MemReader(const MemProbe& probe, std::string proc_root)
    : probe_(probe),
      proc_root_(std::move(proc_root)),
      deltas_(static_cast<uint64_t>(::sysconf(_SC_PAGESIZE))) {
    seed_from_proc();
}

void MemReader::seed_from_proc() {
    auto words = probe_.rss_words();
    DIR* dir = ::opendir(proc_root_.c_str());
    if (!dir) return;
    while (dirent* de = ::readdir(dir)) {
        if (!std::isdigit(static_cast<unsigned char>(de->d_name[0]))) continue;
        const unsigned long pid = std::strtoul(de->d_name, nullptr, 10);
        if (pid == 0 || pid >= words.size()) continue;
        auto text = read_file(proc_root_ + "/" + de->d_name + "/stat");
        if (!text) continue;
        auto st = parse_pid_stat(*text);
        if (!st || st->rss_pages == 0) continue;
        const uint32_t pages = static_cast<uint32_t>(std::min<uint64_t>(st->rss_pages, UINT32_MAX));
        // Only an empty slot: a value the kernel side wrote since attaching is newer.
        uint64_t expected = 0;
        std::atomic_ref<uint64_t>(words[pid])
            .compare_exchange_strong(expected, as_word(mem_rss_slot{pages, pages}));
    }
    ::closedir(dir);
}

void MemReader::sweep() {
    auto words = probe_.rss_words();
    for (size_t tgid = 1; tgid < words.size(); ++tgid) {
        std::atomic_ref<uint64_t> word(words[tgid]);
        uint64_t w = word.load(std::memory_order_relaxed);
        if (w == 0) continue;
        std::string path = proc_root_ + "/" + std::to_string(tgid);
        if (::access(path.c_str(), F_OK) != 0) word.compare_exchange_strong(w, 0);
    }
}

void MemReader::collect(SnapshotBuilder& builder) {
    if (!probe_.active()) return;
    // Exit records first, then the slots: a process that exits in between is then missed
    // by both reads in this interval and reported exited in the next, never twice.
    std::vector<mem_exit> exits;
    const int exits_fd = probe_.exits_fd();
    for_each_entry<uint32_t, mem_exit>(
        exits_fd, [&](const uint32_t&, const mem_exit& e) { exits.push_back(e); });
    for (const mem_exit& e : exits) bpf_map_delete_elem(exits_fd, &e.tgid);

    std::vector<std::pair<uint32_t, mem_rss_slot>> live;
    auto words = probe_.rss_words();
    for (size_t tgid = 1; tgid < words.size(); ++tgid) {
        std::atomic_ref<uint64_t> word(words[tgid]);
        uint64_t w = word.load(std::memory_order_relaxed);
        if (w == 0) continue;
        mem_rss_slot slot = as_slot(w);
        live.emplace_back(static_cast<uint32_t>(tgid), slot);
        // Restart the peak at the current level; a failed exchange means the kernel side
        // just wrote a newer level, whose peak then counts for the next interval too.
        if (slot.peak_pages != slot.rss_pages)
            word.compare_exchange_strong(w, as_word(mem_rss_slot{slot.rss_pages, slot.rss_pages}));
    }
    deltas_.apply(live, exits, builder);
    if (++reads_ % kSweepEveryReads == 0) sweep();
}

}  // namespace perfbpf

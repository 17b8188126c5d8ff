#include "leaks/user_contexts.h"

#include <cstring>
#include <vector>

namespace perfbpf {

std::optional<UserContextRecord> parse_user_context(std::span<const uint8_t> data) {
    UserContextRecord r{};
    if (data.size() < sizeof(r.hdr)) return std::nullopt;
    std::memcpy(&r.hdr, data.data(), sizeof(r.hdr));
    if (r.hdr.id == 0 || r.hdr.stack_bytes > data.size() - sizeof(r.hdr) ||
        r.hdr.fp_depth > KLEAKS_USER_MAX_DEPTH)
        return std::nullopt;
    r.stack = data.subspan(sizeof(r.hdr), r.hdr.stack_bytes);
    return r;
}

UserContexts::UserContexts(int ring_fd) {
    rb_ = ring_buffer__new(ring_fd, on_record, this, nullptr);
}

UserContexts::~UserContexts() {
    if (rb_) ring_buffer__free(rb_);
}

int UserContexts::on_record(void* ctx, void* data, size_t size) {
    auto* bytes = static_cast<const uint8_t*>(data);
    static_cast<UserContexts*>(ctx)->pending_.emplace_back(bytes, bytes + size);
    return 0;
}

void UserContexts::drain() {
    if (rb_) ring_buffer__consume(rb_);
}

void UserContexts::consume(const MappingSet& maps) {
    drain();
    unwinder_.add_modules(maps);
    for (const auto& record : pending_) {
        auto r = parse_user_context(record);
        if (!r) {
            ++malformed_;
            continue;
        }
        const kleaks_ustack& h = r->hdr;
        UnwoundStack dwarf = unwinder_.unwind(static_cast<int>(h.tid), {h.ip, h.sp, h.bp}, r->stack,
                                              KLEAKS_USER_MAX_DEPTH);
        const std::vector<uint64_t> fp(h.fp_ips, h.fp_ips + h.fp_depth);
        SampleStack picked = pick_sample_stack(dwarf, fp, h.top_word);
        fp_fallbacks_ += picked.from_frame_pointers;
        stacks_[h.id] = std::move(picked);
    }
    pending_.clear();
}

const SampleStack* UserContexts::find(uint32_t id) const {
    auto it = stacks_.find(id);
    return it == stacks_.end() ? nullptr : &it->second;
}

}  // namespace perfbpf

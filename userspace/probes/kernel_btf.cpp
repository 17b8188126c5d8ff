#include "probes/kernel_btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probes/libbpf_log.h"
#include "util/result.h"

namespace perfbpf {

const KernelBtf& KernelBtf::get() {
    static const KernelBtf instance;
    return instance;
}

KernelBtf::KernelBtf() {
    install_libbpf_logging();
    btf_ = btf__load_vmlinux_btf();
    if (!btf_) {
        error_ = "no kernel BTF (/sys/kernel/btf/vmlinux): " + errno_text(errno);
        btf_ = nullptr;
    }
}

bool KernelBtf::has_tracepoint(std::string_view name) const {
    if (!btf_) return false;
    std::string typedef_name = "btf_trace_" + std::string(name);
    return btf__find_by_name_kind(btf_, typedef_name.c_str(), BTF_KIND_TYPEDEF) > 0;
}

bool KernelBtf::has_struct(std::string_view name) const {
    if (!btf_) return false;
    return btf__find_by_name_kind(btf_, std::string(name).c_str(), BTF_KIND_STRUCT) > 0;
}

bool KernelBtf::has_member(std::string_view struct_name, std::string_view member) const {
    if (!btf_) return false;
    int id = btf__find_by_name_kind(btf_, std::string(struct_name).c_str(), BTF_KIND_STRUCT);
    if (id <= 0) return false;
    const struct btf_type* t = btf__type_by_id(btf_, id);
    const struct btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++m)
        if (member == btf__name_by_offset(btf_, m->name_off)) return true;
    return false;
}

std::string KernelBtf::enum_value_name(std::string_view enum_name, long long value) const {
    if (!btf_) return {};
    int id = btf__find_by_name_kind(btf_, std::string(enum_name).c_str(), BTF_KIND_ENUM);
    if (id <= 0) return {};
    const struct btf_type* t = btf__type_by_id(btf_, id);
    const struct btf_enum* e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++e) {
        if (e->val == value) return btf__name_by_offset(btf_, e->name_off);
    }
    return {};
}

}  // namespace perfbpf

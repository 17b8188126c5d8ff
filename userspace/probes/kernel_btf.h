// The running kernel's BTF, loaded once: which tracepoints and types this kernel has.
#pragma once

#include <string>
#include <string_view>

struct btf;

namespace perfbpf {

class KernelBtf {
  public:
    // The process-wide instance; available() is false when the kernel has no BTF.
    static const KernelBtf& get();

    bool available() const { return btf_ != nullptr; }
    const std::string& error() const { return error_; }
    // A raw tracepoint exists when its btf_trace_NAME typedef does.
    bool has_tracepoint(std::string_view name) const;
    bool has_struct(std::string_view name) const;
    bool has_member(std::string_view struct_name, std::string_view member) const;
    // Name of an enum value (e.g. enum skb_drop_reason), or "" when unknown.
    std::string enum_value_name(std::string_view enum_name, long long value) const;
    const struct btf* raw() const { return btf_; }

  private:
    KernelBtf();
    struct btf* btf_ = nullptr;
    std::string error_;
};

}  // namespace perfbpf

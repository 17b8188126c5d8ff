// System-wide facts from /proc: CPU split, load, memory, faults, swap, reclaim, PSI and
// the input backlog (softnet_stat).
#pragma once

#include <optional>
#include <string>

#include "collect/parse/procfs.h"
#include "collect/source.h"
#include "util/kept_files.h"

namespace perfbpf {

class SystemSource : public Source {
  public:
    explicit SystemSource(std::string proc_root);
    std::string_view name() const override { return "system"; }
    void collect(SnapshotBuilder& builder) override;
    // Whether /proc/pressure exists (kernel with CONFIG_PSI and psi not disabled).
    bool psi_available() const;

  private:
    void read_psi(const std::string& file, Psi& out, std::optional<Psi>& prev,
                  uint64_t interval_ns);

    std::string root_;
    KeptFiles files_{16};
    std::optional<ProcStat> prev_stat_;
    std::map<std::string, uint64_t> prev_vmstat_;
    std::optional<SoftnetTotals> prev_softnet_;
    std::optional<uint64_t> prev_out_segs_;
    std::optional<Psi> prev_cpu_, prev_mem_, prev_io_;
};

}  // namespace perfbpf

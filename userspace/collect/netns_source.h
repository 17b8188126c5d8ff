// Network namespaces: which exist (those of the interval's processes, those `ip netns`
// named in /run/netns, those the net family counted for), their names, a process in each,
// each one's /proc/net/netstat (listen queue overflows and other TcpExt counters), and what
// held its TCP senders back (tcp_info's chrono counters through sock_diag,
// collect/parse/tcp_chrono.h). Runs after the procfs source, which gives each process's
// namespace.
//
// A namespace's netstat is read through /proc/PID/net/netstat of a process in it (checked
// to still be in it before and after the read), or, for a named namespace without known
// processes, by a short-lived thread that joins it with setns and reads
// /proc/thread-self/net/netstat; the collector's own thread never changes namespace.
// A namespace's sock_diag socket and its sockstat files are opened once, by such a thread (a
// netlink socket lists the namespace it was made in, a proc net file counts it), and kept
// while the namespace is seen; a family they count no TCP socket of is not dumped.
// The first read of a namespace is its baseline: its counts start with the next interval.
#pragma once

#include <map>
#include <string>

#include "collect/parse/tcp_chrono.h"
#include "collect/source.h"
#include "collect/tcp_info_reader.h"
#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {

class NetnsSource : public Source {
  public:
    // rcvbuf_grow_attached: the net family counts tcp_rcvbuf_grow, so every namespace's
    // rcvbuf_grow fields are 0 rather than unavailable when nothing grew.
    NetnsSource(std::string proc_root, std::string run_netns_dir, bool rcvbuf_grow_attached);
    std::string_view name() const override { return "netns"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    Result<std::string> read_netstat(const NetnsSample& ns, const std::string& named_path) const;
    std::map<uint64_t, std::string> named() const;  // inode -> name, from /run/netns
    // Where to join namespace `ino`: its /run/netns name, pid 1's (the host) or a process's.
    std::string netns_path(uint64_t ino, const NetnsSample& ns, const std::string& named) const;
    // Every namespace's TCP sockets with their tcp_info, into the samples' chrono fields.
    void read_tcp_chrono(std::map<uint64_t, NetnsSample>& samples,
                         const std::map<uint64_t, std::string>& names);

    std::string proc_root_;
    std::string run_netns_;
    bool rcvbuf_grow_attached_;
    uint64_t host_inode_ = 0;  // pid 1's namespace (0 where it cannot be read)
    std::map<uint64_t, std::map<std::string, uint64_t>> prev_;  // inode -> netstat
    std::map<uint64_t, TcpDiag> sock_diag_;  // inode -> its sock_diag socket and socket counts
    TcpChronoDeltas chrono_;
    uint64_t last_sweep_ns_ = 0;
};

}  // namespace perfbpf

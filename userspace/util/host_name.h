// This machine's name, as alerts and remote-write samples carry it in `instance`.
#pragma once

#include <string>

namespace perfbpf {

// gethostname(), or "localhost" when it fails.
std::string host_name();

}  // namespace perfbpf

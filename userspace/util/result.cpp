#include "util/result.h"

#include <cstring>

namespace perfbpf {

std::string errno_text(int err) {
    if (err < 0) err = -err;
    char buf[128];
    // GNU strerror_r returns the message, which may not be buf.
    return ::strerror_r(err, buf, sizeof(buf));
}

}  // namespace perfbpf

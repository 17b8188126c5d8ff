#include "daemon/notify.h"

#include <systemd/sd-daemon.h>

namespace perfbpf {

void notify_ready() {
    sd_notify(0, "READY=1");
}

void notify_watchdog() {
    sd_notify(0, "WATCHDOG=1");
}

void notify_reloading() {
    sd_notify(0, "RELOADING=1");
}

void notify_stopping() {
    sd_notify(0, "STOPPING=1");
}

void notify_status(const std::string& text) {
    sd_notifyf(0, "STATUS=%s", text.c_str());
}

bool watchdog_enabled() {
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0;
}

}  // namespace perfbpf

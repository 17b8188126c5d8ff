// systemd's readiness and watchdog protocol (sd_notify). Without NOTIFY_SOCKET in the
// environment (not started by systemd) every call is a no-op.
#pragma once

#include <string>

namespace perfbpf {

void notify_ready();
void notify_watchdog();
void notify_reloading();
void notify_stopping();
void notify_status(const std::string& text);
// True when systemd expects WATCHDOG=1 messages (WatchdogSec= on the unit).
bool watchdog_enabled();

}  // namespace perfbpf

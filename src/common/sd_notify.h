// The systemd readiness protocol (sd_notify(3)) without libsystemd: one datagram of
// "KEY=value\n" lines to the Unix socket named by $NOTIFY_SOCKET (a path, or an abstract name
// written with a leading '@'). Without the variable (not started by systemd with Type=notify)
// every call does nothing.
#pragma once

#include <string>

namespace pharos::sd {

// Sends `state` ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1", "STATUS=...").
// Returns false when there is no socket to send to or the send failed; never throws.
bool notify(const std::string& state);

// "RELOADING=1\nMONOTONIC_USEC=<now>", as systemd wants it for a reload that has begun.
std::string reloading();

}  // namespace pharos::sd

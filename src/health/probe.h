// One probe of one check, on Asio: tcp (connect), http/https (a request, the status and
// optionally the body), dns (one UDP query). Each probe is bounded by the check's timeout: a
// timer cancels whatever operation is in progress (per-operation cancellation), and the reason
// names the phase that ran out ("connect timeout", "timeout reading response").
//
// Nothing here blocks: a probe is a coroutine on the caller's executor. Not thread-safe: start,
// cancel and the completion all happen on that executor's (single) thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "config/config.h"
#include "health/engine.h"

namespace pharos::health {

// A check prepared for probing: the parsed target, the serialized HTTP request, the TLS context
// (trust store loaded once), the DNS query and expectations. Immutable and shared by the probes.
struct ProbeSpec;

// Never fails: a problem (a target that is not an IP address, an unreadable ca_file, a
// malformed query_name, ...) is kept in the spec, and every probe fails with it.
std::shared_ptr<const ProbeSpec> prepare_probe(const config::HealthCheck& check);

// The problem prepare_probe found, or "".
const std::string& probe_spec_error(const ProbeSpec& spec);

struct ProbeOp;

// Cancels a running probe (its completion then reports "cancelled"); harmless once it finished.
class ProbeHandle {
 public:
  ProbeHandle() = default;
  explicit ProbeHandle(std::weak_ptr<ProbeOp> op) : op_(std::move(op)) {}
  void cancel();

 private:
  std::weak_ptr<ProbeOp> op_;
};

// Starts one probe. `done` is called exactly once, on `executor`, with the outcome and the
// latency (start to completion) -- unless the executor's context is destroyed first.
ProbeHandle start_probe(const boost::asio::any_io_executor& executor, std::shared_ptr<const ProbeSpec> spec,
                        std::function<void(ProbeResult)> done);

}  // namespace pharos::health

// Writing an AnswerPlan as a DNS message within the transport's size limit: UDP replies are cut
// at whole RRsets, with TC set when required data did not fit (RFC 2181 §9), and carry an OPT
// when the query did (RFC 6891).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/query.h"
#include "dns/writer.h"
#include "query/answer_plan.h"
#include "query/resolver.h"
#include "query/snapshot.h"

namespace pharos::query {

// The largest reply allowed: 65535 over TCP; over UDP the client's EDNS payload size (at least
// 512) up to our configured maximum, or 512 without EDNS (RFC 1035 §4.2.1, RFC 6891 §6.2.5).
size_t reply_limit(const dns::Query& q, const Options& o, Transport t);

struct Encoded {
  size_t size;
  bool truncated;
};

// Encodes `plan` as the reply to `q` into `buf` (at least reply_limit bytes).
Encoded encode(const dns::Query& q, const AnswerPlan& plan, const Options& o, Transport t, dns::MessageWriter& w,
               uint8_t* buf, size_t cap);

}  // namespace pharos::query

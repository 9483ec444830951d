#include "server/udp_worker.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/log.h"
#include "dns/types.h"

namespace pharos::server {

namespace {
constexpr size_t kControlSize = CMSG_SPACE(sizeof(in6_pktinfo)) > CMSG_SPACE(sizeof(in_pktinfo))
                                    ? CMSG_SPACE(sizeof(in6_pktinfo))
                                    : CMSG_SPACE(sizeof(in_pktinfo));
// How soon an idle worker notices stop() and lets go of an old snapshot.
constexpr timeval kReceiveTimeout{0, 100 * 1000};
}  // namespace

// Everything a batch needs, allocated once per worker.
struct UdpWorker::Batch {
  mmsghdr in[kBatch];
  mmsghdr out[kBatch];
  iovec in_iov[kBatch];
  iovec out_iov[kBatch];
  sockaddr_storage peers[kBatch];
  alignas(cmsghdr) uint8_t in_control[kBatch][kControlSize];
  alignas(cmsghdr) uint8_t out_control[kBatch][kControlSize];
  uint8_t in_buf[kBatch][kRecvSize];
  uint8_t out_buf[kBatch][dns::kMaxMessage];
};

UdpWorker::UdpWorker(std::string name, UdpSocket socket, const SnapshotStore& store, unsigned slot)
    : name_(std::move(name)),
      socket_(socket),
      snapshot_(store),
      processor_(std::make_unique<query::QueryProcessor>(slot)),
      batch_(new Batch) {  // default-initialised: only the pages a batch touches become resident
  // The receive headers point at fixed buffers; set them up once. After each recvmmsg only
  // the entries the kernel filled need their lengths restored.
  Batch& b = *batch_;
  for (unsigned i = 0; i < kBatch; ++i) {
    b.in_iov[i] = iovec{b.in_buf[i], kRecvSize};
    msghdr& h = b.in[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &b.peers[i];
    h.msg_iov = &b.in_iov[i];
    h.msg_iovlen = 1;
    h.msg_control = b.in_control[i];
  }
  reset_headers(kBatch);
  ::setsockopt(socket_.fd, SOL_SOCKET, SO_RCVTIMEO, &kReceiveTimeout, sizeof kReceiveTimeout);
}

void UdpWorker::reset_headers(unsigned count) {
  Batch& b = *batch_;
  for (unsigned i = 0; i < count; ++i) {
    msghdr& h = b.in[i].msg_hdr;
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_controllen = kControlSize;
    h.msg_flags = 0;
  }
}

UdpWorker::~UdpWorker() { stop(); }

void UdpWorker::start() {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), name_.substr(0, 15).c_str());
}

void UdpWorker::stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

void UdpWorker::run() {
  Batch& b = *batch_;
  while (!stop_.load(std::memory_order_relaxed)) {
    // Blocks until one datagram is there, then takes whatever else is queued (MSG_WAITFORONE).
    int n = ::recvmmsg(socket_.fd, b.in, kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) snapshot_.release();  // idle
      continue;
    }
    answer(static_cast<unsigned>(n));
  }
  snapshot_.release();
}

// For a socket bound to a wildcard address: makes `out` leave from the address `in` was sent to.
static void set_reply_source(msghdr& in, msghdr& out, uint8_t* control) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&in); c; c = CMSG_NXTHDR(&in, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      info.ipi_spec_dst = info.ipi_addr;
      info.ipi_ifindex = 0;
      out.msg_control = control;
      out.msg_controllen = CMSG_SPACE(sizeof info);
      cmsghdr* oc = CMSG_FIRSTHDR(&out);
      oc->cmsg_level = IPPROTO_IP;
      oc->cmsg_type = IP_PKTINFO;
      oc->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(oc), &info, sizeof info);
      return;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      out.msg_control = control;
      out.msg_controllen = CMSG_SPACE(sizeof info);
      cmsghdr* oc = CMSG_FIRSTHDR(&out);
      oc->cmsg_level = IPPROTO_IPV6;
      oc->cmsg_type = IPV6_PKTINFO;
      oc->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(oc), &info, sizeof info);
      return;
    }
  }
}

// Answers the `n` datagrams of a batch and sends the replies.
void UdpWorker::answer(unsigned n) {
  Batch& b = *batch_;
  counters_.batches.inc();
  const query::Snapshot& snap = snapshot_.get();
  unsigned replies = 0;
  for (unsigned i = 0; i < n; ++i) {
    msghdr& h = b.in[i].msg_hdr;
    if (h.msg_flags & MSG_TRUNC) {
      counters_.oversized.inc();
      continue;
    }
    size_t len = processor_->process(snap, b.in_buf[i], b.in[i].msg_len, b.out_buf[replies], dns::kMaxMessage,
                                     query::Transport::Udp, reinterpret_cast<const sockaddr*>(&b.peers[i]));
    if (len == 0) continue;
    mmsghdr& o = b.out[replies];
    b.out_iov[replies] = iovec{b.out_buf[replies], len};
    o.msg_hdr = msghdr{};
    o.msg_hdr.msg_name = &b.peers[i];
    o.msg_hdr.msg_namelen = h.msg_namelen;
    o.msg_hdr.msg_iov = &b.out_iov[replies];
    o.msg_hdr.msg_iovlen = 1;
    if (socket_.pktinfo) set_reply_source(h, o.msg_hdr, b.out_control[replies]);
    ++replies;
  }
  reset_headers(n);
  unsigned sent = 0;
  while (sent < replies) {
    int k = ::sendmmsg(socket_.fd, b.out + sent, replies - sent, MSG_DONTWAIT);
    if (k < 0) {
      if (errno == EINTR) continue;
      // EAGAIN/ENOBUFS or an unreachable peer: skip the first reply and go on with the rest.
      counters_.send_errors.inc();
      ++sent;
      continue;
    }
    sent += static_cast<unsigned>(k);
  }
}

}  // namespace pharos::server

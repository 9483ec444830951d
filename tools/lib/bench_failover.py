#!/usr/bin/env python3
"""Helpers for tools/bench-failover (standard library only).

  bench_failover.py freeport [--addr A ...]
      Prints a TCP and UDP port that is free on every given loopback address (default 127.0.0.1).
  bench_failover.py backend --addr A --port P
      A tiny HTTP server: GET /health answers 200 "ok", anything else 404. Runs until killed.
  bench_failover.py query --port P [--name N] [--timeout S]
      One A query to 127.0.0.1:P; prints the answer addresses (space-separated) or the error.
  bench_failover.py trials --port P --name N --primary A --secondary B --hport H --trials T
                           --out FILE [--tag NAME] [--up A,B] [--down B] [--poll-ms 10] [--hold S]
                           [--settle-min S] [--settle-max S] [--warmup S] [--warm-stable S]
                           [--verify-limit S] [--limit S]
      Runs T failover trials against the DNS server on 127.0.0.1:P. The answer is the --up set
      (default: A alone) while the primary is healthy and the --down set (default: B alone) when
      it is not; gdnsd's multifo answers A and B while both are up. It starts the primary
      backend itself (A:H, a forked child), waits until the name has answered the up set for
      --warm-stable seconds in a row (PowerDNS answers before its first check), checks once,
      unrecorded, that the answer moves to the down set when the primary dies and back when it
      returns (exit status 3 if not, or if the up set never came), then for each trial: waits
      a random settle time, SIGKILLs the primary, polls every --poll-ms until the answer is the
      down set (detection), keeps polling --hold seconds with the primary down and counts
      answers that contain A again (wrong answers after detection), restarts the primary and
      polls until the answer is the up set again (recovery, timed from the moment the new
      backend listens). One JSON line per trial goes to FILE.
  bench_failover.py summary --in FILE
      Prints "det_med det_max rec_med rec_max wrong errors n timeouts" (ms) from a trials FILE.
  bench_failover.py table RESULTS
      Prints the comparison table from key=value lines.
  bench_failover.py tree PID
      PID and its descendants, one a line.
"""

import argparse
import errno
import http.server
import json
import os
import random
import select
import signal
import socket
import statistics
import struct
import sys
import time

from proctree import tree  # tools/lib, the directory of this script

# ---------------------------------------------------------------------------------------------
# small utilities


def freeport(addrs):
    """A port that is free for TCP and UDP on every address in addrs."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((addrs[0], 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for a in addrs:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                t = socket.socket(socket.AF_INET, kind)
                try:
                    t.bind((a, port))
                except OSError:
                    ok = False
                finally:
                    t.close()
        if ok:
            return port
    raise SystemExit("no free port found")


# ---------------------------------------------------------------------------------------------
# HTTP backend


class Health(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        if self.path.split("?")[0] == "/health":
            body, code = b"ok\n", 200
        else:
            body, code = b"not found\n", 404
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet: health checkers poll many times a second
        pass


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True  # restart on the same address at once after a SIGKILL
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        pass  # gdnsd's checker closes the connection once it has the status line: broken pipes


def run_backend(addr, port, ready_fd=None):
    srv = Server((addr, port), Health)
    if ready_fd is not None:
        os.write(ready_fd, b"r")
        os.close(ready_fd)
    srv.serve_forever(poll_interval=0.5)


def spawn_backend(addr, port):
    """Forks a backend; returns (pid, monotonic time at which it listens)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            run_backend(addr, port, w)
        except BaseException as e:  # noqa: BLE001 - report anything, then leave without cleanup
            sys.stderr.write("backend %s:%d: %s\n" % (addr, port, e))
        os._exit(1)
    os.close(w)
    got = os.read(r, 1)
    t = time.monotonic()
    os.close(r)
    if got != b"r":
        os.waitpid(pid, 0)
        raise SystemExit("backend %s:%d did not start" % (addr, port))
    return pid, t


# ---------------------------------------------------------------------------------------------
# DNS


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += n + 1


class Resolver:
    """A connected UDP socket to 127.0.0.1:port asking one name's A records."""

    def __init__(self, port, name):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.qtail = encode_name(name) + struct.pack("!HH", 1, 1)

    def ask(self, timeout):
        """Returns a frozenset of answer addresses, or a string naming the error."""
        qid = random.getrandbits(16)
        # drain stale replies to earlier queries that timed out
        while True:
            try:
                self.sock.recv(4096)
            except (BlockingIOError, ConnectionRefusedError):
                break
        try:
            self.sock.send(struct.pack("!HHHHHH", qid, 0x0000, 1, 0, 0, 0) + self.qtail)
        except ConnectionRefusedError:
            return "refused"
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return "timeout"
            try:
                msg = self.sock.recv(4096)
            except ConnectionRefusedError:
                return "refused"
            except BlockingIOError:
                continue
            if len(msg) < 12:
                continue
            rid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
            if rid != qid:
                continue
            rcode = flags & 0xF
            if rcode != 0:
                return "rcode%d" % rcode
            off = 12
            for _ in range(qd):
                off = skip_name(msg, off) + 4
            addrs = []
            for _ in range(an):
                off = skip_name(msg, off)
                rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
                off += 10
                if rtype == 1 and rdlen == 4:
                    addrs.append(socket.inet_ntoa(msg[off:off + 4]))
                off += rdlen
            if not addrs:
                return "nodata"
            return frozenset(addrs)


# ---------------------------------------------------------------------------------------------
# trials


class NotFollowing(Exception):
    """The server's answer does not follow the primary backend's health (exit status 3)."""


class Trials:
    def __init__(self, a):
        self.a = a
        self.res = Resolver(a.port, a.name)
        self.UP = frozenset(a.up.split(",")) if a.up else frozenset([a.primary])
        self.DOWN = frozenset(a.down.split(",")) if a.down else frozenset([a.secondary])
        if a.primary not in self.UP or a.primary in self.DOWN or self.UP == self.DOWN:
            raise SystemExit("--up must contain the primary, --down must not")
        self.primary_pid = None
        self.qtimeout = min(0.25, a.limit)

    def log(self, msg):
        sys.stderr.write("bench-failover: [%s] %s\n" % (self.a.tag, msg))
        sys.stderr.flush()

    def start_primary(self):
        self.primary_pid, t = spawn_backend(self.a.primary, self.a.hport)
        return t

    def kill_primary(self):
        t = time.monotonic()
        os.kill(self.primary_pid, signal.SIGKILL)
        os.waitpid(self.primary_pid, 0)  # the listening socket is gone once it is reaped
        self.primary_pid = None
        return t

    def poll_until(self, want, since, limit, counts):
        """Polls every poll-ms until the answer is `want`; returns (seconds since `since`) or
        None after `limit` seconds. Counts the answers seen by kind in `counts`."""
        step = self.a.poll_ms / 1000.0
        nxt = time.monotonic()
        while True:
            ans = self.res.ask(self.qtimeout)
            now = time.monotonic()
            kind = self.kind(ans)
            counts[kind] = counts.get(kind, 0) + 1
            if ans == want:
                return now - since
            if now - since > limit:
                return None
            nxt += step
            if nxt > now:
                time.sleep(nxt - now)
            else:
                nxt = now

    def kind(self, ans):
        """"up", "down", an error ("timeout", "rcode2", ...) or "other:ADDRS"."""
        if ans == self.UP:
            return "up"
        if ans == self.DOWN:
            return "down"
        if isinstance(ans, str):
            return ans
        return "other:" + ",".join(sorted(ans))

    def wrong(self, counts):
        """Answers in `counts` that contain the primary: wrong while it is down."""
        return sum(v for k, v in counts.items()
                   if k == "up" or (k.startswith("other:") and self.a.primary in k[6:].split(",")))

    @staticmethod
    def errors(counts):
        """Failed queries in `counts`: timeouts, error rcodes, empty answers."""
        return sum(v for k, v in counts.items() if k not in ("up", "down") and not k.startswith("other:"))

    @staticmethod
    def failures(*counts):
        total = {}
        for c in counts:
            for k, v in c.items():
                if k not in ("up", "down") and not k.startswith("other:"):
                    total[k] = total.get(k, 0) + v
        return ", ".join("%s %d" % kv for kv in sorted(total.items()))

    def hold(self, seconds):
        """Polls for `seconds` with the primary down; returns the answers by kind."""
        step = self.a.poll_ms / 1000.0
        counts = {}
        end = time.monotonic() + seconds
        nxt = time.monotonic()
        while True:
            ans = self.res.ask(self.qtimeout)
            k = self.kind(ans)
            counts[k] = counts.get(k, 0) + 1
            now = time.monotonic()
            if now >= end:
                return counts
            nxt += step
            if nxt > now:
                time.sleep(nxt - now)
            else:
                nxt = now

    def stable(self, want, seconds, limit):
        """Waits until `seconds` of consecutive answers are `want` (at most `limit` seconds)."""
        t0 = time.monotonic()
        good_since = None
        while time.monotonic() - t0 < limit:
            ans = self.res.ask(self.qtimeout)
            now = time.monotonic()
            if ans == want:
                if good_since is None:
                    good_since = now
                if now - good_since >= seconds:
                    return True
            else:
                good_since = None
            time.sleep(self.a.poll_ms / 1000.0)
        return False

    def run(self):
        a = self.a
        out = open(a.out, "w")
        self.start_primary()
        self.log("primary backend %s:%d up; waiting for %s to answer it" % (a.primary, a.hport, a.name))
        if not self.stable(self.UP, a.warm_stable, a.warmup):
            raise NotFollowing("%s: %s did not answer %s within %g s (last: %s)"
                             % (a.tag, a.name, ",".join(sorted(self.UP)), a.warmup,
                                self.kind(self.res.ask(1.0))))
        # One unrecorded round first: the answer must leave the primary when it dies and come
        # back when it returns, or the server does not follow the backend at all.
        t_kill = self.kill_primary()
        counts = {}
        if self.poll_until(self.DOWN, t_kill, a.verify_limit, counts) is None:
            self.log("answers while the primary was down: %s" % counts)
            raise NotFollowing("%s: the answer did not move to %s within %g s of killing the primary"
                               % (a.tag, ",".join(sorted(self.DOWN)), a.verify_limit))
        t_up = self.start_primary()
        counts = {}
        if self.poll_until(self.UP, t_up, a.verify_limit, counts) is None:
            self.log("answers after the primary returned: %s" % counts)
            raise NotFollowing("%s: the answer did not come back to %s within %g s of the primary's return"
                               % (a.tag, ",".join(sorted(self.UP)), a.verify_limit))
        self.log("follows the backend: the answer moved to %s and back" % ",".join(sorted(self.DOWN)))
        rng = random.Random(a.seed)
        for i in range(1, a.trials + 1):
            # A random phase against the server's check schedule.
            time.sleep(rng.uniform(a.settle_min, a.settle_max))
            # the answer must be the primary right before the kill
            if self.res.ask(self.qtimeout) != self.UP:
                if not self.stable(self.UP, 0.5, a.warmup):
                    raise SystemExit("%s: trial %d: not answering the up set before the kill" % (a.tag, i))
            t_kill = self.kill_primary()
            det_counts = {}
            det = self.poll_until(self.DOWN, t_kill, a.limit, det_counts)
            # the hold has a random length too, so that the restart falls at a random phase
            held = self.hold(a.hold + rng.uniform(0, a.settle_max - a.settle_min)) if det is not None else {}
            wrong = self.wrong(held)
            errors = self.errors(held)
            det_errors = self.errors(det_counts)
            t_up = self.start_primary()
            rec_counts = {}
            rec = self.poll_until(self.UP, t_up, a.limit, rec_counts)
            rec_errors = self.errors(rec_counts)
            row = {"trial": i, "detection_ms": None if det is None else round(det * 1000, 1),
                   "recovery_ms": None if rec is None else round(rec * 1000, 1),
                   "wrong_after_detection": wrong, "errors_after_detection": errors,
                   "errors_before_detection": det_errors, "errors_during_recovery": rec_errors,
                   "hold_answers": held, "detect_answers": det_counts, "recover_answers": rec_counts}
            out.write(json.dumps(row) + "\n")
            out.flush()
            self.log("trial %d/%d: detection %s ms, recovery %s ms, wrong after detection %d%s"
                     % (i, a.trials, row["detection_ms"], row["recovery_ms"], wrong,
                        "" if not (errors or det_errors or rec_errors) else
                        ", failed queries before/after detection/in recovery %d/%d/%d (%s)"
                        % (det_errors, errors, rec_errors, self.failures(det_counts, held, rec_counts))))
            if rec is None:
                raise SystemExit("%s: no recovery within %g s" % (a.tag, a.limit))
        if self.primary_pid:
            self.kill_primary()
        out.close()


def cmd_trials(a):
    t = Trials(a)

    def stop(signum, _frame):
        if t.primary_pid:
            try:
                os.kill(t.primary_pid, signal.SIGKILL)
            except OSError:
                pass
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        t.run()
    except NotFollowing as e:
        sys.stderr.write("bench-failover: %s\n" % e)
        sys.exit(3)
    finally:
        if t.primary_pid:
            try:
                os.kill(t.primary_pid, signal.SIGKILL)
                os.waitpid(t.primary_pid, 0)
            except OSError:
                pass


def load_trials(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def cmd_summary(a):
    rows = load_trials(a.inp)
    det = [r["detection_ms"] for r in rows if r["detection_ms"] is not None]
    rec = [r["recovery_ms"] for r in rows if r["recovery_ms"] is not None]
    wrong = sum(r["wrong_after_detection"] for r in rows)
    errors = sum(r["errors_after_detection"] + r["errors_before_detection"] + r["errors_during_recovery"]
                 for r in rows)
    timeouts = len(rows) - len(det)
    f = lambda xs, g: "%.0f" % g(xs) if xs else "-"  # noqa: E731
    print(f(det, statistics.median), f(det, max), f(rec, statistics.median), f(rec, max), wrong, errors,
          len(rows), timeouts)


# ---------------------------------------------------------------------------------------------
# table


def cmd_table(path):
    kv = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                kv[k] = v
    rows = [s for s in kv.get("rows", "").split() if s]
    if not rows:
        print("(no results)")
        return

    def fmt_ms(v):
        if v in (None, "", "-"):
            return "-"
        return "{:,.0f}".format(float(v))

    header = ["", *[kv.get("label." + r, r) for r in rows]]
    lines = [
        ("detection median (ms)", [fmt_ms(kv.get("det_med." + r)) for r in rows]),
        ("detection max (ms)", [fmt_ms(kv.get("det_max." + r)) for r in rows]),
        ("recovery median (ms)", [fmt_ms(kv.get("rec_med." + r)) for r in rows]),
        ("recovery max (ms)", [fmt_ms(kv.get("rec_max." + r)) for r in rows]),
        ("wrong answers after detection", [kv.get("wrong." + r, "-") for r in rows]),
        ("failed queries (timeout/error)", [kv.get("errors." + r, "-") for r in rows]),
        ("trials (no detection)", ["%s (%s)" % (kv.get("n." + r, "-"), kv.get("timeouts." + r, "-"))
                                   for r in rows]),
        ("check interval", [kv.get("interval." + r, "-") for r in rows]),
        ("fast interval (while pending)", [kv.get("fast." + r, "-") for r in rows]),
        ("probe timeout", [kv.get("timeout." + r, "-") for r in rows]),
        ("down after (failures)", [kv.get("fall." + r, "-") for r in rows]),
        ("up after (successes)", [kv.get("rise." + r, "-") for r in rows]),
    ]
    widths = [max(len(l[0]) for l in lines)]
    for i in range(len(rows)):
        widths.append(max(len(header[i + 1]), *(len(l[1][i]) for l in lines)))
    def row(cells, first=False):
        out = "| " + cells[0].ljust(widths[0]) + " |"
        for i, c in enumerate(cells[1:]):
            out += " " + c.rjust(widths[i + 1]) + " |"
        return out
    print(row(header))
    print("|" + "-" * (widths[0] + 2) + "|" + "|".join("-" * (w + 1) + ":" for w in widths[1:]) + "|")
    for name, cells in lines:
        print(row([name, *cells]))


# ---------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("freeport")
    s.add_argument("--addr", action="append")
    s = sub.add_parser("backend")
    s.add_argument("--addr", required=True)
    s.add_argument("--port", type=int, required=True)
    s = sub.add_parser("query")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--name", default="www.failover.test")
    s.add_argument("--timeout", type=float, default=1.0)
    s = sub.add_parser("trials")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--name", default="www.failover.test")
    s.add_argument("--primary", required=True)
    s.add_argument("--secondary", required=True)
    s.add_argument("--hport", type=int, required=True)
    s.add_argument("--trials", type=int, default=10)
    s.add_argument("--out", required=True)
    s.add_argument("--tag", default="server")
    s.add_argument("--up", default="")
    s.add_argument("--down", default="")
    s.add_argument("--poll-ms", type=float, default=10.0)
    s.add_argument("--hold", type=float, default=3.0)
    s.add_argument("--settle-min", type=float, default=1.0)
    s.add_argument("--settle-max", type=float, default=3.0)
    s.add_argument("--warmup", type=float, default=30.0)
    s.add_argument("--verify-limit", type=float, default=20.0)
    s.add_argument("--warm-stable", type=float, default=3.0)
    s.add_argument("--limit", type=float, default=60.0)
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("summary")
    s.add_argument("--in", dest="inp", required=True)
    s = sub.add_parser("table")
    s.add_argument("results")
    s = sub.add_parser("tree")
    s.add_argument("pid", type=int)
    a = p.parse_args()
    if a.cmd == "freeport":
        print(freeport(a.addr or ["127.0.0.1"]))
    elif a.cmd == "backend":
        run_backend(a.addr, a.port)
    elif a.cmd == "query":
        ans = Resolver(a.port, a.name).ask(a.timeout)
        print(ans if isinstance(ans, str) else " ".join(sorted(ans)))
    elif a.cmd == "trials":
        cmd_trials(a)
    elif a.cmd == "summary":
        cmd_summary(a)
    elif a.cmd == "table":
        cmd_table(a.results)
    elif a.cmd == "tree":
        for pid in tree(a.pid):
            print(pid)


if __name__ == "__main__":
    main()

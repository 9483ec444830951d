#!/usr/bin/env python3
"""Helpers for tools/bench-edge (standard library only).

  bench_edge.py freeport
      Prints a TCP port free on 127.0.0.1.
  bench_edge.py waitup --port P --pid PID [--timeout S]
      Waits until a TLS handshake and a GET / on 127.0.0.1:P answer 200 (exit 1 if PID exits or
      after the timeout).
  bench_edge.py keepalive --pid PID --port P --seconds S --conns C [--cpu N]
      wrk -t1 -cC -dS https://127.0.0.1:P/ (pinned to core N with taskset), the proxy's CPU
      (utime+stime of PID and its descendants, /proc) read around it. Prints one JSON line:
      requests, req/s, cpu seconds, µs per request; fails on socket errors or non-2xx answers.
  bench_edge.py newconn --pid PID --port P --seconds S --procs K
      K client processes, each in a loop: a new TCP connection, a FULL TLS handshake (a fresh
      session every time: no session offered, OP_NO_TICKET, no cache), GET / with
      Connection: close, the whole response, close. The proxy's CPU is read around the run.
      Every connection's SSL_session_reused() is checked; prints one JSON line with connections,
      how many were resumed (must be 0), the TLS versions seen, cpu, ms per connection.
  bench_edge.py idle --pid PID --port P --conns N
      Opens N TLS connections to the proxy and on each does one keep-alive GET / (response read
      whole), then leaves them all open and idle. VmRSS (sum over PID's tree) is read after 20
      warm-up connections have come and gone, and again 2 s after the N are open; prints one JSON
      line with the difference per connection in KiB (also Pss from smaps_rollup).
  bench_edge.py conns --port P --count N
      N connections one after another, each as newconn's (a full handshake, checked, GET / with
      Connection: close, close); one JSON line. Exit 3 if any was resumed or failed.
  bench_edge.py requests --port P --conns K --per-conn R
      K TLS connections, one after another, each doing R keep-alive GET / requests; one JSON line.
  bench_edge.py straced FILE
      The calls per syscall in a `strace -c` summary, as one JSON object.
  bench_edge.py cost-table RESULTS
      tools/bench-edge-cost's tables from its results file (lines 'proxy cert kind count value').
  bench_edge.py table RESULTS
      Prints the comparison table (medians over rounds) from the results file.
  bench_edge.py tree PID
      PID and its descendants, one a line.
"""

import argparse
import json
import multiprocessing
import os
import re
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import time

from proctree import cpu_split, cpu_ticks, mem_kb, tree  # tools/lib, the directory of this script

REQUEST = b"GET / HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bench-edge\r\n"


def freeport():
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        t.close()
        return port
    raise SystemExit("no free port")


def cpu_seconds(pid):
    return cpu_ticks(pid) / os.sysconf("SC_CLK_TCK")


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE   # verification is client work; the proxy's cost is the same
    ctx.options |= ssl.OP_NO_TICKET
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def read_response(s):
    """Reads one response with a Content-Length body (or to EOF); returns the status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(16384)
        if not d:
            raise ConnectionError("closed before the response head")
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if m:
        need = int(m.group(1))
        while len(body) < need:
            d = s.recv(16384)
            if not d:
                raise ConnectionError("closed inside the body")
            body += d
    else:
        while True:
            d = s.recv(16384)
            if not d:
                break
    return status


def tls_connect(ctx, port):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(raw, server_hostname="bench.test")


def waitup(args):
    deadline = time.monotonic() + args.timeout
    ctx = client_context()
    while time.monotonic() < deadline:
        try:
            os.kill(args.pid, 0)
        except OSError:
            print("process %d exited" % args.pid, file=sys.stderr)
            return 1
        try:
            s = tls_connect(ctx, args.port)
            s.sendall(REQUEST + b"Connection: close\r\n\r\n")
            st = read_response(s)
            s.close()
            if st == 200:
                return 0
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.1)
    print("no 200 within %s s" % args.timeout, file=sys.stderr)
    return 1


def keepalive(args):
    cmd = ["wrk", "-t1", "-c%d" % args.conns, "-d%ds" % args.seconds, "--latency",
           "-H", "Host: bench.test", "https://127.0.0.1:%d/" % args.port]
    if args.cpu is not None:
        cmd = ["taskset", "-c", str(args.cpu)] + cmd
    u0, s0 = cpu_split(args.pid)
    t0 = time.monotonic()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.monotonic() - t0
    u1, s1 = cpu_split(args.pid)
    hz = os.sysconf("SC_CLK_TCK")
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if not m:
        raise SystemExit("cannot read wrk's output:\n" + out)
    reqs = int(m.group(1))
    bad = re.search(r"Socket errors: .*|Non-2xx or 3xx responses: \d+", out)
    if bad:
        raise SystemExit("wrk reports errors: %s\n%s" % (bad.group(0), out))
    user, system = (u1 - u0) / hz, (s1 - s0) / hz
    cpu = user + system
    print(json.dumps({"requests": reqs, "rps": reqs / wall, "cpu_s": cpu,
                      "cpu_pct": 100 * cpu / wall, "us_per_req": 1e6 * cpu / reqs,
                      "user_us_per_req": 1e6 * user / reqs, "sys_us_per_req": 1e6 * system / reqs}))
    return 0


def one_new_conn(ctx, port, versions):
    """A new connection with a full handshake, GET / with Connection: close, the whole response,
    close. Returns (answered 200, resumed: 0 or 1); counts the TLS version into `versions`."""
    try:
        s = tls_connect(ctx, port)
        reused = 1 if s.session_reused else 0
        versions[s.version()] = versions.get(s.version(), 0) + 1
        s.sendall(REQUEST + b"Connection: close\r\n\r\n")
        st = read_response(s)
        s.close()
        return st == 200, reused
    except (OSError, ValueError, IndexError):
        return False, 0


def _newconn_worker(port, until, q):
    ctx = client_context()
    n = reused = errors = 0
    versions = {}
    while time.monotonic() < until:
        ok, r = one_new_conn(ctx, port, versions)
        reused += r
        errors += 0 if ok else 1
        n += 1 if ok else 0
    q.put((n, reused, errors, versions))


def newconn(args):
    q = multiprocessing.Queue()
    c0 = cpu_seconds(args.pid)
    t0 = time.monotonic()
    until = t0 + args.seconds
    procs = [multiprocessing.Process(target=_newconn_worker, args=(args.port, until, q))
             for _ in range(args.procs)]
    for p in procs:
        p.start()
    res = [q.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.monotonic() - t0
    c1 = cpu_seconds(args.pid)
    n = sum(r[0] for r in res)
    reused = sum(r[1] for r in res)
    errors = sum(r[2] for r in res)
    versions = {}
    for r in res:
        for k, v in r[3].items():
            versions[k] = versions.get(k, 0) + v
    if n == 0:
        raise SystemExit("no connection completed")
    cpu = c1 - c0
    print(json.dumps({"conns": n, "reused": reused, "errors": errors, "versions": versions,
                      "cps": n / wall, "cpu_s": cpu, "ms_per_conn": 1e3 * cpu / n}))
    return 0 if reused == 0 and errors == 0 else 3


def conns(args):
    ctx = client_context()
    reused = errors = 0
    versions = {}
    for _ in range(args.count):
        ok, r = one_new_conn(ctx, args.port, versions)
        reused += r
        errors += 0 if ok else 1
    print(json.dumps({"conns": args.count, "reused": reused, "errors": errors, "versions": versions}))
    return 0 if reused == 0 and errors == 0 else 3


def requests(args):
    ctx = client_context()
    errors = 0
    for _ in range(args.conns):
        s = tls_connect(ctx, args.port)
        for _ in range(args.per_conn):
            s.sendall(REQUEST + b"\r\n")
            if read_response(s) != 200:
                errors += 1
        s.close()
    print(json.dumps({"conns": args.conns, "requests": args.conns * args.per_conn, "errors": errors}))
    return 0 if errors == 0 else 3


def straced(args):
    """`strace -c` prints '% time, seconds, usecs/call, calls, [errors,] syscall' rows."""
    calls = {}
    with open(args.file) as f:
        for line in f:
            t = line.split()
            if len(t) >= 5 and t[3].isdigit() and re.match(r"^[a-z_0-9]+$", t[-1]) and t[-1] != "total":
                calls[t[-1]] = calls.get(t[-1], 0) + int(t[3])
    print(json.dumps(calls))
    return 0


def cost_table(args):
    """RESULTS lines: 'proxy cert kind count value', kind ir (callgrind's total Ir of a run with
    `count` new connections, or `count` keep-alive requests), or strace (a JSON object of calls
    per syscall during `count` new connections). Per unit = difference / extra count."""
    ir, st = {}, {}
    with open(args.results) as f:
        for line in f:
            proxy, cert, kind, count, value = line.split(" ", 4)
            if kind == "strace":
                st.setdefault((proxy, cert), {})[int(count)] = json.loads(value)
            else:
                ir.setdefault((proxy, cert, kind), {})[int(count)] = int(value)
    order = lambda keys, i, known: [k for k in known if any(x[i] == k for x in keys)]
    proxies = order(list(ir) + list(st), 0, ("pharos", "nginx", "haproxy"))
    certs = order(list(ir) + list(st), 1, ("ecdsa", "rsa"))

    def per(runs):   # (count_a, Ir_a), (count_b, Ir_b): per extra unit
        if not runs or len(runs) < 2:
            return None
        (a, ia), (b, ib) = sorted(runs.items())[0], sorted(runs.items())[-1]
        return (ib - ia) / (b - a)

    rows = []
    for c in certs:
        for p in proxies:
            nc, ka = per(ir.get((p, c, "conn"))), per(ir.get((p, c, "req")))
            nnc, nka = per(ir.get(("nginx", c, "conn"))), per(ir.get(("nginx", c, "req")))
            f = lambda v: "{:,.0f}".format(v) if v is not None else "-"
            r = lambda v, n: "%.3f" % (v / n) if v is not None and n else "-"
            rows.append([p, c, f(nc), r(nc, nnc), f(ka), r(ka, nka)])
    if rows:
        hdr = ["proxy", "cert", "Ir/new conn", "× nginx", "Ir/keep-alive req", "× nginx"]
        print_table(hdr, rows)
    for c in certs:
        cols = [p for p in proxies if len(st.get((p, c), {})) >= 2]
        if not cols:
            continue
        per_sys = {}
        for p in cols:
            runs = sorted(st[(p, c)].items())
            (a, ca), (b, cb) = runs[0], runs[-1]
            for name in set(ca) | set(cb):
                per_sys.setdefault(name, {})[p] = (cb.get(name, 0) - ca.get(name, 0)) / (b - a)
        print()
        print("syscalls per new connection (%s, strace -c -f):" % c)
        print("| syscall | " + " | ".join(cols) + " |")
        print("|---|" + "---:|" * len(cols))
        names = sorted(per_sys, key=lambda n: -max(abs(v) for v in per_sys[n].values()))
        for name in names:
            vals = [per_sys[name].get(p, 0.0) for p in cols]
            if all(abs(v) < 0.05 for v in vals):
                continue
            print("| %s | %s |" % (name, " | ".join("%.2f" % v for v in vals)))
        print("| all | %s |" % " | ".join(
            "%.2f" % sum(per_sys[n].get(p, 0.0) for n in per_sys) for p in cols))
    return 0


def idle(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.conns + 100
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    ctx = client_context()
    for _ in range(20):   # warm-up: lazily allocated state, first-use paths
        s = tls_connect(ctx, args.port)
        s.sendall(REQUEST + b"\r\n")
        read_response(s)
        s.close()
    time.sleep(1.0)
    rss0, pss0 = mem_kb(args.pid)
    conns = []
    for _ in range(args.conns):
        s = tls_connect(ctx, args.port)
        s.sendall(REQUEST + b"\r\n")
        if read_response(s) != 200:
            raise SystemExit("a request failed")
        conns.append(s)
    time.sleep(2.0)
    rss1, pss1 = mem_kb(args.pid)
    # every connection must still be open: a proxy that dropped some would look cheap
    alive = 0
    for s in conns:
        s.setblocking(False)
        try:
            d = s.recv(1)
            if d:
                alive += 1    # unexpected data; still open
        except (ssl.SSLWantReadError, BlockingIOError):
            alive += 1
        except OSError:
            pass
    for s in conns:
        s.close()
    if alive != args.conns:
        raise SystemExit("only %d of %d idle connections were still open" % (alive, args.conns))
    print(json.dumps({"conns": args.conns, "rss_before_kb": rss0, "rss_after_kb": rss1,
                      "kib_per_conn": (rss1 - rss0) / args.conns,
                      "pss_kib_per_conn": (pss1 - pss0) / args.conns}))
    return 0


# ---------------------------------------------------------------------------------------------
# the table

def print_table(hdr, rows):
    """A markdown table, aligned: the first two columns left, the others right."""
    w = [max(len(hdr[i]), *(len(r[i]) for r in rows)) for i in range(len(hdr))]
    line = lambda cells: "| " + " | ".join(
        cells[i].ljust(w[i]) if i < 2 else cells[i].rjust(w[i]) for i in range(len(cells))) + " |"
    print(line(hdr))
    print("|" + "|".join("-" * (w[i] + 1) + ":" if i >= 2 else "-" * (w[i] + 2)
                         for i in range(len(hdr))) + "|")
    for r in rows:
        print(line(r))


def table(args):
    """RESULTS holds lines 'proxy cert round kind {json}'."""
    data = {}
    with open(args.results) as f:
        for line in f:
            parts = line.split(" ", 4)
            if len(parts) < 5:
                continue
            proxy, cert, _rnd, kind, js = parts
            data.setdefault((proxy, cert, kind), []).append(json.loads(js))
    proxies = [p for p in ("pharos", "nginx", "haproxy") if any(k[0] == p for k in data)]
    certs = [c for c in ("ecdsa", "rsa") if any(k[1] == c for k in data)]

    def med(proxy, cert, kind, field):
        vals = [d[field] for d in data.get((proxy, cert, kind), []) if field in d]
        return statistics.median(vals) if vals else None

    def ratio(a, b):
        return "%.2f" % (a / b) if a is not None and b else "-"

    def fmt(v, f):
        return f.format(v) if v is not None else "-"

    hdr = ["proxy", "cert", "req/s (wrk)", "µs CPU/req", "× nginx", "conn/s", "ms CPU/new conn",
           "× nginx", "KiB/idle conn", "× nginx", "× HAProxy"]
    rows = []
    for c in certs:
        for p in proxies:
            us = med(p, c, "ka", "us_per_req")
            ms = med(p, c, "nc", "ms_per_conn")
            kib = med(p, c, "idle", "kib_per_conn")
            rows.append([p, c, fmt(med(p, c, "ka", "rps"), "{:,.0f}"), fmt(us, "{:.1f}"),
                         ratio(us, med("nginx", c, "ka", "us_per_req")),
                         fmt(med(p, c, "nc", "cps"), "{:,.0f}"), fmt(ms, "{:.3f}"),
                         ratio(ms, med("nginx", c, "nc", "ms_per_conn")),
                         fmt(kib, "{:.1f}"), ratio(kib, med("nginx", c, "idle", "kib_per_conn")),
                         ratio(kib, med("haproxy", c, "idle", "kib_per_conn"))])
    print_table(hdr, rows)
    # the spread behind each median: the figures of every round
    print()
    print("per round (µs CPU/req; ms CPU/new conn; KiB/idle conn):")
    for c in certs:
        for p in proxies:
            get = lambda kind, field, f: ", ".join(
                f.format(d[field]) for d in data.get((p, c, kind), []))
            print("  %-8s %-5s  %s;  %s;  %s" % (p, c, get("ka", "us_per_req", "{:.1f}"),
                                                get("nc", "ms_per_conn", "{:.3f}"),
                                                get("idle", "kib_per_conn", "{:.1f}")))
    # where a keep-alive request's CPU goes: the proxy's own code (user) and the kernel (system:
    # on loopback that includes the TCP receive path of whoever the proxy sends to)
    if any("user_us_per_req" in d for k, v in data.items() if k[2] == "ka" for d in v):
        print()
        print("keep-alive CPU per request, user + system (medians, µs):")
        for c in certs:
            for p in proxies:
                u, s = med(p, c, "ka", "user_us_per_req"), med(p, c, "ka", "sys_us_per_req")
                print("  %-8s %-5s  %s + %s   (user × nginx %s)" % (
                    p, c, fmt(u, "{:.1f}"), fmt(s, "{:.1f}"),
                    ratio(u, med("nginx", c, "ka", "user_us_per_req"))))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("freeport")
    a = sub.add_parser("waitup")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--timeout", type=float, default=30)
    a = sub.add_parser("keepalive")
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--seconds", type=int, default=10)
    a.add_argument("--conns", type=int, default=50)
    a.add_argument("--cpu", type=int)
    a = sub.add_parser("newconn")
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--seconds", type=float, default=10)
    a.add_argument("--procs", type=int, default=4)
    a = sub.add_parser("idle")
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--conns", type=int, default=2000)
    a = sub.add_parser("conns")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--count", type=int, required=True)
    a = sub.add_parser("requests")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--conns", type=int, required=True)
    a.add_argument("--per-conn", type=int, required=True)
    a = sub.add_parser("straced")
    a.add_argument("file")
    a = sub.add_parser("cost-table")
    a.add_argument("results")
    a = sub.add_parser("table")
    a.add_argument("results")
    a = sub.add_parser("tree")
    a.add_argument("pid", type=int)
    args = ap.parse_args()
    if args.cmd == "freeport":
        print(freeport())
        return 0
    if args.cmd == "tree":
        print("\n".join(str(p) for p in tree(args.pid)))
        return 0
    return {"waitup": waitup, "keepalive": keepalive, "newconn": newconn, "idle": idle,
            "table": table, "conns": conns, "requests": requests, "straced": straced,
            "cost-table": cost_table}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

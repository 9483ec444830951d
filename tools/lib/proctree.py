"""Process trees from /proc, shared by the benchmark helpers (standard library only)."""

import os


def children_map():
    """{parent pid: [child pids]} for every process."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    """`pid` and all its descendants."""
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_split(pid):
    """(utime, stime) of `pid` and its descendants (all their threads), in clock ticks."""
    user = system = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        user += int(fields[11])     # utime (field 14)
        system += int(fields[12])   # stime (field 15)
    return user, system


def cpu_ticks(pid):
    """utime + stime of `pid` and its descendants (all their threads), in clock ticks."""
    return sum(cpu_split(pid))


def mem_kb(pid):
    """(VmRSS, Pss) in KiB, summed over `pid` and its descendants."""
    rss = pss = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss

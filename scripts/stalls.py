#!/usr/bin/env python3
"""How long the gateway's request thread waits for its core while the log writer runs.

Runs one chat window of the overhead bench (log on) and, during it, records the scheduler's
wake-ups and switches on every CPU plus the writer's fsync calls with `perf`. For each wake-up
of the request thread (SCHED_FIFO, kernel priority 89) it measures the time until the thread
ran, and counts the long waits that found the log writer on the core, and how many of those
fell inside one of the writer's fsyncs (a WAL checkpoint). See BENCHMARKS.md, session 6.

Needs root, `perf` (Debian: linux-perf) and a release build of the bench:
    cargo build --release && cargo bench --bench overhead --no-run
    python3 scripts/stalls.py [--bifrost target/release/bifrost] [--rate 5000] [--seconds 12]
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

REQUEST_THREAD_PRIO = "89"  # the bench runs the gateway under SCHED_FIFO 10
WRITER = "bifrost-log"
EVENT = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+\[(\d+)\]\s+(\d+\.\d+):\s+(\S+):\s*(.*)")
WAKING = re.compile(r"comm=(\S+) pid=(\d+) prio=(\d+) target_cpu=(\d+)")
SWITCH = re.compile(r"prev_comm=(.*?) prev_pid=(\d+).*next_comm=(.*?) next_pid=(\d+)")


def bench_binary():
    found = [p for p in glob.glob("target/release/deps/overhead-*") if not p.endswith(".d")]
    if not found:
        sys.exit("no bench binary: run `cargo bench --bench overhead --no-run` first")
    return max(found, key=os.path.getmtime)


def record(args, data):
    window = args.seconds + 6
    bench = subprocess.Popen(
        [bench_binary(), "--bench", "--no-stream", "--no-nginx", "--paths", "gateway",
         "--rates", str(args.rate), "--duration", str(window), "--bifrost", args.bifrost],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(5)  # start-up and warm-up
    subprocess.run(
        ["perf", "record", "-q", "-a", "-o", data,
         "-e", "sched:sched_waking,sched:sched_switch",
         "-e", "syscalls:sys_enter_fsync,syscalls:sys_exit_fsync",
         "--", "sleep", str(args.seconds)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out, _ = bench.communicate()
    return [line for line in out.splitlines() if line.startswith("[") and "gateway" in line]


def analyse(data):
    script = subprocess.run(
        ["perf", "script", "-i", data, "-F", "comm,tid,cpu,time,event,trace"],
        check=True, capture_output=True, text=True).stdout
    woken, on_cpu, waits, fsyncs, open_fsync = {}, {}, [], [], {}
    for line in script.splitlines():
        m = EVENT.match(line)
        if not m:
            continue
        comm, tid, cpu, t, event, trace = m.groups()
        t = float(t)
        if event == "sched:sched_waking":
            w = WAKING.search(trace)
            if w and w.group(1).startswith("tokio-rt") and w.group(3) == REQUEST_THREAD_PRIO:
                # Who had the thread's core when it was woken.
                woken.setdefault(w.group(2), (t, on_cpu.get(w.group(4), "")))
        elif event == "sched:sched_switch":
            s = SWITCH.search(trace)
            if not s:
                continue
            nxt = s.group(4)
            if nxt in woken:
                t0, holder = woken.pop(nxt)
                waits.append((t0, t, holder))
            on_cpu[cpu] = s.group(3)
        elif event.startswith("syscalls:sys_enter") and comm.startswith(WRITER):
            open_fsync[tid] = t
        elif event.startswith("syscalls:sys_exit") and tid in open_fsync:
            fsyncs.append((open_fsync.pop(tid), t))
    behind_writer = [(t0, t1) for t0, t1, holder in waits if holder.startswith(WRITER)]
    in_fsync = lambda t0: any(a - 0.0005 <= t0 <= b + 0.0005 for a, b in fsyncs)
    return behind_writer, fsyncs, in_fsync


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bifrost", default="target/release/bifrost")
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "sched.data")
        for line in record(args, data):
            print(line)
        behind_writer, fsyncs, in_fsync = analyse(data)
    spent = sum(b - a for a, b in fsyncs) * 1e3
    print(f"writer fsyncs: {len(fsyncs)} ({spent:.0f} ms in them)")
    print(f"request-thread wake-ups that waited for the writer: {len(behind_writer)}")
    for bound in (200, 500, 1000):
        long = [t0 for t0, t1 in behind_writer if (t1 - t0) * 1e6 > bound]
        during = sum(1 for t0 in long if in_fsync(t0))
        print(f"  waits over {bound:>4} µs: {len(long)} ({during} during an fsync)")


if __name__ == "__main__":
    main()

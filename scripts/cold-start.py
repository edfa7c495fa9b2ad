#!/usr/bin/env python3
"""Cold start of `bifrost serve`: spawn -> first 200 from GET /health, N times in two settings.

Each run starts the binary on a free port, polls /health over raw sockets every 0.2 ms until it
answers 200, then stops the server with SIGTERM. "fresh" runs get a new, empty app dir each (the
first start on a machine: the server creates its SQLite databases); "existing" runs share one
app dir made by an unmeasured first start (a restart). Prints every run, then min, median, p90
and max of each setting.

    python3 scripts/cold-start.py [BINARY] [--runs 20]

BINARY defaults to target/release/bifrost. Python's standard library only.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

POLL_INTERVAL_S = 0.0002
TIMEOUT_S = 30.0
REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_ok(port: int) -> bool:
    """One GET /health; True on a 200. Refused connections (not listening yet) are False."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(REQUEST)
            head = conn.recv(64)
    except OSError:
        return False
    return head.startswith(b"HTTP/1.1 200")


def one_run(binary: str, app_dir: str) -> float:
    """Milliseconds from spawn to the first healthy /health."""
    port = free_port()
    args = [binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--app-dir", app_dir]
    start = time.perf_counter()
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not health_ok(port):
            if server.poll() is not None:
                sys.exit(f"bifrost exited with {server.returncode} before /health answered")
            if time.perf_counter() - start > TIMEOUT_S:
                sys.exit(f"no healthy /health within {TIMEOUT_S:.0f} s")
            time.sleep(POLL_INTERVAL_S)
        return (time.perf_counter() - start) * 1000
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def fresh_runs(binary: str, runs: int) -> list:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bifrost-cold-") as app_dir:
            times.append(one_run(binary, app_dir))
    return times


def existing_runs(binary: str, runs: int) -> list:
    with tempfile.TemporaryDirectory(prefix="bifrost-cold-") as app_dir:
        one_run(binary, app_dir)
        return [one_run(binary, app_dir) for _ in range(runs)]


def percentile(sorted_values: list, p: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default="target/release/bifrost")
    parser.add_argument("--runs", type=int, default=20)
    opts = parser.parse_args()
    if not os.access(opts.binary, os.X_OK):
        sys.exit(f"{opts.binary} is not an executable (build it: cargo build --release)")

    summaries = []
    for setting, measure in (("fresh", fresh_runs), ("existing", existing_runs)):
        times = measure(opts.binary, opts.runs)
        print(f"{setting:>8} app dir, ms: " + " ".join(f"{t:.1f}" for t in times))
        times.sort()
        summaries.append(
            f"{setting:>8} app dir, {opts.runs} runs: min {times[0]:.1f} ms, "
            f"median {statistics.median(times):.1f} ms, p90 {percentile(times, 90):.1f} ms, "
            f"max {times[-1]:.1f} ms"
        )
    print("\n".join(summaries))


if __name__ == "__main__":
    main()

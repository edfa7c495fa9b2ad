#!/usr/bin/env python3
"""Counts the gateway's user-space instructions per request under callgrind.

This VM's latency and CPU-time windows swing by 2x from one run to the next (other tenants, steal),
so a change of a few microseconds per request cannot be seen in `cargo bench --bench overhead`.
Instruction counts can: callgrind counts the instructions the process executes, the same for the
same binary and the same requests whatever else the machine does. They leave out the kernel (the
socket system calls every proxy pays) and cache misses, so they judge the gateway's own code, not
its latency.

The script starts an OpenAI-style mock (Python, keep-alive, a fixed chat answer with usage), a
gateway under `valgrind --tool=callgrind` with instrumentation off, sends `--warmup` chat requests
over one keep-alive connection, turns instrumentation on, sends `--requests` more, dumps, and prints
the instructions per request, with the top functions per request when `--top` is given.

    python3 scripts/instructions.py --bifrost target/release/bifrost [--log off] [--requests 2000]
"""

import argparse
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

CHAT = json.dumps({
    "model": "openai/gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Say hello in one short sentence."},
    ],
    "max_tokens": 32,
}).encode()
STREAM = json.dumps({**json.loads(CHAT), "stream": True}).encode()

# The answers of the bench's mock (benches/overhead.rs), so both measure the same work.
ANSWER = (b'{"id":"chatcmpl-bench0000000000000000000000","object":"chat.completion","created":1767225600,'
          b'"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",'
          b'"content":"Hello! How can I help you today?","refusal":null,"annotations":[]},"logprobs":null,'
          b'"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":9,"total_tokens":33,'
          b'"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":'
          b'{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,'
          b'"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_bench0000"}')

CHUNK_HEAD = (b'data: {"id":"chatcmpl-bench0000000000000000000000","object":"chat.completion.chunk",'
              b'"created":1767225600,"model":"gpt-4o-mini-2024-07-18","service_tier":"default",'
              b'"system_fingerprint":"fp_bench0000","choices":')
DELTAS = [b'{"role":"assistant","content":"","refusal":null}', b'{"content":"Hello"}', b'{"content":"!"}',
          b'{"content":" How can"}', b'{"content":" I help"}', b'{"content":" you today?"}']
EVENTS = [CHUNK_HEAD + b'[{"index":0,"delta":' + d + b',"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
          for d in DELTAS]
EVENTS.append(CHUNK_HEAD + b'[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n')
EVENTS.append(CHUNK_HEAD + b'[],"usage":{"prompt_tokens":24,"completion_tokens":9,"total_tokens":33,'
              b'"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":'
              b'{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,'
              b'"rejected_prediction_tokens":0}}}\n\n')
EVENTS.append(b"data: [DONE]\n\n")


class Mock(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if b'"stream":true' in body.replace(b" ", b""):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for event in EVENTS:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(conn, n, request):
    for _ in range(n):
        conn.request("POST", "/v1/chat/completions", request, {"content-type": "application/json"})
        resp = conn.getresponse()
        answer = resp.read()
        if resp.status != 200 or not (b"[DONE]" in answer or b'"chat.completion"' in answer):
            sys.exit(f"gateway answered {resp.status}: {answer[:300]!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bifrost", default="target/release/bifrost")
    ap.add_argument("--log", choices=["on", "off"], default="off",
                    help="request log and metrics (off: the bench's gateway-off)")
    ap.add_argument("--stream", action="store_true",
                    help="streamed chat requests (the mock sends the bench's nine events)")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--top", type=int, default=0, help="print the top N functions (self cost)")
    ap.add_argument("--inclusive", action="store_true", help="with --top: inclusive cost")
    ap.add_argument("--keep", help="copy the callgrind output file here")
    args = ap.parse_args()

    mock = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Mock)
    threading.Thread(target=mock.serve_forever, daemon=True).start()

    with tempfile.TemporaryDirectory() as app_dir:
        log_on = args.log == "on"
        config = {
            "client": {"enable_logging": log_on},
            "providers": {"openai": {
                "keys": [{"name": "bench", "value": "sk-bench", "models": ["*"], "weight": 1.0}],
                "network_config": {"base_url": f"http://127.0.0.1:{mock.server_address[1]}"},
            }},
        }
        if not log_on:
            config["plugins"] = [{"enabled": False, "name": "telemetry", "config": {}}]
        with open(os.path.join(app_dir, "config.json"), "w") as f:
            json.dump(config, f)
        port = free_port()
        out = os.path.join(app_dir, "callgrind.out")
        gateway = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
             args.bifrost, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warn", "--app-dir", app_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 120
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    conn.request("GET", "/health")
                    conn.getresponse().read()
                    break
                except OSError:
                    if time.time() > deadline or gateway.poll() is not None:
                        sys.exit("the gateway did not come up under valgrind")
                    time.sleep(0.2)
            body = STREAM if args.stream else CHAT
            send(conn, args.warmup, body)
            subprocess.run(["callgrind_control", "-i", "on", str(gateway.pid)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            send(conn, args.requests, body)
            subprocess.run(["callgrind_control", "-i", "off", str(gateway.pid)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["callgrind_control", "-d", str(gateway.pid)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            gateway.terminate()
            gateway.wait(timeout=60)
        # Instrumentation was on only while the measured requests ran: the dump asked for holds them
        # (the one written at exit holds nothing more).
        totals = {}
        for name in os.listdir(app_dir):
            if name.startswith("callgrind.out"):
                with open(os.path.join(app_dir, name)) as f:
                    for line in f:
                        m = re.match(r"(?:summary|totals): (\d+)", line)
                        if m:
                            totals[name] = int(m.group(1))
        if not totals or max(totals.values()) == 0:
            print(sorted(os.listdir(app_dir)), totals, file=sys.stderr)
            sys.exit("callgrind wrote no counts")
        last = os.path.join(app_dir, max(totals, key=totals.get))
        per_request = max(totals.values()) / args.requests
        kind = "stream" if args.stream else "chat"
        print(f"{args.bifrost}: {kind}, log {args.log}: {per_request:,.0f} instructions per request "
              f"({args.requests} requests after {args.warmup} warm-up)")
        if args.keep:
            subprocess.run(["cp", last, args.keep], check=True)
        if args.top:
            inclusive = "yes" if args.inclusive else "no"
            annotated = subprocess.run(["callgrind_annotate", f"--inclusive={inclusive}", last],
                                       capture_output=True, text=True).stdout
            shown = 0
            for line in annotated.splitlines():
                m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)", line)
                if not m:
                    continue
                ir = int(m.group(1).replace(",", ""))
                print(f"{ir / args.requests:10,.0f}  {m.group(2):>6}%  {m.group(3)[:150]}")
                shown += 1
                if shown >= args.top:
                    break


if __name__ == "__main__":
    main()

"""Mass containment benchmark: N session revocations through the real Okta
executor (playbook → HttpClient → shared RateLimiter) against a rate-limited
fake provider on 127.0.0.1, from a thread pool.

The fake provider runs in its own process (no GIL sharing with the client)
and keeps a token bucket:
  - variant `retry-after`: an empty bucket answers 429 + Retry-After;
  - variant `okta`: fixed 1 s windows with X-Rate-Limit-Limit/Remaining/Reset
    (epoch seconds) on every answer, 429 when the window is spent.
It counts the revocations it processed per target, so a revocation sent twice
shows up.

Reports makespan / (N / rate) (target <= 1.15), the 429 count, and duplicates.

    .venv/bin/python bench/bench_mass_containment.py [--n 5000] [--rate 500] [--workers 32]
"""
import argparse
import json
import math
import multiprocessing
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(port: int, variant: str, rate: float, burst: float, ready) -> None:
    lock = threading.Lock()
    state = {"tokens": burst, "stamp": time.monotonic(), "window": 0, "used": 0}
    processed = {}
    throttled = [0]

    def allow():
        """(allowed, headers)"""
        with lock:
            if variant == "okta":
                now = time.time()
                window = int(now)
                if window != state["window"]:
                    state["window"], state["used"] = window, 0
                limit = int(rate)
                ok = state["used"] < limit
                if ok:
                    state["used"] += 1
                return ok, {"X-Rate-Limit-Limit": str(limit),
                            "X-Rate-Limit-Remaining": str(max(0, limit - state["used"])),
                            "X-Rate-Limit-Reset": str(window + 1)}
            now = time.monotonic()
            state["tokens"] = min(burst, state["tokens"] + (now - state["stamp"]) * rate)
            state["stamp"] = now
            if state["tokens"] >= 1:
                state["tokens"] -= 1
                return True, {}
            return False, {"Retry-After": str(max(1, math.ceil((1 - state["tokens"]) / rate)))}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body=b"", headers=None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/stats":
                with lock:
                    body = json.dumps({"processed": processed, "throttled": throttled[0]}).encode()
                self.reply(200, body)
            else:
                self.reply(404)

        def do_DELETE(self):
            parts = self.path.split("?")[0].split("/")   # /api/v1/users/{id}/sessions
            if len(parts) != 6 or parts[5] != "sessions":
                return self.reply(404)
            ok, headers = allow()
            if not ok:
                with lock:
                    throttled[0] += 1
                return self.reply(429, b'{"errorSummary":"API call exceeded rate limit"}', headers)
            with lock:
                processed[parts[4]] = processed.get(parts[4], 0) + 1
            self.reply(204, b"", headers)

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    ready.set()
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(variant: str, n: int, rate: float, workers: int) -> dict:
    import requests
    from requests.adapters import HTTPAdapter

    from idgate.executors import ExecutionRequest, get_executor

    port = free_port()
    ready = multiprocessing.Event()
    burst = rate / 10
    server = multiprocessing.Process(target=serve, args=(port, variant, rate, burst, ready), daemon=True)
    server.start()
    ready.wait(30)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=workers))
    # retry-after: the admin configured the provider's documented rate;
    # okta: no rate configured, the limiter learns it from the headers
    limits = {"default": {"rate": rate, "burst": max(1.0, rate / 50)}} if variant == "retry-after" else \
        {"default": {"rate": None, "burst": None}}
    ex = get_executor("okta", {"org_url": "http://127.0.0.1:%d" % port, "token_provider": lambda: "bench-token",
                               "session": session, "rate_limits": limits,
                               "retry": {"attempts": 8, "total_seconds": 120}})
    targets = ["00u%07d" % i for i in range(n)]
    failures = []

    def revoke(target):
        try:
            ex.execute(ExecutionRequest(execution_id="x" + target, decision_id="d", action="revoke_sessions",
                                        target={"id": target}, idempotency_key=target))
        except Exception as exc:  # counted and reported
            failures.append(str(exc))

    # warm the connection pool so the makespan measures the rate limit
    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(revoke, targets))
    makespan = time.monotonic() - start
    stats = requests.get("http://127.0.0.1:%d/stats" % port, timeout=10).json()
    server.terminate()
    server.join(5)
    processed = stats["processed"]
    ideal = n / rate
    return {"variant": variant, "n": n, "rate_per_s": rate, "workers": workers,
            "makespan_s": round(makespan, 2), "ideal_s": round(ideal, 2), "ratio": round(makespan / ideal, 3),
            "http_429": stats["throttled"], "client_limiter": ex.clients["default:True"].rate_limiter.stats(),
            "targets_revoked": len(processed), "sent_twice": sum(1 for c in processed.values() if c > 1),
            "missing": n - len(processed), "failures": len(failures), "first_failure": failures[:1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--variant", choices=["retry-after", "okta", "both"], default="both")
    args = parser.parse_args()
    variants = ["retry-after", "okta"] if args.variant == "both" else [args.variant]
    ok = True
    for variant in variants:
        result = run(variant, args.n, args.rate, args.workers)
        print(json.dumps(result))
        ok = ok and result["ratio"] <= 1.15 and result["sent_twice"] == 0 and result["missing"] == 0
    print("target makespan <= 1.15 x N/rate, no revocation twice: %s" % ("MET" if ok else "NOT MET"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

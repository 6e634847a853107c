"""idgate serve: evaluate calls per second on loopback with a bounded
concurrent client, p50/p99 latency, and the ratio to in-process evaluation
(Engine.submit(delegate=True), the same work without HTTP; and the pure Gate)
on the same alerts in the same run.

    .venv/bin/python bench/bench_serve.py [--requests 2000] [--concurrency 8]

Loopback only; bounded in count and in time (--max-seconds).
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")
TOKEN = "bench-token-0123456789abcdef01234"


def alerts(n: int) -> List[Dict[str, Any]]:
    """n canonical alerts: the samples, each copy with its own id."""
    with open(os.path.join(SAMPLES, "alerts", "canonical.jsonl"), encoding="utf-8") as fh:
        base = [json.loads(line) for line in fh if line.strip()]
    out = []
    for i in range(n):
        a = dict(base[i % len(base)])
        a["id"] = "%s#bench-%d" % (a["id"], i)
        out.append(a)
    return out


def make_engine(state: str) -> Any:
    from idgate.engine import Engine
    from idgate.runconfig import load_run_config
    config = load_run_config(os.path.join(SAMPLES, "run.yaml"))
    config.executors = {"default": "dry_run"}
    return Engine(config, state_dir=state)


def serve(port: int, state: str) -> None:
    import logging

    import uvicorn

    from idgate.api.app import create_app
    from idgate.api.config import ApiConfig
    logging.disable(logging.INFO)
    os.environ["IDGATE_BENCH_TOKEN"] = TOKEN
    config = ApiConfig.model_validate({"port": port, "tokens": [
        {"token": "env:IDGATE_BENCH_TOKEN", "caller": "bench", "roles": ["evaluator"]}]})
    uvicorn.run(create_app(make_engine(state), config), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


async def client(port: int, bodies: List[Any], concurrency: int, deadline: float,
                 path: str = "/v1/evaluate") -> Dict[str, Any]:
    import httpx
    latencies: List[float] = []
    statuses: Dict[int, int] = {}
    queue = iter(bodies)
    headers = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:%d" % port, limits=limits, timeout=60) as http:
        async def worker() -> None:
            for body in queue:
                if time.monotonic() > deadline:
                    return
                t = time.perf_counter()
                if body is None:
                    r = await http.get(path, headers=headers)
                else:
                    r = await http.post(path, content=body, headers=headers)
                latencies.append(time.perf_counter() - t)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"latencies": latencies, "statuses": statuses, "elapsed": elapsed}


def wait_for(port: int, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the idgate server did not start")


def pct(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop the HTTP run after this long")
    args = parser.parse_args()
    if not 1 <= args.requests <= 20000 or not 1 <= args.concurrency <= 64:
        raise SystemExit("--requests 1..20000, --concurrency 1..64")
    data = alerts(args.requests)
    bodies = [json.dumps(a).encode() for a in data]

    # in process: the same engine work, no HTTP
    from idgate.gate import Gate, GateState
    from idgate.model import Alert
    with tempfile.TemporaryDirectory() as state:
        engine = make_engine(state)
        models = [Alert.model_validate(a) for a in data]
        t = time.perf_counter()
        for a in models:
            engine.submit(a, "bench", delegate=True)
        engine_s = time.perf_counter() - t
        gate, gs = Gate(engine.policy), GateState()
        from datetime import datetime, timezone
        now = datetime.now(timezone.utc)
        t = time.perf_counter()
        for a in models:
            gate.decide(a, gs, now)
        gate_s = time.perf_counter() - t
        engine.close()

    with tempfile.TemporaryDirectory() as state:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(port, state), daemon=True)
        server.start()
        try:
            wait_for(port)
            result = asyncio.run(client(port, bodies, args.concurrency, time.monotonic() + args.max_seconds))
            # the HTTP layer alone (auth, routing, JSON): no engine work
            bare = asyncio.run(client(port, [None] * len(bodies), args.concurrency,
                                      time.monotonic() + args.max_seconds, "/v1/whoami"))
        finally:
            server.terminate()
            server.join(10)

    done = len(result["latencies"])
    http_rps = done / result["elapsed"]
    engine_rps = len(data) / engine_s
    gate_rps = len(data) / gate_s
    report = {
        "requests": done, "concurrency": args.concurrency, "statuses": result["statuses"],
        "http_evaluate_per_s": round(http_rps, 1),
        "p50_ms": round(statistics.median(result["latencies"]) * 1000, 2),
        "p99_ms": round(pct(result["latencies"], 99) * 1000, 2),
        "http_whoami_per_s": round(len(bare["latencies"]) / bare["elapsed"], 1),
        "whoami_p50_ms": round(statistics.median(bare["latencies"]) * 1000, 2),
        "in_process_engine_per_s": round(engine_rps, 1),
        "in_process_gate_decide_per_s": round(gate_rps, 1),
        "http_over_engine": round(http_rps / engine_rps, 3),
        "http_over_gate": round(http_rps / gate_rps, 4),
        "cpus": os.cpu_count(), "python": sys.version.split()[0],
    }
    print(json.dumps(report, indent=2))
    if done < len(data):
        print("note: the HTTP run stopped at --max-seconds after %d of %d requests; the in-process run did all"
              % (done, len(data)), file=sys.stderr)
    return 0 if set(result["statuses"]) == {200} == set(bare["statuses"]) else 1


if __name__ == "__main__":
    sys.exit(main())

"""End-to-end throughput of `idgate run` (file source, SQLite state with
full sync, dry-run executors, decisions durable) as a ratio of `replay` on
the same alerts, in the same run, plus where the time goes.

    python bench/bench_pipeline.py [--alerts 10000]
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

from idgate.engine import Engine  # noqa: E402
from idgate.ingest import iter_items  # noqa: E402
from idgate.pipeline import Pipeline  # noqa: E402
from idgate.policy import load_policy  # noqa: E402
from idgate.replay import replay  # noqa: E402
from idgate.runconfig import load_run_config  # noqa: E402


def make_alerts(path: str, n: int) -> None:
    """The sample alerts, cycled with fresh ids and later detection times."""
    with open(os.path.join(ROOT, "samples", "alerts", "canonical.jsonl")) as fh:
        samples = [json.loads(line) for line in fh if line.strip()]
    with open(path, "w") as out:
        for i in range(n):
            alert = dict(samples[i % len(samples)])
            alert["id"] = "%s#%d" % (alert["id"], i)
            when = datetime.fromisoformat(alert["detected_at"].replace("Z", "+00:00"))
            alert["detected_at"] = (when + timedelta(seconds=20 * i)).isoformat()
            out.write(json.dumps(alert) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=10000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="idgate-bench-")
    try:
        alerts = os.path.join(work, "alerts.jsonl")
        make_alerts(alerts, args.alerts)
        shutil.copy(os.path.join(ROOT, "samples", "policy.yaml"), os.path.join(work, "policy.yaml"))
        with open(os.path.join(work, "run.yaml"), "w") as fh:
            fh.write("policy: policy.yaml\nstate: state\nsources:\n  - {id: bench, type: file, path: alerts.jsonl}\n"
                     "executors: {default: dry_run}\nbatch_size: 500\n")

        policy = load_policy(os.path.join(work, "policy.yaml"))
        t = time.perf_counter()
        report = replay(iter_items([alerts]), policy)
        replay_s = time.perf_counter() - t

        engine = Engine(load_run_config(os.path.join(work, "run.yaml")))
        profiler = cProfile.Profile()
        t = time.perf_counter()
        profiler.enable()
        summary = Pipeline(engine).run_once()
        profiler.disable()
        run_s = time.perf_counter() - t
        executions = len(engine.state.executions())
        audit_records = engine.audit.verify().records

        print("alerts %d, recommendations %d (auto %d, review %d, advisory %d, blocked %d)" % (
            report.alerts, report.recommendations, *[summary.decisions.get(k, 0) for k in
                                                     ("auto", "review", "advisory", "blocked")]))
        print("executions (dry run) %d, audit records %d" % (executions, audit_records))
        print("%-34s %10s %12s" % ("", "seconds", "alerts/s"))
        print("%-34s %10.2f %12.0f" % ("replay (parse+validate+gate)", replay_s, report.alerts / replay_s))
        print("%-34s %10.2f %12.0f" % ("idgate run (durable, dry-run)", run_s, summary.alerts / run_s))
        print("ratio run / replay: %.3f" % ((summary.alerts / run_s) / (report.alerts / replay_s)))
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(12)
        print("\nwhere the time goes (top functions by own time):")
        for line in out.getvalue().splitlines():
            if line.strip() and (line.strip()[0].isdigit() or "ncalls" in line):
                print("  " + line.strip()[:150])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

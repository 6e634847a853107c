"""Replay of N canonical alerts, as a ratio of the floor, and peak memory.

    python bench/bench_replay.py [--alerts 1000000] [--policy samples/policy.yaml]

The floor is what any replay must do: orjson-parse each line and validate it
into a pydantic Alert. The replay is idgate's own path (read records, the
canonical normaliser, the gate with budgets, the tallies) over the same
file. Each measurement runs in its own subprocess so peak RSS
(resource.getrusage) is its own. The alerts are generated once into
bench/out/ (git-ignored) and reused.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

FLOOR = """
import resource, sys, time, orjson
from idgate.model import Alert
t = time.perf_counter(); n = 0
with open(sys.argv[1], "rb") as fh:
    for line in fh:
        Alert.model_validate(orjson.loads(line)); n += 1
dt = time.perf_counter() - t
print(n, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

REPLAY = """
import resource, sys, time
from idgate.ingest import iter_items
from idgate.policy import load_policy
from idgate.replay import replay
policy = load_policy(sys.argv[2])
t = time.perf_counter()
report = replay(iter_items([sys.argv[1]]), policy)
dt = time.perf_counter() - t
assert report.bad_records == 0, report.errors[:1]
print(report.alerts, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(code: str, *argv: str):
    proc = subprocess.run([sys.executable, "-c", code] + list(argv), capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit("measurement failed: %s" % proc.stderr.strip().splitlines()[-1:])
    n, secs, rss_kb = proc.stdout.split()
    return int(n), float(secs), int(rss_kb) / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--policy", default=os.path.join(ROOT, "samples", "policy.yaml"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "alerts-%d.jsonl" % args.alerts)
    if not os.path.exists(path):
        sys.path.insert(0, HERE)
        import make_alerts
        t = time.perf_counter()
        make_alerts.write(args.alerts, path + ".part")
        os.replace(path + ".part", path)
        print("generated %s in %.0fs" % (path, time.perf_counter() - t))
    n_floor, t_floor, rss_floor = measure(FLOOR, path)
    n_replay, t_replay, rss_replay = measure(REPLAY, path, args.policy)
    assert n_floor == n_replay == args.alerts
    floor_rate, replay_rate = n_floor / t_floor, n_replay / t_replay
    out = {"alerts": args.alerts, "file_mb": round(os.path.getsize(path) / 2**20, 1),
           "floor_alerts_per_s": round(floor_rate), "replay_alerts_per_s": round(replay_rate),
           "ratio_of_floor": round(replay_rate / floor_rate, 3), "target_ratio": 0.40,
           "floor_peak_rss_mb": round(rss_floor, 1), "replay_peak_rss_mb": round(rss_replay, 1),
           "target_rss_mb": 200, "python": sys.version.split()[0]}
    with open(os.path.join(args.out, "bench_replay.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    print("replay of %s alerts (%s MB)" % (format(args.alerts, ","), out["file_mb"]))
    print("%-28s %12s %12s %14s" % ("", "alerts/s", "seconds", "peak RSS MB"))
    print("%-28s %12s %12.1f %14.1f" % ("floor (orjson + validate)", format(round(floor_rate), ","),
                                        t_floor, rss_floor))
    print("%-28s %12s %12.1f %14.1f" % ("idgate replay", format(round(replay_rate), ","), t_replay, rss_replay))
    print("ratio of floor: %.0f%% (target >= 40%%); replay peak RSS %.0f MB (target < 200 MB)" % (
        100 * out["ratio_of_floor"], rss_replay))


if __name__ == "__main__":
    main()

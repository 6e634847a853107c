"""``| idgate`` throughput: notable-shaped events per second through
splunklib's search command protocol (chunked v2, CSV bodies, 50,000 rows per
chunk as splunkd sends them), as a ratio of the bare decision core
(``Gate.decide`` on already-normalised alerts) over the same events.

    python bench/bench_search_command.py [--events 1000000] [--chunk 50000]

Bounded: the protocol input is written to a temporary file chunk by chunk and
the output is counted, not kept, so memory stays flat; the core baseline runs
on a sample (--core-sample) because it needs the alerts in memory.
"""
import argparse
import io
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "connectors", "splunk", "package", "bin"), os.path.join(ROOT, "src"), ROOT]

from tests.splunk_app.conftest import notable  # noqa: E402
from tests.splunk_app.protocol import execute, getinfo  # noqa: E402


class Sink(io.RawIOBase):
    """Counts what the command writes (and its records) without keeping it."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.bytes += len(b)
        return len(b)


def events(n: int):
    templates = [notable(i, case=i % 3) for i in range(60)]
    for i in range(n):
        row = dict(templates[i % 60])
        row["event_id"] = "66D21DF4-F4FD-4886-A986-82E72ADCBFE9@@notable@@%032x" % i
        yield row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--core-sample", type=int, default=200_000)
    args = ap.parse_args()

    from splunklib.searchcommands import dispatch

    from idgate.gate import Gate, GateState
    from idgate.policy import load_policy
    from idgate.sources import get_normalizer
    from idgate_app.command import IdgateCommand

    policy = load_policy(os.path.join(ROOT, "samples", "policy.yaml"))
    IdgateCommand.preset_policy = policy

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "input.bin")
        with open(path, "wb") as fh:
            fh.write(getinfo([], tmp))
            batch = []
            written = 0
            for row in events(args.events):
                batch.append(row)
                if len(batch) == args.chunk:
                    written += len(batch)
                    fh.write(execute(batch, finished=written >= args.events))
                    batch = []
            if batch:
                fh.write(execute(batch, finished=True))
        sink = Sink()
        with open(path, "rb") as ifile:
            start = time.perf_counter()
            try:
                dispatch(IdgateCommand, ["idgate_command.py"], ifile, sink, None)
            except SystemExit:
                pass
            command_seconds = time.perf_counter() - start
    command_rate = args.events / command_seconds

    # the bare decision core over the same events, already normalised
    normalize = get_normalizer("splunk_es").normalize
    sample = min(args.core_sample, args.events)
    alerts = [normalize(r) for r in events(sample)]
    gate, state = Gate(policy), GateState()
    start = time.perf_counter()
    for a in alerts:
        gate.decide(a, state)
    core_rate = sample / (time.perf_counter() - start)
    # normalise + decide, without the protocol: where the rest of the time goes
    rows = list(events(min(sample, 100_000)))
    gate, state = Gate(policy), GateState()
    start = time.perf_counter()
    for r in rows:
        gate.decide(normalize(r), state)
    norm_rate = len(rows) / (time.perf_counter() - start)

    print(json.dumps({"events": args.events, "chunk": args.chunk, "output_bytes": sink.bytes,
                      "command_seconds": round(command_seconds, 2),
                      "command_events_per_s": round(command_rate),
                      "core_decide_events_per_s": round(core_rate),
                      "normalize_and_decide_events_per_s": round(norm_rate),
                      "ratio_command_to_core": round(command_rate / core_rate, 3),
                      "ratio_command_to_normalize_and_decide": round(command_rate / norm_rate, 3),
                      "python": sys.version.split()[0]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

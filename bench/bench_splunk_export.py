"""Splunk export stream: rows/s and peak memory, idgate's reader vs splunklib's.

A local HTTP server on 127.0.0.1 serves a ``search/v2/jobs/export``
``output_mode=json`` stream: a BOM, some preview batches, then N final
notable rows (realistic ES fields, multivalue ones included). Each reader
runs in its own subprocess so its peak RSS is its own:

- ``parse``: idgate's streaming reader (StreamBody → split_lines → SplunkStream)
- ``normalise``: the same plus the splunk_es normaliser (canonical Alert)
- ``splunklib``: splunklib.results.JSONResultsReader on the same stream

Usage: .venv/bin/python bench/bench_splunk_export.py [--rows 1000000] [--budget 240]
Targets: >= 100k rows/s parsed, < 100 MB peak RSS over 1M rows.
"""
import argparse
import json
import resource
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREVIEW_BATCHES = 3
PREVIEW_ROWS = 1000


def row_template():
    row = {
        "_bkt": "notable~668~66D21DF4-F4FD-4886-A986-82E72ADCBFE9", "_cd": "668:%(n)d",
        "_indextime": "%(t)d", "_serial": "%(n)d", "_si": ["sh-01", "notable"], "_sourcetype": "stash",
        "_time": "2026-11-28T10:00:00.000+00:00", "event_id": "5E6DE97D-B137@@notable@@%(n)032x",
        "rule_title": "Identity - Leaked API key used from new ASN", "rule_name": "Leaked API key",
        "search_name": "Identity - Leaked API key used from new ASN - Rule", "security_domain": "identity",
        "user": "svc-backup-%(u)d", "user_category": ["service_account", "prod"], "user_priority": "high",
        "user_bunit": "platform", "src": "203.0.113.%(u)d", "dest": "api.example.com", "urgency": "high",
        "severity": "high", "status": "1", "status_label": "New", "owner": "unassigned",
        "risk_score": "80", "user_risk_score": "80", "user_risk_object_type": "user",
        "ai_score": "0.93", "ai_model": "es-ai-triage", "ai_model_version": "2026.10",
        "ai_verdict": "true_positive", "ai_rationale": "key used from an ASN never seen for this account",
        "index": "notable", "source": "Identity - Leaked API key used from new ASN - Rule",
        "sourcetype": "stash", "splunk_server": "sh-01", "linecount": "1",
    }
    return json.dumps(row, separators=(",", ":")).replace("%(n)032x", "%(n)032x")


class ExportHandler(BaseHTTPRequestHandler):
    rows = 0
    protocol_version = "HTTP/1.0"  # the close ends the body, as a streamed export may

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        out = [b"\xef\xbb\xbf"]
        for batch in range(PREVIEW_BATCHES):
            for i in range(PREVIEW_ROWS):
                out.append(b'{"preview":true,"offset":%d,"result":{"user":"p%d","count":"%d"}}\n' % (i, batch, i))
        self.wfile.write(b"".join(out))
        # distinct rows, built once and cycled, so the server is not the bottleneck
        template = '{"preview":false,"offset":%(n)d,"result":' + row_template() + "}\n"
        block = [(template % {"n": n, "t": 1764324000 + n, "u": n % 250}).encode() for n in range(4000)]  # a multiple of the write chunk
        chunk = 2000
        full = max(0, self.rows - 1) // chunk
        for c in range(full):
            start = (c * chunk) % len(block)
            self.wfile.write(b"".join(block[start:start + chunk]))
        rest = [block[i % len(block)] for i in range(full * chunk, self.rows)]
        if rest or self.rows:
            last = (rest.pop() if rest else block[(self.rows - 1) % len(block)])
            last = last.replace(b'"preview":false,', b'"preview":false,"lastrow":true,', 1)
            self.wfile.write(b"".join(rest) + last)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):
            pass  # a reader stopped by its time budget hung up

    do_GET = do_POST


def serve(rows):
    ExportHandler.rows = rows
    server = ThreadingHTTPServer(("127.0.0.1", 0), ExportHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def peak_rss_mb():
    # Linux reports kilobytes
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(mode, url, budget):
    import requests

    from idgate.sources._readers import SplunkStream, split_lines
    from idgate.sources._splunk_http import StreamBody

    response = requests.post(url, data={"search": "search `notable`", "output_mode": "json"}, stream=True)
    body = StreamBody(response)
    start = time.perf_counter()
    rows = 0
    stopped = False
    if mode == "splunklib":
        from splunklib.results import JSONResultsReader
        for item in JSONResultsReader(body):
            if isinstance(item, dict):
                rows += 1
    else:
        stream = SplunkStream(split_lines(body.iter_chunks()), "bench")
        if mode == "parse":
            for _row in stream:
                rows += 1
        else:
            from idgate.sources.splunk_es import normalizer
            normalize = normalizer().normalize
            for row in stream:
                normalize(row)
                rows += 1
                if rows % 10000 == 0 and time.perf_counter() - start > budget:
                    stopped = True
                    break
    elapsed = time.perf_counter() - start
    response.close()
    print(json.dumps({"mode": mode, "rows": rows, "seconds": round(elapsed, 3),
                      "rows_per_s": round(rows / elapsed) if elapsed else None,
                      "peak_rss_mb": round(peak_rss_mb(), 1), "stopped_by_budget": stopped}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--budget", type=float, default=240.0, help="seconds per run at most (normalise stops early)")
    ap.add_argument("--modes", default="parse,normalise,splunklib")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.url, args.budget)
        return
    server = serve(args.rows)
    url = "http://127.0.0.1:%d/services/search/v2/jobs/export" % server.server_address[1]
    results = {}
    for mode in args.modes.split(","):
        try:
            out = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url,
                                  "--budget", str(args.budget)],
                                 capture_output=True, text=True, timeout=args.budget * 2 + 60)
        except subprocess.TimeoutExpired:
            print("%s: over the time box, stopped" % mode)
            continue
        if out.returncode != 0:
            print("%s failed: %s" % (mode, out.stderr.strip().splitlines()[-1:]))
            continue
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(results[mode]))
    server.shutdown()
    if "parse" in results and "splunklib" in results:
        ratio = results["parse"]["rows_per_s"] / max(1, results["splunklib"]["rows_per_s"])
        print("idgate parse / splunklib JSONResultsReader: %.2fx rows/s; peak RSS %.0f MB vs %.0f MB"
              % (ratio, results["parse"]["peak_rss_mb"], results["splunklib"]["peak_rss_mb"]))
    if "parse" in results:
        p = results["parse"]
        print("target >= 100k rows/s parsed: %s; < 100 MB: %s" % (
            "met" if p["rows_per_s"] >= 100_000 else "NOT met", "met" if p["peak_rss_mb"] < 100 else "NOT met"))


if __name__ == "__main__":
    main()

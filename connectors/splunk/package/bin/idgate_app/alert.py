"""The ``idgate_decide`` alert action (and ES adaptive response): Splunk
runs ``idgate_decide.py --execute`` with a JSON payload on stdin naming a
gzipped CSV of the triggering results. Each result row (a notable) goes
through the whole pipeline (decide, record, review request or execution)
and the decisions are written back to the notable."""
import csv
import gzip
import json
import logging
import sys
from typing import Any, Dict, Iterator, List, Optional, TextIO

from idgate.errors import IdgateError
from idgate.sources import get_normalizer

from .context import SplunkContext

log = logging.getLogger("idgate.alert")
csv.field_size_limit(min(sys.maxsize, 2 ** 31 - 1))  # notables carry long _raw fields


def read_results(path: str) -> Iterator[Dict[str, Any]]:
    """Rows of a results file: gzipped CSV, multivalue fields in ``__mv_``
    columns encoded as ``$one$;$two$``."""
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out: Dict[str, Any] = {}
                for key, value in row.items():
                    if key is None or key.startswith("__mv_"):
                        continue
                    mv = row.get("__mv_" + key)
                    out[key] = _decode_mv(mv) if mv else value
                yield out
    except OSError as exc:
        raise IdgateError("results file %s: %s" % (path, exc.strerror or exc)) from None


def _decode_mv(value: str) -> List[str]:
    items, current, i, inside = [], [], 0, False
    while i < len(value):
        ch = value[i]
        if ch == "$":
            if inside and i + 1 < len(value) and value[i + 1] == "$":
                current.append("$")
                i += 2
                continue
            inside = not inside
            if not inside:
                items.append("".join(current))
                current = []
        elif inside:
            current.append(ch)
        i += 1
    return items


def run(payload: Dict[str, Any], context: Optional[SplunkContext] = None, write_back: Any = None) -> Dict[str, Any]:
    """Decide every row; returns a summary. A row that cannot be used is a
    dead letter with its reason, and the other rows are still decided."""
    config = payload.get("configuration") or {}
    for key in ("session_key", "server_uri", "results_file"):
        if not payload.get(key):
            raise IdgateError("the alert payload has no %s: is this run by Splunk's alert framework?" % key)
    ctx = context or SplunkContext(payload["server_uri"], payload["session_key"], payload.get("owner"))
    engine = ctx.engine()
    platform = str(config.get("platform") or "splunk_es")
    normalizer = get_normalizer(platform)
    source_id = "splunk_alert:%s" % (payload.get("search_name") or payload.get("sid") or "adhoc")
    summary: Dict[str, Any] = {"rows": 0, "decisions": {}, "rejected": 0, "written_back": 0}
    writer = write_back if write_back is not None else (
        _es_writer(ctx, payload) if str(config.get("write_back", "1")).lower() in ("1", "true") else None)
    for row in read_results(payload["results_file"]):
        summary["rows"] += 1
        try:
            alert = normalizer.normalize(row)
        except IdgateError as exc:
            with engine.state.transaction():
                engine.reject(source_id, platform, str(exc), getattr(exc, "record_id", None), "normalize", None)
            summary["rejected"] += 1
            continue
        decisions = engine.submit(alert, source_id)
        for d in decisions:
            summary["decisions"][d["autonomy"]] = summary["decisions"].get(d["autonomy"], 0) + 1
        if writer is not None and decisions:
            try:
                writer.write_back(alert, decisions)
                summary["written_back"] += 1
                engine.audit.append("annotation.written", alert_id=alert.id, data={"decisions": len(decisions)})
            except IdgateError as exc:
                engine.audit.append("annotation.failed", alert_id=alert.id, data={"error": str(exc)})
    return summary


def _es_writer(ctx: SplunkContext, payload: Dict[str, Any]) -> Any:
    """The ES source's own write-back (notable_update), on this session."""
    from idgate import secrets
    from idgate.sources.splunk_es import SplunkESSource
    secrets.add_resolver("splunksession", lambda _: ctx.session_key)
    source = SplunkESSource({"id": "splunk-local", "url": payload["server_uri"], "token": "splunksession:current"},
                            secrets)
    # a session key authenticates as "Splunk <key>", not as a bearer token
    source.service = ctx.service
    source._logged_in = True
    return source


def main(argv: List[str], stdin: TextIO) -> int:
    if len(argv) < 2 or argv[1] != "--execute":
        sys.stderr.write("FATAL idgate_decide is run by Splunk's alert framework with --execute\n")
        return 2
    try:
        payload = json.loads(stdin.read())
        summary = run(payload)
    except (ValueError, IdgateError) as exc:
        sys.stderr.write("ERROR idgate_decide: %s\n" % str(exc).splitlines()[0])
        return 2
    sys.stderr.write("INFO idgate_decide: %s\n" % json.dumps(summary, sort_keys=True))
    return 0

"""splunkd's side of the search command protocol (chunked, version 2):
what splunkd writes to a custom command's stdin, and a reader of what the
command writes back."""
import csv
import io
import json
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .fake_splunkd import BASE


def chunk(metadata: Dict[str, Any], body: str = "") -> bytes:
    meta = json.dumps(metadata).encode("utf-8")
    data = body.encode("utf-8")
    return b"chunked 1.0,%d,%d\n" % (len(meta), len(data)) + meta + data


def getinfo(args: List[str], dispatch_dir: str, command: str = "idgate") -> bytes:
    return chunk({"action": "getinfo", "preview": False, "streaming_command_will_restart": False,
                  "searchinfo": {"args": args, "raw_args": args, "dispatch_dir": dispatch_dir,
                                 "earliest_time": "0", "latest_time": "0", "search": "| %s %s" % (command, " ".join(args)),
                                 "session_key": "sessionkey123", "splunkd_uri": BASE, "username": "admin",
                                 "app": "idgate", "owner": "admin", "sid": "1700000000.42",
                                 "splunk_version": "9.1.2", "command": command, "maxresultrows": 50000}})


def records_csv(rows: Iterable[Dict[str, Any]]) -> str:
    """Rows as splunkd sends them: CSV, multivalue fields as ``__mv_<name>``
    holding ``$a$;$b$`` beside a newline-joined plain value."""
    rows = list(rows)
    names: List[str] = []
    for row in rows:
        for k in row:
            if k not in names:
                names.append(k)
    header = []
    for n in names:
        header += [n, "__mv_" + n]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        line = []
        for n in names:
            v = row.get(n, "")
            if isinstance(v, list):
                line += ["\n".join(v), ";".join("$%s$" % x.replace("$", "$$") for x in v)]
            else:
                line += [v, ""]
        writer.writerow(line)
    return out.getvalue()


def execute(rows: Iterable[Dict[str, Any]], finished: bool = True) -> bytes:
    return chunk({"action": "execute", "finished": finished}, records_csv(rows))


def read_chunks(output: bytes) -> List[Tuple[Dict[str, Any], str]]:
    chunks = []
    stream = io.BytesIO(output)
    while True:
        header = stream.readline()
        if not header:
            return chunks
        _, mlen, blen = header.decode().strip().split(",")
        meta = json.loads(stream.read(int(mlen)).decode("utf-8") or "{}")
        body = stream.read(int(blen)).decode("utf-8")
        chunks.append((meta, body))


def results(output: bytes) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(records, metadata of every chunk); multivalue fields as lists."""
    rows: List[Dict[str, Any]] = []
    metas = []
    for meta, body in read_chunks(output):
        metas.append(meta)
        if not body:
            continue
        for row in csv.DictReader(io.StringIO(body)):
            rec: Dict[str, Any] = {}
            for k, v in row.items():
                if k.startswith("__mv_"):
                    continue
                mv = row.get("__mv_" + k)
                rec[k] = [x.replace("$$", "$") for x in mv[1:-1].split("$;$")] if mv else v
            rows.append(rec)
    return rows, metas


def run(command_class: Any, args: List[str], rows: List[Dict[str, Any]], dispatch_dir: str,
        batch: Optional[int] = None) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Run a command class through splunklib's own dispatcher, as splunkd does."""
    from splunklib.searchcommands import dispatch
    data = getinfo(args, dispatch_dir)
    size = batch or max(1, len(rows))
    for start in range(0, max(1, len(rows)), size):
        part = rows[start:start + size]
        data += execute(part, finished=start + size >= len(rows))
    out = io.BytesIO()
    try:
        dispatch(command_class, ["idgate_command.py"], io.BytesIO(data), out, None)
    except SystemExit as exc:
        if exc.code not in (0, None):
            return results(out.getvalue())
    return results(out.getvalue())

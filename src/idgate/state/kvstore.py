"""State in the Splunk KV store, for the Splunk app: the same interface as
SQLite, over the KV store REST API (``storage/collections/data``) through
splunklib on idgate's HTTP stack.

The KV store has neither transactions nor locks, so this module adds both:

- **Atomic commit.** Writes inside ``transaction()`` are buffered (reads see
  them). At the end, the whole set is first written as *one* document to the
  ``journal`` collection (a single-document write is atomic), then applied
  with ``batch_save`` per collection (upserts: repeating them is harmless),
  then the journal document is deleted. Opening the store re-applies any
  journal document left by a crash, so a transaction lands whole or not at all.
- **One writer at a time.** Alert actions, the modular input, REST calls and
  search commands run in separate processes. The outermost transaction holds a
  lease document in the ``locks`` collection (insert fails with 409 while
  another process holds it; a lease past its expiry is taken over), so the
  audit chain's sequence numbers and the idempotency checks stay serial.

Documents keep the row as a JSON string (``body``) beside the few fields
queries filter on: KV store field names may not contain ``.`` or start with
``$``, and alert payloads do.

Audit records are also sent to a Splunk index (``receivers/simple``, one JSON
record per line) after their transaction commits, exactly as hashed, so the
chain verifies on the indexed copy too (``records_from_events``). Delivery is
at least once: the last shipped ``seq`` is kept in ``meta`` and a failed
shipment is retried on the next commit.
"""
import hashlib
import json
import logging
import os
import socket
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ..errors import IdgateError
from .base import StateStore

log = logging.getLogger("idgate.kvstore")

APP = "idgate"
COLLECTIONS = ("alerts", "decisions", "requests", "approvals", "executions", "gate_state", "checkpoints",
               "dead_letters", "audit", "meta", "journal", "locks", "policies")
BATCH = 1000           # the KV store's default max_documents_per_batch_save
PAGE = 1000            # rows per query page
LEASE_SECONDS = 60.0   # a writer that died frees the store after this
WAIT_SECONDS = 30.0    # how long a writer waits for the lease before giving up


def _dump(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _hkey(*parts: Any) -> str:
    """A KV-store-safe key for ids that may hold ``/``, ``@`` or spaces."""
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:40]


class _Order:
    """Insertion order (SQLite's rowid): a sortable string, unique per process."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> str:
        value = max(time.time_ns(), self.last + 1)
        self.last = value
        return "%020d" % value


class KVStoreState(StateStore):
    def __init__(self, service: Any, app: str = APP, prefix: str = "idgate_", index: Optional[str] = "idgate",
                 sourcetype: str = "idgate:audit", clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, lease_seconds: float = LEASE_SECONDS,
                 wait_seconds: float = WAIT_SECONDS):
        self.service, self.app, self.prefix = service, app, prefix
        self.index, self.sourcetype = index, sourcetype
        self.clock, self.sleep = clock, sleep
        self.lease_seconds, self.wait_seconds = lease_seconds, wait_seconds
        self.owner = "%s:%d:%s" % (socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])
        self._depth = 0
        self._pending: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self._new_audit: List[Dict[str, Any]] = []
        self._order = _Order()
        self.recover()

    # ------------------------------------------------------------- REST calls
    def _path(self, collection: str, key: Optional[str] = None) -> str:
        path = "storage/collections/data/%s%s" % (self.prefix, collection)
        return path + "/" + key if key else path

    def _call(self, fn: Callable[..., Any], what: str, *args: Any, **kwargs: Any) -> Any:
        """A splunklib call with its error as one line; the HTTPError itself
        for the statuses the caller handles (404, 409)."""
        from splunklib.binding import HTTPError as SplunkHTTPError
        try:
            return fn(*args, owner="nobody", app=self.app, **kwargs)
        except SplunkHTTPError as exc:
            if exc.status in (404, 409):
                raise
            raise IdgateError("KV store %s: HTTP %s: %s" % (what, exc.status, _message(exc))) from None

    def _read_json(self, response: Any) -> Any:
        data = response.body.read()
        return json.loads(data.decode("utf-8")) if data else None

    def _query(self, collection: str, query: Optional[Dict[str, Any]] = None, sort: str = "order",
               limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """All matching documents, paged (the KV store caps one answer)."""
        out: List[Dict[str, Any]] = []
        skip = 0
        while True:
            page = PAGE if limit is None else min(PAGE, limit - len(out))
            if page <= 0:
                break
            params: Dict[str, Any] = {"output_mode": "json", "limit": page, "skip": skip}
            if query:
                params["query"] = _dump(query)
            if sort:
                params["sort"] = sort
            docs = self._read_json(self._call(self.service.get, "query %s" % collection,
                                              self._path(collection), **params)) or []
            out.extend(docs)
            if len(docs) < page:
                break
            skip += len(docs)
        return out

    def _fetch(self, collection: str, key: str) -> Optional[Dict[str, Any]]:
        from splunklib.binding import HTTPError as SplunkHTTPError
        try:
            return self._read_json(self._call(self.service.get, "read %s" % collection,
                                              self._path(collection, key), output_mode="json"))
        except SplunkHTTPError:  # 404: no such document
            return None

    def _batch_save(self, collection: str, docs: List[Dict[str, Any]]) -> None:
        for start in range(0, len(docs), BATCH):
            self._call(self.service.post, "batch_save %s" % collection, self._path(collection, "batch_save"),
                       headers=[("Content-Type", "application/json")], body=json.dumps(docs[start:start + BATCH]))

    def _insert(self, collection: str, doc: Dict[str, Any]) -> None:
        self._call(self.service.post, "insert %s" % collection, self._path(collection),
                   headers=[("Content-Type", "application/json")], body=json.dumps(doc))

    def _delete(self, collection: str, key: str) -> None:
        from splunklib.binding import HTTPError as SplunkHTTPError
        try:
            self._call(self.service.delete, "delete %s" % collection, self._path(collection, key))
        except SplunkHTTPError:  # already gone
            pass

    # ---------------------------------------------------------- transactions
    @contextmanager
    def transaction(self) -> Iterator[None]:
        outer = self._depth == 0
        if outer:
            self._acquire()
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if outer:
                self._pending.clear()
                self._new_audit = []
                self._release()
            raise
        self._depth -= 1
        if outer:
            try:
                self._commit()
            finally:
                self._release()
            self.ship_audit()

    def _write(self, collection: str, key: str, doc: Dict[str, Any]) -> None:
        doc["_key"] = key
        if self._depth:
            self._pending[(collection, key)] = doc
        else:  # a single write outside a transaction is atomic by itself
            with self.transaction():
                self._pending[(collection, key)] = doc

    def _commit(self) -> None:
        if not self._pending:
            return
        ops: Dict[str, List[Dict[str, Any]]] = {}
        for (collection, _), doc in self._pending.items():
            ops.setdefault(collection, []).append(doc)
        txid = uuid.uuid4().hex
        self._insert("journal", {"_key": txid, "order": self._order.next(), "ops": _dump(ops)})
        self._apply(ops)
        self._delete("journal", txid)
        self._pending.clear()

    def _apply(self, ops: Dict[str, List[Dict[str, Any]]]) -> None:
        # the audit collection and its head anchor last: a reader never sees
        # a head that points past the records
        for collection in sorted(ops, key=lambda c: (c in ("audit", "meta"), c)):
            self._batch_save(collection, ops[collection])

    def recover(self) -> int:
        """Finish the transactions a crash interrupted after their journal
        document was written. Returns how many were replayed."""
        replayed = 0
        for doc in self._query("journal", sort="order"):
            try:
                ops = json.loads(doc["ops"])
            except (KeyError, TypeError, ValueError):
                raise IdgateError("KV store journal document %s is damaged; inspect collection %sjournal"
                                  % (doc.get("_key"), self.prefix)) from None
            self._apply(ops)
            self._delete("journal", doc["_key"])
            replayed += 1
        return replayed

    def _acquire(self) -> None:
        from splunklib.binding import HTTPError as SplunkHTTPError
        deadline = self.clock() + self.wait_seconds
        delay = 0.05
        while True:
            now = self.clock()
            try:
                self._insert("locks", {"_key": "state", "owner": self.owner, "expires": now + self.lease_seconds})
                return
            except SplunkHTTPError as exc:
                if exc.status != 409:
                    raise IdgateError("KV store lock: HTTP %s: %s" % (exc.status, _message(exc))) from None
            holder = self._fetch("locks", "state")
            if holder is not None and float(holder.get("expires") or 0) < now:
                log.warning("taking over the KV store lease of %s (expired)", holder.get("owner"))
                self._delete("locks", "state")
                continue
            if now >= deadline:
                raise IdgateError("KV store is busy: %s has held the idgate state lock for over %ds"
                                  % ((holder or {}).get("owner", "another process"), int(self.wait_seconds)))
            self.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _release(self) -> None:
        self._delete("locks", "state")

    # ------------------------------------------------------------- reading
    def _get(self, collection: str, key: str) -> Optional[Dict[str, Any]]:
        if (collection, key) in self._pending:
            return self._pending[(collection, key)]
        return self._fetch(collection, key)

    def _select(self, collection: str, where: Dict[str, Any], sort: str = "order",
                limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Documents matching equality conditions: the server's, overlaid with
        this transaction's pending writes."""
        docs = {d["_key"]: d for d in self._query(collection, where or None, sort,
                                                  None if self._pending else limit)}
        for (coll, key), doc in self._pending.items():
            if coll != collection:
                continue
            if all(doc.get(k) == v for k, v in where.items()):
                docs[key] = doc
            else:
                docs.pop(key, None)
        rows = sorted(docs.values(), key=lambda d: tuple(d.get(f, "") for f in sort.split(",")))
        return rows[:limit] if limit is not None else rows

    @staticmethod
    def _body(doc: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        return json.loads(doc["body"]) if doc else None

    # ---------------------------------------------------- alerts, decisions
    def alert_seen(self, alert_id: str) -> bool:
        return self._get("alerts", _hkey(alert_id)) is not None

    def mark_alert(self, alert_id: str, source_id: str, at: str, summary: Dict[str, Any]) -> None:
        self._write("alerts", _hkey(alert_id), {"alert_id": alert_id, "source_id": source_id, "received_at": at,
                                                "order": self._order.next(), "body": _dump(summary)})

    def get_alert(self, alert_id: str) -> Optional[Dict[str, Any]]:
        return self._body(self._get("alerts", _hkey(alert_id)))

    def put_decision(self, d: Dict[str, Any]) -> None:
        self._write("decisions", d["decision_id"], {
            "alert_id": d["alert_id"], "idx": "%06d" % d["recommendation_index"], "autonomy": d["autonomy"],
            "rule_id": d.get("rule_id"), "decided_at": d["decided_at"], "order": self._order.next(),
            "body": _dump(d)})

    def get_decision(self, decision_id: str) -> Optional[Dict[str, Any]]:
        return self._body(self._get("decisions", decision_id))

    def decisions(self, alert_id: Optional[str] = None, limit: int = 1000) -> List[Dict[str, Any]]:
        if alert_id:
            docs = self._select("decisions", {"alert_id": alert_id}, sort="idx", limit=limit)
        else:
            docs = self._select("decisions", {}, limit=limit)
        return [json.loads(d["body"]) for d in docs]

    def count_decisions(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for d in self._select("decisions", {}):
            counts[d["autonomy"]] = counts.get(d["autonomy"], 0) + 1
        return counts

    # ---------------------------------------------- requests and approvals
    def put_request(self, r: Dict[str, Any]) -> None:
        self._write("requests", r["request_id"], self._request_doc(r, self._order.next()))

    @staticmethod
    def _request_doc(r: Dict[str, Any], order: str) -> Dict[str, Any]:
        return {"decision_id": r["decision_id"], "status": r["status"], "created_at": r["created_at"],
                "expires_at": r.get("expires_at"), "alert_id": r.get("alert_id"), "order": order,
                "body": _dump(r)}

    def get_request(self, request_id: str) -> Optional[Dict[str, Any]]:
        return self._body(self._get("requests", request_id))

    def update_request(self, request_id: str, **fields: Any) -> None:
        with self.transaction():
            doc = self._get("requests", request_id)
            if doc is None:
                raise IdgateError("no review request %s" % request_id)
            body = json.loads(doc["body"])
            body.update(fields)
            self._write("requests", request_id, self._request_doc(body, doc.get("order") or self._order.next()))

    def requests(self, status: Optional[str] = None, limit: int = 1000) -> List[Dict[str, Any]]:
        docs = self._select("requests", {"status": status} if status else {}, sort="created_at,order", limit=limit)
        return [json.loads(d["body"]) for d in docs]

    def add_approval(self, a: Dict[str, Any]) -> bool:
        key = _hkey(a["request_id"], a["approver"])
        with self.transaction():
            if self._get("approvals", key) is not None:
                return False
            self._write("approvals", key, {"request_id": a["request_id"], "approver": a["approver"],
                                           "verdict": a["verdict"], "at": a["at"], "order": self._order.next(),
                                           "body": _dump(a)})
        return True

    def approvals(self, request_id: str) -> List[Dict[str, Any]]:
        return [json.loads(d["body"]) for d in self._select("approvals", {"request_id": request_id},
                                                             sort="at,order")]

    # ------------------------------------------------------------ executions
    def put_execution(self, e: Dict[str, Any]) -> bool:
        with self.transaction():
            if self._get("executions", e["execution_id"]) is not None or \
                    self._select("executions", {"idempotency_key": e["idempotency_key"]}, limit=1):
                return False
            self._write("executions", e["execution_id"], self._execution_doc(e, self._order.next()))
        return True

    @staticmethod
    def _execution_doc(e: Dict[str, Any], order: str) -> Dict[str, Any]:
        return {"idempotency_key": e["idempotency_key"], "decision_id": e.get("decision_id"),
                "status": e["status"], "alert_id": e.get("alert_id"),
                "provisional_until": e.get("provisional_until"), "order": order, "body": _dump(e)}

    def get_execution(self, execution_id: str) -> Optional[Dict[str, Any]]:
        return self._body(self._get("executions", execution_id))

    def update_execution(self, execution_id: str, **fields: Any) -> None:
        with self.transaction():
            doc = self._get("executions", execution_id)
            if doc is None:
                raise IdgateError("no execution %s" % execution_id)
            body = json.loads(doc["body"])
            body.update(fields)
            self._write("executions", execution_id, self._execution_doc(body, doc.get("order") or self._order.next()))

    def executions(self, status: Optional[str] = None, limit: int = 100000) -> List[Dict[str, Any]]:
        docs = self._select("executions", {"status": status} if status else {}, limit=limit)
        return [json.loads(d["body"]) for d in docs]

    # ---------------------------------- gate state, checkpoints, dead letters
    def load_gate_state(self) -> Optional[Dict[str, Any]]:
        return self._body(self._get("gate_state", "gate"))

    def save_gate_state(self, data: Dict[str, Any]) -> None:
        self._write("gate_state", "gate", {"body": _dump(data)})

    def get_checkpoint(self, source_id: str) -> Optional[Dict[str, Any]]:
        return self._body(self._get("checkpoints", _hkey(source_id)))

    def set_checkpoint(self, source_id: str, checkpoint: Dict[str, Any]) -> None:
        self._write("checkpoints", _hkey(source_id), {"source_id": source_id, "body": _dump(checkpoint)})

    def add_dead_letter(self, letter: Dict[str, Any]) -> None:
        order = self._order.next()
        self._write("dead_letters", _hkey(order, uuid.uuid4().hex), {"at": letter.get("at"), "order": order,
                                                                     "body": _dump(letter)})

    def dead_letters(self, limit: int = 1000) -> List[Dict[str, Any]]:
        return [json.loads(d["body"]) for d in self._select("dead_letters", {}, limit=limit)]

    # ------------------------------------------------------------------ audit
    def audit_head(self) -> Optional[Dict[str, Any]]:
        return self.audit_anchor()

    def audit_anchor(self) -> Optional[Dict[str, Any]]:
        return self.get_meta("audit_anchor")

    def append_audit(self, record: Dict[str, Any]) -> None:
        self._write("audit", "%012d" % record["seq"], {"seq": record["seq"], "order": "%012d" % record["seq"],
                                                       "body": _dump(record)})
        # the anchor moves in the same commit (applied after the records)
        self._write("meta", "audit_anchor", {"body": _dump({"seq": record["seq"], "hash": record["hash"]})})
        self._new_audit.append(record)

    def audit_records(self, after_seq: int = 0) -> Iterator[Dict[str, Any]]:
        seq = after_seq
        while True:
            docs = self._query("audit", {"seq": {"$gt": seq}}, sort="seq", limit=PAGE)
            for doc in docs:
                record = json.loads(doc["body"])
                seq = record["seq"]
                yield record
            if len(docs) < PAGE:
                return

    def get_meta(self, key: str) -> Optional[Dict[str, Any]]:
        return self._body(self._get("meta", key))

    def set_meta(self, key: str, value: Dict[str, Any]) -> None:
        self._write("meta", key, {"body": _dump(value)})

    # ------------------------------------------------- audit → Splunk index
    def ship_audit(self) -> int:
        """Send the audit records not yet indexed to the ``idgate`` index.
        A failure is logged and retried on the next commit: the KV store copy
        is the record of truth, the index the searchable one."""
        if not self.index:
            self._new_audit = []
            return 0
        new, self._new_audit = self._new_audit, []
        shipped = (self._body(self._fetch("meta", "audit_indexed")) or {}).get("seq", 0)
        if new and new[0]["seq"] == shipped + 1:
            records: Iterable[Dict[str, Any]] = new
        else:
            head = self.audit_anchor()
            if not head or head["seq"] <= shipped:
                return 0
            records = self.audit_records(shipped)
        sent = 0
        batch: List[Dict[str, Any]] = []
        try:
            for record in records:
                if record["seq"] <= shipped:
                    continue
                batch.append(record)
                if len(batch) >= 500:
                    shipped = self._send(batch)
                    sent += len(batch)
                    batch = []
            if batch:
                shipped = self._send(batch)
                sent += len(batch)
        except IdgateError as exc:
            log.error("audit records not indexed yet (will retry): %s", exc)
        return sent

    def _send(self, records: List[Dict[str, Any]]) -> int:
        body = "\n".join(json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
                         for r in records)
        try:
            self.service.post("receivers/simple", owner="nobody", app=self.app, index=self.index,
                              sourcetype=self.sourcetype, source="idgate:kvstore",
                              body=body.encode("utf-8"))
        except Exception as exc:  # any transport failure: retried on the next commit
            raise IdgateError("index %s: %s" % (self.index, str(exc).splitlines()[0][:200] if str(exc) else
                                                type(exc).__name__)) from None
        seq = records[-1]["seq"]
        # its own tiny write: the shipping mark is not part of any transition
        self._batch_save("meta", [{"_key": "audit_indexed", "body": _dump({"seq": seq})}])
        return seq


def records_from_events(events: Iterable[Any]) -> List[Dict[str, Any]]:
    """Audit records from indexed events (``_raw`` strings, or dicts with a
    ``_raw``), in chain order, each once: delivery to the index is at least
    once, so identical repeats are dropped; a *different* record with a seen
    seq is kept, and ``audit.verify`` reports it."""
    by_seq: Dict[int, List[Dict[str, Any]]] = {}
    for event in events:
        raw = event.get("_raw") if isinstance(event, dict) and "_raw" in event else event
        record = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
        if not isinstance(record, dict):
            raise IdgateError("an indexed audit event is not a JSON object")
        same = by_seq.setdefault(record.get("seq", -1), [])
        if record not in same:
            same.append(record)
    return [r for seq in sorted(by_seq) for r in by_seq[seq]]


def _message(exc: Any) -> str:
    body = getattr(exc, "body", b"")
    try:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        data = json.loads(text)
        msgs = data.get("messages") if isinstance(data, dict) else None
        if msgs:
            return str(msgs[0].get("text", ""))[:200]
    except (ValueError, AttributeError):
        pass
    return str(exc).splitlines()[0][:200] if str(exc) else "no detail"


def connect(splunkd_uri: str, session_key: str, app: str = APP, verify: Any = False,
            session: Any = None) -> Any:
    """A splunklib Service on idgate's HTTP stack, authenticated with a
    splunkd session key (what alert actions, search commands, modular inputs
    and REST handlers are handed). ``verify`` is False by default because
    splunkd's management port on localhost carries a self-signed certificate."""
    from urllib.parse import urlsplit

    from splunklib import client

    from ..http import HttpClient
    from ..sources._splunk_http import make_handler
    parts = urlsplit(splunkd_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IdgateError("splunkd URI %r must be https://host:port" % splunkd_uri)
    http = HttpClient("splunkd", splunkd_uri, verify=verify, session=session)
    return client.Service(handler=make_handler(http), scheme=parts.scheme, host=parts.hostname,
                          port=parts.port or 8089, token=session_key, owner="nobody", app=app)

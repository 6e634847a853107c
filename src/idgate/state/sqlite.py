"""The embedded SQLite state: one file under the state folder, WAL mode,
full sync (a decision the pipeline has committed survives kill -9 and power
loss), versioned migrations."""
import os
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

from .. import jsonfast
from ..errors import IdgateError
from .base import StateStore

DB_NAME = "idgate.db"

# each entry migrates from version i to i+1; never edit a released one
MIGRATIONS = [
    """
    CREATE TABLE alerts (alert_id TEXT PRIMARY KEY, source_id TEXT, received_at TEXT, summary TEXT);
    CREATE TABLE decisions (decision_id TEXT PRIMARY KEY, alert_id TEXT NOT NULL, idx INTEGER NOT NULL,
        autonomy TEXT NOT NULL, rule_id TEXT, policy_version TEXT, decided_at TEXT, body TEXT NOT NULL,
        UNIQUE(alert_id, idx));
    CREATE TABLE requests (request_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL, created_at TEXT, expires_at TEXT, body TEXT NOT NULL);
    CREATE INDEX requests_status ON requests(status);
    CREATE TABLE approvals (request_id TEXT NOT NULL, approver TEXT NOT NULL, verdict TEXT NOT NULL,
        at TEXT, body TEXT NOT NULL, PRIMARY KEY (request_id, approver));
    CREATE TABLE executions (execution_id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE,
        decision_id TEXT, status TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX executions_status ON executions(status);
    CREATE TABLE gate_state (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
    CREATE TABLE checkpoints (source_id TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT, body TEXT NOT NULL);
    CREATE TABLE audit (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, body TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, body TEXT NOT NULL);
    """,
]


def _dump(obj: Any) -> str:
    # storage only: audit hashes are computed over canonical stdlib JSON
    # (audit.canonical_json), never over this text
    return jsonfast.dumps(obj)


class SQLiteState(StateStore):
    def __init__(self, folder: str):
        self.folder = folder
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise IdgateError("state folder %s: %s" % (folder, exc.strerror)) from None
        self.path = os.path.join(folder, DB_NAME)
        try:
            self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as exc:
            raise IdgateError("state %s: cannot open: %s" % (self.path, exc)) from None
        self._lock = threading.RLock()
        self._depth = 0
        self._migrate()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise IdgateError("state %s was written by a newer idgate (schema %d > %d)" % (
                self.path, version, len(MIGRATIONS)))
        for target in range(version, len(MIGRATIONS)):
            with self.transaction():
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("PRAGMA user_version=%d" % (target + 1))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self.db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self.db.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outer:
                    self.db.execute("COMMIT")

    def _one(self, sql: str, *args: Any) -> Optional[Dict[str, Any]]:
        row = self.db.execute(sql, args).fetchone()
        return jsonfast.loads(row[0]) if row else None

    def _all(self, sql: str, *args: Any) -> List[Dict[str, Any]]:
        return [jsonfast.loads(r[0]) for r in self.db.execute(sql, args).fetchall()]

    # alerts and decisions
    def alert_seen(self, alert_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM alerts WHERE alert_id=?", (alert_id,)).fetchone() is not None

    def mark_alert(self, alert_id: str, source_id: str, at: str, summary: Dict[str, Any]) -> None:
        self.db.execute("INSERT INTO alerts VALUES (?,?,?,?)", (alert_id, source_id, at, _dump(summary)))

    def get_alert(self, alert_id: str) -> Optional[Dict[str, Any]]:
        return self._one("SELECT summary FROM alerts WHERE alert_id=?", alert_id)

    def put_decision(self, d: Dict[str, Any]) -> None:
        self.db.execute("INSERT INTO decisions VALUES (?,?,?,?,?,?,?,?)", (
            d["decision_id"], d["alert_id"], d["recommendation_index"], d["autonomy"], d.get("rule_id"),
            d["policy_version"], d["decided_at"], _dump(d)))

    def get_decision(self, decision_id: str) -> Optional[Dict[str, Any]]:
        return self._one("SELECT body FROM decisions WHERE decision_id=?", decision_id)

    def decisions(self, alert_id: Optional[str] = None, limit: int = 1000) -> List[Dict[str, Any]]:
        if alert_id:
            return self._all("SELECT body FROM decisions WHERE alert_id=? ORDER BY idx LIMIT ?", alert_id, limit)
        return self._all("SELECT body FROM decisions ORDER BY rowid LIMIT ?", limit)

    def count_decisions(self) -> Dict[str, int]:
        return dict(self.db.execute("SELECT autonomy, COUNT(*) FROM decisions GROUP BY autonomy").fetchall())

    # requests and approvals
    def put_request(self, r: Dict[str, Any]) -> None:
        self.db.execute("INSERT INTO requests VALUES (?,?,?,?,?,?)", (
            r["request_id"], r["decision_id"], r["status"], r["created_at"], r.get("expires_at"), _dump(r)))

    def get_request(self, request_id: str) -> Optional[Dict[str, Any]]:
        return self._one("SELECT body FROM requests WHERE request_id=?", request_id)

    def update_request(self, request_id: str, **fields: Any) -> None:
        self._update("requests", "request_id", request_id, "review request", fields)

    def _update(self, table: str, key: str, row_id: str, what: str, fields: Dict[str, Any]) -> None:
        """Merge ``fields`` into a row's body (and its status column)."""
        with self.transaction():
            body = self._one("SELECT body FROM %s WHERE %s=?" % (table, key), row_id)
            if body is None:
                raise IdgateError("no %s %s" % (what, row_id))
            body.update(fields)
            self.db.execute("UPDATE %s SET status=?, body=? WHERE %s=?" % (table, key),
                            (body["status"], _dump(body), row_id))

    def requests(self, status: Optional[str] = None, limit: int = 1000) -> List[Dict[str, Any]]:
        if status:
            return self._all("SELECT body FROM requests WHERE status=? ORDER BY created_at, rowid LIMIT ?",
                             status, limit)
        return self._all("SELECT body FROM requests ORDER BY created_at, rowid LIMIT ?", limit)

    def add_approval(self, a: Dict[str, Any]) -> bool:
        try:
            self.db.execute("INSERT INTO approvals VALUES (?,?,?,?,?)",
                            (a["request_id"], a["approver"], a["verdict"], a["at"], _dump(a)))
            return True
        except sqlite3.IntegrityError:
            return False

    def approvals(self, request_id: str) -> List[Dict[str, Any]]:
        return self._all("SELECT body FROM approvals WHERE request_id=? ORDER BY at, rowid", request_id)

    # executions
    def put_execution(self, e: Dict[str, Any]) -> bool:
        try:
            self.db.execute("INSERT INTO executions VALUES (?,?,?,?,?)", (
                e["execution_id"], e["idempotency_key"], e.get("decision_id"), e["status"], _dump(e)))
            return True
        except sqlite3.IntegrityError:
            return False

    def get_execution(self, execution_id: str) -> Optional[Dict[str, Any]]:
        return self._one("SELECT body FROM executions WHERE execution_id=?", execution_id)

    def update_execution(self, execution_id: str, **fields: Any) -> None:
        self._update("executions", "execution_id", execution_id, "execution", fields)

    def executions(self, status: Optional[str] = None, limit: int = 100000) -> List[Dict[str, Any]]:
        if status:
            return self._all("SELECT body FROM executions WHERE status=? ORDER BY rowid LIMIT ?", status, limit)
        return self._all("SELECT body FROM executions ORDER BY rowid LIMIT ?", limit)

    # gate state, checkpoints, dead letters
    def load_gate_state(self) -> Optional[Dict[str, Any]]:
        return self._one("SELECT body FROM gate_state WHERE id=1")

    def save_gate_state(self, data: Dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO gate_state VALUES (1, ?)", (_dump(data),))

    def get_checkpoint(self, source_id: str) -> Optional[Dict[str, Any]]:
        return self._one("SELECT body FROM checkpoints WHERE source_id=?", source_id)

    def set_checkpoint(self, source_id: str, checkpoint: Dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (source_id, _dump(checkpoint)))

    def add_dead_letter(self, letter: Dict[str, Any]) -> None:
        self.db.execute("INSERT INTO dead_letters (at, body) VALUES (?, ?)", (letter.get("at"), _dump(letter)))

    def dead_letters(self, limit: int = 1000) -> List[Dict[str, Any]]:
        return self._all("SELECT body FROM dead_letters ORDER BY id LIMIT ?", limit)

    # audit
    def audit_head(self) -> Optional[Dict[str, Any]]:
        row = self.db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return {"seq": row[0], "hash": row[1]} if row else None

    def append_audit(self, record: Dict[str, Any]) -> None:
        self.db.execute("INSERT INTO audit VALUES (?,?,?)", (record["seq"], record["hash"], _dump(record)))
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('audit_anchor', ?)",
                        ('{"seq":%d,"hash":"%s"}' % (record["seq"], record["hash"]),))

    def audit_anchor(self) -> Optional[Dict[str, Any]]:
        return self.get_meta("audit_anchor")

    def audit_records(self, after_seq: int = 0) -> Iterator[Dict[str, Any]]:
        cursor = self.db.execute("SELECT body FROM audit WHERE seq > ? ORDER BY seq", (after_seq,))
        for (body,) in cursor:
            yield jsonfast.loads(body)

    def get_meta(self, key: str) -> Optional[Dict[str, Any]]:
        return self._one("SELECT body FROM meta WHERE key=?", key)

    def set_meta(self, key: str, value: Dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, _dump(value)))

    def close(self) -> None:
        self.db.close()

"""The tamper-evident audit trail.

One record per transition, each holding the SHA-256 of the previous record,
so an edit, a deletion, an insertion or a reordering breaks the chain where
it happened. Records pass ``redact`` before they are hashed: a secret never
enters the trail.
"""
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, Iterator, List, Optional

from .secrets import redact
from .state.base import StateStore

GENESIS = "0" * 64

# the transitions SPEC names, and their completion pairs
KINDS = (
    "alert.received", "alert.rejected", "decision.made", "review.requested", "ticket.opening",
    "ticket.opened", "ticket.failed", "approval.recorded", "approval.refused", "review.approved",
    "review.denied", "review.expired", "execution.started", "execution.completed", "execution.failed",
    "execution.confirmed", "rollback.started", "rollback.completed", "rollback.failed",
    "annotation.written", "annotation.failed", "breaker.tripped", "breaker.reset", "outcome.reported",
)


def canonical_json(record: Dict[str, Any]) -> str:
    """The text a record's hash covers: stdlib JSON, sorted keys, so any
    idgate (with or without orjson, inside Splunk or not) verifies it."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(record: Dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


class AuditTrail:
    def __init__(self, state: StateStore):
        self.state = state

    def append(self, kind: str, *, at: Optional[str] = None, **fields: Any) -> Dict[str, Any]:
        """Append one record; call inside the state transaction of the
        transition it describes."""
        with self.state.transaction():
            head = self.state.audit_head()
            record: Dict[str, Any] = {
                "seq": (head["seq"] + 1) if head else 1,
                "at": at or datetime.now(timezone.utc).isoformat(),
                "kind": kind,
            }
            for key, value in fields.items():
                if value is not None:
                    record[key] = value
            record["prev"] = head["hash"] if head else GENESIS
            text = canonical_json(record)
            if redact(text) != text:  # a secret slipped in: scrub before hashing
                record = _scrub(record)
                text = canonical_json(record)
            # store exactly what was hashed (a datetime, say, becomes its text)
            record = json.loads(text)
            record["hash"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
            self.state.append_audit(record)
        return record

    def records(self) -> Iterator[Dict[str, Any]]:
        return self.state.audit_records()

    def verify(self) -> "Verification":
        return verify(self.state.audit_records(), self.state.audit_anchor())


@dataclass
class Verification:
    records: int = 0
    problems: List[str] = field(default_factory=list)
    head: Optional[str] = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> Dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "head": self.head, "problems": self.problems}


def verify(records: Iterable[Dict[str, Any]], expected_head: Optional[Dict[str, Any]] = None,
           max_problems: int = 20) -> Verification:
    """Check the chain. Each problem names the record (seq) where it shows."""
    result = Verification()
    prev_hash, expected_seq = GENESIS, 1
    last: Optional[Dict[str, Any]] = None

    def problem(text: str) -> None:
        if len(result.problems) < max_problems:
            result.problems.append(text)

    for record in records:
        result.records += 1
        seq = record.get("seq")
        if not isinstance(seq, int):
            problem("record %d has no sequence number: not an idgate audit record" % result.records)
            continue
        if seq > expected_seq:
            problem("records %s missing before seq %d (deleted)" % (
                "%d" % expected_seq if seq - 1 == expected_seq else "%d-%d" % (expected_seq, seq - 1), seq))
        elif seq < expected_seq:
            problem("record seq %d appears after seq %d (reordered or inserted)" % (seq, expected_seq - 1))
        if record.get("prev") != prev_hash:
            problem("record seq %d does not chain to the record before it (prev hash differs: "
                    "a record was inserted, deleted or moved)" % seq)
        if record_hash(record) != record.get("hash"):
            problem("record seq %d was edited (its hash does not match its content)" % seq)
        prev_hash = record.get("hash", "")
        expected_seq = seq + 1
        last = record
    result.head = last.get("hash") if last else None
    if expected_head is not None:
        if last is None or last.get("seq") != expected_head.get("seq") or last.get("hash") != expected_head.get("hash"):
            problem("the trail ends at seq %s but the store's head is seq %s (records removed at the end)" % (
                last.get("seq") if last else 0, expected_head.get("seq")))
    return result


def matches(record: Dict[str, Any], since: Optional[str] = None, until: Optional[str] = None,
            alert_id: Optional[str] = None, identity: Optional[str] = None) -> bool:
    if since and record.get("at", "") < since:
        return False
    if until and record.get("at", "") > until:
        return False
    if alert_id and record.get("alert_id") != alert_id:
        return False
    if identity and identity not in (record.get("identity_id"), record.get("target_id")):
        return False
    return True

"""What the pipeline needs to remember, and nothing else.

Rows are plain dicts with JSON-able values. Every mutating call made inside
``transaction()`` becomes durable together at its end, or not at all.
"""
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional


class StateStore(ABC):
    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together (durably) or not at all."""

    # alerts and decisions ---------------------------------------------------
    @abstractmethod
    def alert_seen(self, alert_id: str) -> bool: ...

    @abstractmethod
    def mark_alert(self, alert_id: str, source_id: str, at: str, summary: Dict[str, Any]) -> None: ...

    @abstractmethod
    def get_alert(self, alert_id: str) -> Optional[Dict[str, Any]]: ...

    @abstractmethod
    def put_decision(self, decision: Dict[str, Any]) -> None: ...

    @abstractmethod
    def get_decision(self, decision_id: str) -> Optional[Dict[str, Any]]: ...

    @abstractmethod
    def decisions(self, alert_id: Optional[str] = None, limit: int = 1000) -> List[Dict[str, Any]]: ...

    @abstractmethod
    def count_decisions(self) -> Dict[str, int]:
        """Decisions per autonomy level."""

    # review requests and approvals --------------------------------------------
    @abstractmethod
    def put_request(self, request: Dict[str, Any]) -> None: ...

    @abstractmethod
    def get_request(self, request_id: str) -> Optional[Dict[str, Any]]: ...

    @abstractmethod
    def update_request(self, request_id: str, **fields: Any) -> None: ...

    @abstractmethod
    def requests(self, status: Optional[str] = None, limit: int = 1000) -> List[Dict[str, Any]]: ...

    @abstractmethod
    def add_approval(self, approval: Dict[str, Any]) -> bool:
        """False when this approver already voted on this request."""

    @abstractmethod
    def approvals(self, request_id: str) -> List[Dict[str, Any]]: ...

    # executions ---------------------------------------------------------------
    @abstractmethod
    def put_execution(self, execution: Dict[str, Any]) -> bool:
        """False when an execution with this idempotency key exists already."""

    @abstractmethod
    def get_execution(self, execution_id: str) -> Optional[Dict[str, Any]]: ...

    @abstractmethod
    def update_execution(self, execution_id: str, **fields: Any) -> None: ...

    @abstractmethod
    def executions(self, status: Optional[str] = None, limit: int = 100000) -> List[Dict[str, Any]]: ...

    # gate state, checkpoints, dead letters ------------------------------------
    @abstractmethod
    def load_gate_state(self) -> Optional[Dict[str, Any]]: ...

    @abstractmethod
    def save_gate_state(self, data: Dict[str, Any]) -> None: ...

    @abstractmethod
    def get_checkpoint(self, source_id: str) -> Optional[Dict[str, Any]]: ...

    @abstractmethod
    def set_checkpoint(self, source_id: str, checkpoint: Dict[str, Any]) -> None: ...

    @abstractmethod
    def add_dead_letter(self, letter: Dict[str, Any]) -> None: ...

    @abstractmethod
    def dead_letters(self, limit: int = 1000) -> List[Dict[str, Any]]: ...

    # audit --------------------------------------------------------------------
    @abstractmethod
    def audit_head(self) -> Optional[Dict[str, Any]]:
        """``{"seq", "hash"}`` of the last audit record, or None."""

    @abstractmethod
    def append_audit(self, record: Dict[str, Any]) -> None:
        """Append a fully formed record (seq, prev, hash already set) and
        move the anchor (``audit_anchor``) to it in the same transaction."""

    def audit_anchor(self) -> Optional[Dict[str, Any]]:
        """``{"seq", "hash"}`` kept apart from the records, so that records
        cut from the end of the trail are noticed. None: no anchor kept."""
        return self.get_meta("audit_anchor")

    @abstractmethod
    def audit_records(self, after_seq: int = 0) -> Iterator[Dict[str, Any]]: ...

    @abstractmethod
    def get_meta(self, key: str) -> Optional[Dict[str, Any]]:
        """Small named values (the audit anchor, the breaker reset log)."""

    @abstractmethod
    def set_meta(self, key: str, value: Dict[str, Any]) -> None: ...

    def close(self) -> None:
        pass

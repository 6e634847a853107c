"""The executor interface.

The pipeline writes a durable execution record (and its audit record)
*before* it calls ``execute``, and completes it after. An executor must make
a repeat harmless: check the target's state first and answer ``noop`` when
the action is already in effect, and use ``idempotency_key`` where the
provider supports one. It records in ``pre_state`` what rollback needs.
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..errors import IdgateError


class ExecutorError(IdgateError):
    """A provider refused or failed. ``retryable`` says whether a later
    attempt may succeed (429, 5xx, timeout) or not (403 missing scope, 404)."""

    def __init__(self, message: str, retryable: bool = False, status: Optional[int] = None):
        super().__init__(message)
        self.retryable, self.status = retryable, status


@dataclass
class ExecutionRequest:
    execution_id: str
    decision_id: str
    action: str                      # a catalog action (or its inverse, for rollback)
    target: Dict[str, Any]           # kind, id, provider, name
    params: Dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""
    # for an inverse: what the original execution captured
    pre_state: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ExecutionResult:
    status: str                      # "done" | "noop" (already in effect)
    calls: List[Dict[str, Any]] = field(default_factory=list)   # what was called (no secrets)
    pre_state: Dict[str, Any] = field(default_factory=dict)     # what rollback needs
    detail: str = ""


class Executor(ABC):
    provider: str = ""
    # action → the least scopes/permissions it needs at the provider
    scopes: Dict[str, List[str]] = {}

    @property
    def actions(self) -> List[str]:
        return sorted(self.scopes)

    def supports(self, action: str) -> bool:
        return action in self.scopes

    @abstractmethod
    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        """Run ``request.action`` on ``request.target``. Raises
        ``ExecutorError`` for an action outside the allow-list or a failure."""

    def granted_scopes(self) -> Optional[List[str]]:
        """What the configured credentials actually hold, when the provider
        can tell (for ``idgate doctor``). None: cannot tell."""
        return None

"""The ticket interface: one ticket per review request, found again by its
correlation key (the review request id) before one is created."""
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, Optional


@dataclass
class TicketRef:
    system: str
    key: str
    url: Optional[str] = None


@dataclass
class TicketEvent:
    """A human acted in the ticket system: approve or deny."""

    request_id: str
    verdict: str          # "approve" | "deny"
    actor: str
    comment: str = ""


class TicketSystem(ABC):
    name: str = ""

    @abstractmethod
    def open(self, request: Dict[str, Any]) -> TicketRef:
        """Open (or find again) the ticket for a review request. ``request``
        holds: request_id, decision (dict), alert summary, digest, what will
        run on approval. Idempotent on request_id."""

    def poll(self, refs: Iterable[TicketRef]) -> Iterator[TicketEvent]:
        """Approvals or denials made in the ticket system since last asked."""
        return iter(())

    def close(self, ref: TicketRef, outcome: str) -> None:
        """Record the final outcome (executed, denied, expired) on the ticket."""

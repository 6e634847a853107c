"""The local queue: the review request in idgate's own state *is* the ticket;
analysts use ``idgate queue``/``approve``/``deny``."""
from typing import Any, Dict

from .base import TicketRef, TicketSystem


class LocalQueue(TicketSystem):
    name = "local"

    def open(self, request: Dict[str, Any]) -> TicketRef:
        return TicketRef(system="local", key=request["request_id"])


def ticket_system(config: Dict[str, Any], secrets: Any = None) -> TicketSystem:
    return LocalQueue()

"""Review-ticket systems, one module per system (``local`` is the default).

A module ``idgate.tickets.<name>`` exposes ``ticket_system(config, secrets)``.
"""
import importlib
import pkgutil
from typing import Any, Dict, List

from ..errors import IdgateError
from .base import TicketEvent, TicketRef, TicketSystem

__all__ = ["TicketEvent", "TicketRef", "TicketSystem", "get_ticket_system", "systems"]


def systems() -> List[str]:
    return sorted(i.name for i in pkgutil.iter_modules(__path__)  # type: ignore[name-defined]
                  if not i.name.startswith("_") and i.name != "base")


def get_ticket_system(name: str, config: Dict[str, Any], secrets: Any = None) -> TicketSystem:
    if name not in systems():
        raise IdgateError("unknown ticket system %r (known: %s)" % (name, ", ".join(systems())))
    return importlib.import_module("%s.%s" % (__name__, name)).ticket_system(config, secrets)

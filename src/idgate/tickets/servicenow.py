"""ServiceNow (Table API): one record per review request in ``sn_si_incident``
(Security Incident Response) or ``incident``, found again by
``correlation_id`` before one is created. A state change decided by an
analyst is picked up by ``poll``.

Config: url (https://INSTANCE.service-now.com), table (sn_si_incident),
username + password (Basic) or token (OAuth bearer), approve_states and
deny_states (state values; defaults for incident: 6 Resolved = approve,
8 Canceled = deny), assignment_group (optional).
"""
from typing import Any, Dict, Iterable, Iterator, Set, Tuple

from ..errors import ConfigError, IdgateError
from ..http import HttpError
from . import _render
from ._http import authorization, client
from .base import TicketEvent, TicketRef, TicketSystem

URGENCY = {"critical": "1", "high": "1", "medium": "2", "low": "3", "informational": "3"}


class ServiceNowTickets(TicketSystem):
    name = "servicenow"

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        self.config = config
        self.url = str(config.get("url") or "").rstrip("/")
        self.table = config.get("table", "sn_si_incident")
        if self.table not in ("sn_si_incident", "incident"):
            raise ConfigError("tickets.servicenow.table must be sn_si_incident or incident")
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        headers["Authorization"] = authorization(config, secrets, "servicenow", "username", "password")
        self.http = client("servicenow", self.url, config, headers)
        self.approve = {str(s) for s in config.get("approve_states") or ["6"]}
        self.deny = {str(s) for s in config.get("deny_states") or ["8"]}
        self._reported: Set[Tuple[str, str]] = set()

    def _path(self, sys_id: str = "") -> str:
        return "/api/now/table/%s%s" % (self.table, "/" + sys_id if sys_id else "")

    def _records(self, query: str, limit: int) -> list:
        try:
            answer = self.http.get(self._path(), params={
                "sysparm_query": query, "sysparm_limit": str(limit), "sysparm_exclude_reference_link": "true",
                "sysparm_fields": "sys_id,number,state,correlation_id,sys_updated_by"}).json()
        except (HttpError, ValueError) as exc:
            raise IdgateError("servicenow: query failed: %s" % exc) from None
        return list(answer.get("result") or [])

    def _ref(self, record: Dict[str, Any]) -> TicketRef:
        return TicketRef(system="servicenow", key=record["sys_id"],
                         url="%s/nav_to.do?uri=%s.do?sys_id=%s" % (self.url, self.table, record["sys_id"]))

    def open(self, request: Dict[str, Any]) -> TicketRef:
        correlation = _render.correlation_key(request["request_id"])
        found = self._records("correlation_id=%s" % correlation, 1)
        if found:
            return self._ref(found[0])
        severity = ((request.get("alert") or {}).get("severity")) or "medium"
        record = {"short_description": _render.summary(request), "description": _render.plain_text(request),
                  "correlation_id": correlation, "correlation_display": "idgate",
                  "urgency": URGENCY.get(severity, "2"), "impact": URGENCY.get(severity, "2")}
        if self.config.get("assignment_group"):
            record["assignment_group"] = self.config["assignment_group"]
        try:
            created = self.http.post(self._path(), json=record).json()["result"]
        except (HttpError, ValueError, KeyError) as exc:
            raise IdgateError("servicenow: cannot create the review record: %s" % exc) from None
        return self._ref(created)

    def poll(self, refs: Iterable[TicketRef]) -> Iterator[TicketEvent]:
        ids = [r.key for r in refs if r.system == "servicenow"]
        for start in range(0, len(ids), 50):
            chunk = [i for i in ids[start:start + 50] if i.isalnum()]
            if not chunk:
                continue
            for record in self._records("sys_idIN" + ",".join(chunk), len(chunk)):
                state = str(record.get("state"))
                verdict = "approve" if state in self.approve else "deny" if state in self.deny else None
                correlation = str(record.get("correlation_id") or "")
                if verdict is None or not correlation.startswith("idgate-") or correlation.startswith("idgate-h"):
                    continue
                if (record["sys_id"], verdict) in self._reported:
                    continue
                self._reported.add((record["sys_id"], verdict))
                yield TicketEvent(request_id=correlation[len("idgate-"):], verdict=verdict,
                                  actor=str(record.get("sys_updated_by") or "unknown"),
                                  comment="servicenow %s state %s" % (record.get("number"), state))

    def close(self, ref: TicketRef, outcome: str) -> None:
        body: Dict[str, Any] = {"work_notes": _render.outcome_text(outcome)}
        try:
            self.http.patch(self._path(ref.key), json=body, idempotent=True)
        except HttpError as exc:
            raise IdgateError("servicenow: cannot close %s: %s" % (ref.key, exc)) from None


def ticket_system(config: Dict[str, Any], secrets: Any = None) -> TicketSystem:
    return ServiceNowTickets(config, secrets)

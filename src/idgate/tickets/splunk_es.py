"""Splunk Enterprise Security: the notable event itself carries the review
request, as a comment (with the correlation marker ``[idgate-<id>]``) and a
review status. The comment is looked up in ``incident_review_lookup`` before
one is added, so a request is posted once. An analyst setting the approve or
deny status on the notable is picked up by ``poll``.

Config: url (the management port, https://es.example:8089), token (a Splunk
authentication token), review_status (3 = Pending), approve_statuses and
deny_statuses (status ids; ES admins usually add "idgate approved"/"idgate
denied" statuses and name their ids here).
"""
import json
import re
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from ..errors import ConfigError, IdgateError
from ..http import HttpError
from . import _render
from ._http import client, secret
from .base import TicketEvent, TicketRef, TicketSystem

_EVENT_ID = re.compile(r"[A-Za-z0-9@._:-]{1,200}")


def _spl(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


class SplunkEsTickets(TicketSystem):
    name = "splunk_es"

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        self.config = config
        self.url = str(config.get("url") or "").rstrip("/")
        token = secret(config, "token", secrets, "splunk_es")
        if not token:
            raise ConfigError("tickets.splunk_es.token is required (a Splunk authentication token)")
        self.http = client("splunk_es", self.url, config,
                           {"Authorization": "Bearer " + token, "Accept": "application/json"})
        self.review_status = str(config.get("review_status", "3"))
        self.approve = {str(s) for s in config.get("approve_statuses") or ["4"]}
        self.deny = {str(s) for s in config.get("deny_statuses") or ["5"]}
        self._reported: Set[Tuple[str, str]] = set()

    def _event_id(self, request: Dict[str, Any]) -> str:
        alert = request.get("alert") or {}
        event_id = (alert.get("source") or {}).get("record_id") or ""
        if not event_id and str(alert.get("id", "")).startswith("splunk_es:"):
            event_id = str(alert["id"])[len("splunk_es:"):]
        if not _EVENT_ID.fullmatch(event_id or ""):
            raise IdgateError("splunk_es tickets need an alert from Splunk ES (a notable event id)")
        return event_id

    def _search(self, spl: str) -> List[Dict[str, Any]]:
        try:
            response = self.http.post("/services/search/jobs/export", idempotent=True,
                                      data={"search": spl, "output_mode": "json", "earliest_time": "0"})
        except HttpError as exc:
            raise IdgateError("splunk_es: search failed: %s" % exc) from None
        rows = []
        for line in response.text.splitlines():
            line = line.strip()
            if line:
                try:
                    result = json.loads(line).get("result")
                except ValueError:
                    continue
                if result:
                    rows.append(result)
        return rows

    def _history(self, event_id: str, marker: Optional[str] = None) -> List[Dict[str, Any]]:
        spl = '| inputlookup incident_review_lookup where rule_id="%s"' % _spl(event_id)
        if marker:
            spl += ' | search comment="*%s*"' % _spl(marker)
        spl += " | sort - time | head 1 | fields rule_id status owner user comment time"
        return self._search(spl)

    def _update(self, event_id: str, comment: str, status: Optional[str] = None) -> None:
        form = {"ruleUIDs": event_id, "comment": comment, "output_mode": "json"}
        if status:
            form["status"] = status
        try:
            answer = self.http.post("/services/notable_update", data=form).json()
        except (HttpError, ValueError) as exc:
            raise IdgateError("splunk_es: cannot update notable %s: %s" % (event_id, exc)) from None
        if not answer.get("success", False) or answer.get("failure_count"):
            raise IdgateError("splunk_es: notable %s was not updated: %s" % (
                event_id, _render.untrusted(answer.get("message"))[:200]))

    def open(self, request: Dict[str, Any]) -> TicketRef:
        event_id = self._event_id(request)
        marker = "[%s]" % _render.correlation_key(request["request_id"])
        key = "%s#%s" % (event_id, request["request_id"])
        if not self._history(event_id, marker):
            comment = "%s idgate review request\n%s" % (marker, _render.plain_text(request))
            self._update(event_id, comment, self.review_status)
        return TicketRef(system="splunk_es", key=key)

    def poll(self, refs: Iterable[TicketRef]) -> Iterator[TicketEvent]:
        for ref in refs:
            if ref.system != "splunk_es" or "#" not in ref.key:
                continue
            event_id, request_id = ref.key.split("#", 1)
            for row in self._history(event_id):
                status = str(row.get("status"))
                verdict = "approve" if status in self.approve else "deny" if status in self.deny else None
                if verdict is None or (ref.key, verdict) in self._reported:
                    continue
                self._reported.add((ref.key, verdict))
                yield TicketEvent(request_id=request_id, verdict=verdict,
                                  actor=str(row.get("user") or row.get("owner") or "unknown"),
                                  comment="splunk_es notable status %s" % status)

    def close(self, ref: TicketRef, outcome: str) -> None:
        event_id = ref.key.split("#", 1)[0]
        self._update(event_id, _render.outcome_text(outcome))


def ticket_system(config: Dict[str, Any], secrets: Any = None) -> TicketSystem:
    return SplunkEsTickets(config, secrets)

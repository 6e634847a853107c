"""Jira Cloud (REST v3): one issue per review request, found again by its
correlation label (JQL search before create); the description is ADF; a
transition to an approve/deny status is picked up by ``poll``.

Config: url, project, issue_type (Task), email + api_token (Basic) or token
(Bearer), approve_statuses ([Approved]), deny_statuses ([Denied, Rejected]),
close_transition (optional transition name for ``close``).
"""
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from ..errors import ConfigError, IdgateError
from ..http import HttpError
from . import _render
from ._http import authorization, client
from .base import TicketEvent, TicketRef, TicketSystem

LABEL = "idgate"


def adf(request: Dict[str, Any]) -> Dict[str, Any]:
    """The ticket body as an Atlassian Document; text nodes are never parsed
    as markup, and the AI rationale sits in a quote under a warning."""
    content: List[Dict[str, Any]] = []
    for heading, kind, text in _render.sections(request):
        content.append({"type": "heading", "attrs": {"level": 3},
                        "content": [{"type": "text", "text": heading}]})
        node = {"type": "text", "text": text or " "}
        if kind == "code":
            content.append({"type": "codeBlock", "attrs": {"language": "text"}, "content": [node]})
        elif kind == "untrusted":
            content.append({"type": "blockquote", "content": [{"type": "paragraph", "content": [node]}]})
        else:
            content.append({"type": "paragraph", "content": [node]})
    return {"type": "doc", "version": 1, "content": content}


def _paragraph(text: str) -> Dict[str, Any]:
    return {"type": "doc", "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


class JiraTickets(TicketSystem):
    name = "jira"

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        self.config = config
        self.url = str(config.get("url") or "").rstrip("/")
        self.project = config.get("project")
        if not self.project:
            raise ConfigError("tickets.jira.project is required")
        headers = {"Accept": "application/json"}
        headers["Authorization"] = authorization(config, secrets, "jira", "email", "api_token")
        self.http = client("jira", self.url, config, headers)
        self.approve = set(config.get("approve_statuses") or ["Approved"])
        self.deny = set(config.get("deny_statuses") or ["Denied", "Rejected"])
        self._request_ids: Dict[str, str] = {}
        self._reported: Set[Tuple[str, str]] = set()

    def _search(self, jql: str, fields: List[str], expand: Optional[str] = None,
                limit: int = 50) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": limit}
        if expand:
            body["expand"] = expand
        try:
            # a search changes nothing: safe to repeat
            answer = self.http.post("/rest/api/3/search/jql", json=body, idempotent=True).json()
        except (HttpError, ValueError) as exc:
            raise IdgateError("jira: search failed: %s" % exc) from None
        return list(answer.get("issues") or [])

    def _ref(self, key: str) -> TicketRef:
        return TicketRef(system="jira", key=key, url="%s/browse/%s" % (self.url, key))

    def open(self, request: Dict[str, Any]) -> TicketRef:
        label = _render.correlation_key(request["request_id"])
        found = self._search('project = "%s" AND labels = "%s"' % (_jql(self.project), label), ["status"], limit=1)
        if found:
            key = found[0]["key"]
        else:
            fields = {"project": {"key": self.project},
                      "issuetype": {"name": self.config.get("issue_type", "Task")},
                      "summary": _render.summary(request),
                      "description": adf(request),
                      "labels": [LABEL, label] + list(self.config.get("labels") or [])}
            try:
                # creating is not repeatable: a failure surfaces, and the next
                # open() finds the issue by its label if it was created after all
                key = self.http.post("/rest/api/3/issue", json={"fields": fields}).json()["key"]
            except (HttpError, ValueError, KeyError) as exc:
                raise IdgateError("jira: cannot create the review issue: %s" % exc) from None
        self._request_ids[key] = request["request_id"]
        return self._ref(key)

    def poll(self, refs: Iterable[TicketRef]) -> Iterator[TicketEvent]:
        keys = [r.key for r in refs if r.system == "jira"]
        for start in range(0, len(keys), 50):
            chunk = keys[start:start + 50]
            jql = "key in (%s)" % ", ".join('"%s"' % _jql(k) for k in chunk)
            for issue in self._search(jql, ["status", "labels"], expand="changelog"):
                status = ((issue.get("fields") or {}).get("status") or {}).get("name")
                verdict = "approve" if status in self.approve else "deny" if status in self.deny else None
                if verdict is None or (issue["key"], verdict) in self._reported:
                    continue
                request_id = self._request_ids.get(issue["key"]) or _request_id_from_labels(
                    (issue.get("fields") or {}).get("labels") or [])
                if not request_id:
                    continue
                self._reported.add((issue["key"], verdict))
                yield TicketEvent(request_id=request_id, verdict=verdict, actor=_actor(issue, status),
                                  comment="jira %s moved to %s" % (issue["key"], status))

    def close(self, ref: TicketRef, outcome: str) -> None:
        try:
            self.http.post("/rest/api/3/issue/%s/comment" % ref.key,
                           json={"body": _paragraph(_render.outcome_text(outcome))})
            wanted = self.config.get("close_transition")
            if wanted:
                transitions = self.http.get("/rest/api/3/issue/%s/transitions" % ref.key).json()
                match = next((t for t in transitions.get("transitions", []) if t.get("name") == wanted), None)
                if match:
                    self.http.post("/rest/api/3/issue/%s/transitions" % ref.key,
                                   json={"transition": {"id": match["id"]}})
        except (HttpError, ValueError) as exc:
            raise IdgateError("jira: cannot close %s: %s" % (ref.key, exc)) from None


def _jql(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


def _request_id_from_labels(labels: List[str]) -> Optional[str]:
    for label in labels:
        if label.startswith("idgate-") and not label.startswith("idgate-h"):
            return label[len("idgate-"):]
    return None


def _actor(issue: Dict[str, Any], status: Optional[str]) -> str:
    """Who moved the issue to its current status (latest such change)."""
    histories = ((issue.get("changelog") or {}).get("histories")) or []
    for history in sorted(histories, key=lambda h: h.get("created", ""), reverse=True):
        for item in history.get("items") or []:
            if item.get("field") == "status" and item.get("toString") == status:
                author = history.get("author") or {}
                return author.get("emailAddress") or author.get("accountId") or author.get("displayName") or "unknown"
    return "unknown"


def ticket_system(config: Dict[str, Any], secrets: Any = None) -> TicketSystem:
    return JiraTickets(config, secrets)

"""idgate's HTTP API as seen from a SOAR: a small requests client and the
logic of every action of the Splunk SOAR app, with no SOAR SDK in it (so it
is tested on its own, and the XSOAR integration follows the same calls).

The app never imports idgate: it talks to ``idgate serve`` over HTTP.
"""
import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

ACTIONS = ["revoke_sessions", "revoke_oauth_grant", "revoke_token", "disable_access_key",
           "disable_service_account", "suspend_user", "disable_app", "remove_credential", "rotate_secret",
           "notify_owner"]
IDENTITY_KINDS = ["human", "service_account", "workload", "api_key", "oauth_app", "ai_agent", "bot"]
SEVERITIES = ["informational", "low", "medium", "high", "critical"]


class IdgateApiError(Exception):
    """idgate answered with an error: status, code and the field it names."""

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None):
        self.status, self.code, self.message, self.field = status, code, message, field
        super().__init__("idgate %d %s: %s" % (status, code, message))


class IdgateClient:
    def __init__(self, base_url: str, token: str, verify: bool = True, timeout: float = 30.0):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers["Authorization"] = "Bearer " + token
        # POSTs are retried too: each carries an Idempotency-Key, so a retry has no second effect
        retry = Retry(total=3, backoff_factor=0.5, status_forcelist=(502, 503, 504), allowed_methods=None,
                      raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None,
              params: Optional[Dict[str, Any]] = None, key: Optional[str] = None) -> Dict[str, Any]:
        headers = {}
        if method == "POST":
            # a retry of the same call (same action, same inputs) is the same call;
            # an alert is the same alert by its id, whatever its detected_at says
            same = {"alert_id": body.get("id")} if path in ("/v1/evaluate", "/v1/alerts") and body else body
            headers["Idempotency-Key"] = key or idempotency_key(path, same)
        response = self.session.request(method, self.base_url + path, json=body if method == "POST" else None,
                                        params={k: v for k, v in (params or {}).items() if v is not None},
                                        headers=headers, timeout=self.timeout)
        try:
            data = response.json()
        except ValueError:
            raise IdgateApiError(response.status_code, "not_json",
                                 "idgate answered with something that is not JSON") from None
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            error = error if isinstance(error, dict) else {}
            raise IdgateApiError(response.status_code, str(error.get("code", "error")),
                                 str(error.get("message", response.reason)), error.get("field"))
        return data

    def whoami(self) -> Dict[str, Any]:
        return self._call("GET", "/v1/whoami")

    def evaluate(self, alert: Dict[str, Any], key: Optional[str] = None) -> Dict[str, Any]:
        return self._call("POST", "/v1/evaluate", alert, key=key)

    def submit(self, alert: Dict[str, Any], key: Optional[str] = None) -> Dict[str, Any]:
        return self._call("POST", "/v1/alerts", alert, key=key)

    def request(self, request_id: str) -> Dict[str, Any]:
        return self._call("GET", "/v1/requests/%s" % request_id)

    def requests(self, status: str = "open", limit: int = 100) -> List[Dict[str, Any]]:
        return self._call("GET", "/v1/requests", params={"status": status, "limit": limit})["requests"]

    def approve(self, request_id: str, digest: str, comment: str = "", key: Optional[str] = None) -> Dict[str, Any]:
        return self._call("POST", "/v1/requests/%s/approve" % request_id, {"digest": digest, "comment": comment},
                          key=key)

    def deny(self, request_id: str, comment: str = "", key: Optional[str] = None) -> Dict[str, Any]:
        return self._call("POST", "/v1/requests/%s/deny" % request_id, {"comment": comment}, key=key)

    def execute_approved(self, request_id: str, key: Optional[str] = None) -> Dict[str, Any]:
        return self._call("POST", "/v1/requests/%s/execute" % request_id, {}, key=key)

    def execution(self, execution_id: str) -> Dict[str, Any]:
        return self._call("GET", "/v1/executions/%s" % execution_id)

    def rollback(self, execution_id: str, reason: str = "", key: Optional[str] = None) -> Dict[str, Any]:
        return self._call("POST", "/v1/executions/%s/rollback" % execution_id, {"reason": reason}, key=key)

    def confirm(self, execution_id: str, comment: str = "", key: Optional[str] = None) -> Dict[str, Any]:
        return self._call("POST", "/v1/executions/%s/confirm" % execution_id, {"comment": comment}, key=key)

    def outcome(self, execution_id: str, status: str, detail: str = "", key: Optional[str] = None) -> Dict[str, Any]:
        return self._call("POST", "/v1/executions/%s/outcome" % execution_id, {"status": status, "detail": detail},
                          key=key)

    def audit(self, alert_id: Optional[str] = None, identity: Optional[str] = None, since: Optional[str] = None,
              limit: int = 500) -> Dict[str, Any]:
        return self._call("GET", "/v1/audit", params={"alert_id": alert_id, "identity": identity,
                                                       "since": since, "limit": limit})

    def audit_verify(self) -> Dict[str, Any]:
        return self._call("GET", "/v1/audit/verify")


def idempotency_key(path: str, body: Optional[Dict[str, Any]]) -> str:
    text = json.dumps([path, body], sort_keys=True, separators=(",", ":"), default=str)
    return "soar-" + hashlib.sha256(text.encode()).hexdigest()[:40]


# -- building the canonical alert from action parameters --------------------------------
def build_alert(alert_json: Optional[str] = None, *, identity_id: Optional[str] = None,
                identity_kind: Optional[str] = None, identity_name: Optional[str] = None,
                provider: Optional[str] = None, action: Optional[str] = None, confidence: Optional[float] = None,
                severity: Optional[str] = None, platform: str = "splunk_soar", ai_model: Optional[str] = None,
                alert_id: Optional[str] = None, detected_at: Optional[str] = None,
                params_json: Optional[str] = None) -> Dict[str, Any]:
    """The canonical alert idgate decides on: either given whole as JSON (an
    AI-scored alert from the SIEM), or built from one recommendation's fields."""
    if alert_json:
        try:
            alert = json.loads(alert_json)
        except ValueError as exc:
            raise ValueError("alert_json is not valid JSON: %s" % exc) from None
        if not isinstance(alert, dict):
            raise ValueError("alert_json must be a JSON object (a canonical alert)")
        return alert
    # alert_id is required: a retried action must name the same alert, and
    # idgate decides an alert once (use the SOAR container or artifact id)
    missing = [n for n, v in (("alert_id", alert_id), ("identity_id", identity_id),
                              ("identity_kind", identity_kind), ("action", action)) if not v]
    if missing:
        raise ValueError("without alert_json, %s %s needed" % (", ".join(missing),
                                                                  "is" if len(missing) == 1 else "are"))
    params: Dict[str, Any] = {}
    if params_json:
        try:
            params = json.loads(params_json)
        except ValueError as exc:
            raise ValueError("params_json is not valid JSON: %s" % exc) from None
    # the alert's own time is what budgets count over; "now" only when the SOAR has none
    when = detected_at or datetime.now(timezone.utc).isoformat()
    identity = {"kind": identity_kind, "id": identity_id, "name": identity_name, "provider": provider}
    return {
        "id": alert_id,
        "source": {"platform": platform},
        "detected_at": when,
        "severity": severity,
        "identity": {k: v for k, v in identity.items() if v is not None},
        "ai": {"model": ai_model, "score": confidence},
        "recommendations": [{"action": action, "params": params, "confidence": confidence}],
    }


# -- the actions' logic: each returns the rows the SOAR action outputs --------------------
def decision_rows(response: Dict[str, Any]) -> List[Dict[str, Any]]:
    rows = []
    for d in response.get("decisions") or []:
        rows.append({
            "alert_id": response.get("alert_id"), "duplicate": bool(response.get("duplicate")),
            "decision_id": d.get("decision_id"), "recommendation_index": d.get("recommendation_index"),
            "action": d.get("action"), "target_id": (d.get("target") or {}).get("id"),
            "target_name": (d.get("target") or {}).get("name"), "autonomy": d.get("autonomy"),
            "rule_id": d.get("rule_id"), "policy_version": d.get("policy_version"),
            "caps": "; ".join("%s: %s" % (c.get("invariant"), c.get("reason")) for c in d.get("caps") or []),
            "request_id": d.get("request_id"), "execution_id": d.get("execution_id"),
            "execution_status": d.get("execution_status"), "next_step": next_step(d),
        })
    return rows


def next_step(decision: Dict[str, Any]) -> str:
    """What the playbook does next, so a playbook branches on one field."""
    autonomy, status = decision.get("autonomy"), decision.get("execution_status")
    if autonomy == "auto" and status == "delegated":
        return "execute_and_report"      # run your own Okta/Entra action, then record outcome
    if autonomy == "auto":
        return "executed_by_idgate"
    if autonomy == "review":
        return "await_approval"          # prompt an analyst, then approve/deny in idgate
    if autonomy == "advisory":
        return "annotate_only"
    return "stop"


def request_row(request: Dict[str, Any]) -> Dict[str, Any]:
    executions = request.get("executions") or []
    return {
        "request_id": request.get("request_id"), "status": request.get("status"),
        "action": request.get("action"), "target_id": (request.get("target") or {}).get("id"),
        "will_run": request.get("will_run"), "digest": request.get("digest"),
        "approvals_required": request.get("approvals_required"),
        "approver_roles": ", ".join(request.get("approver_roles") or []),
        "approvals": len([a for a in request.get("approvals") or [] if a.get("verdict") == "approve"]),
        "expires_at": request.get("expires_at"), "rule_id": request.get("rule_id"),
        "execution_id": executions[0].get("execution_id") if executions else None,
        "execution_status": executions[0].get("status") if executions else None,
    }


def execution_row(execution: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "execution_id": execution.get("execution_id"), "kind": execution.get("kind"),
        "action": execution.get("action"), "target_id": (execution.get("target") or {}).get("id"),
        "provider": execution.get("provider"), "status": execution.get("status"),
        "detail": execution.get("detail") or execution.get("error"),
        "provisional_until": execution.get("provisional_until"),
        "rollback_of": execution.get("rollback_of"),
    }


def audit_rows(page: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{"seq": r.get("seq"), "at": r.get("at"), "kind": r.get("kind"), "actor": r.get("actor"),
             "alert_id": r.get("alert_id"), "request_id": r.get("request_id"),
             "execution_id": r.get("execution_id"), "hash": r.get("hash")} for r in page.get("records") or []]

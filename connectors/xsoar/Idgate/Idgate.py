"""idgate for Cortex XSOAR: ask idgate before acting on an identity, hand a
remediation to idgate, approve in idgate, report what the playbook did.

XSOAR runs one file per integration, so this file carries its own small
HTTP client (the same calls as the Splunk SOAR app's idgate_client).
"""
import hashlib
import json
from typing import Any, Dict, List, Optional

import demistomock as demisto  # noqa: F401
import requests
from CommonServerPython import *  # noqa: F401,F403

PREFIX = "Idgate"


class IdgateError(Exception):
    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None):
        self.status, self.code, self.field = status, code, field
        super().__init__("idgate %d %s: %s" % (status, code, message))


class Client:
    def __init__(self, base_url: str, token: str, verify: bool, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.verify, self.timeout = verify, timeout
        self.headers = {"Authorization": "Bearer " + token}

    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None,
             params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        headers = dict(self.headers)
        if method == "POST":
            # a re-run of the same command with the same arguments is the same call
            same = {"alert_id": body.get("id")} if path in ("/v1/evaluate", "/v1/alerts") and body else body
            text = json.dumps([path, same], sort_keys=True, separators=(",", ":"))
            headers["Idempotency-Key"] = "xsoar-" + hashlib.sha256(text.encode()).hexdigest()[:40]
        response = requests.request(method, self.base_url + path, headers=headers, json=body,
                                    params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                                    verify=self.verify, timeout=self.timeout)
        try:
            data = response.json()
        except ValueError:
            raise IdgateError(response.status_code, "not_json", "idgate answered with something that is not JSON")
        if response.status_code >= 400:
            error = (data or {}).get("error") or {} if isinstance(data, dict) else {}
            raise IdgateError(response.status_code, str(error.get("code", "error")),
                              str(error.get("message", response.reason)), error.get("field"))
        return data


def _float(value: Any, name: str) -> Optional[float]:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be a number between 0 and 1, not %r" % (name, value))


def build_alert(args: Dict[str, Any]) -> Dict[str, Any]:
    if args.get("alert_json"):
        alert = args["alert_json"]
        if isinstance(alert, str):
            try:
                alert = json.loads(alert)
            except ValueError as exc:
                raise ValueError("alert_json is not valid JSON: %s" % exc)
        if not isinstance(alert, dict):
            raise ValueError("alert_json must be a JSON object (a canonical alert)")
        return alert
    missing = [n for n in ("alert_id", "identity_id", "identity_kind", "action") if not args.get(n)]
    if missing:
        raise ValueError("without alert_json, %s needed" % ", ".join(missing))
    confidence = _float(args.get("confidence"), "confidence")
    identity = {"kind": args["identity_kind"], "id": args["identity_id"], "name": args.get("identity_name"),
                "provider": args.get("provider")}
    return {
        "id": args["alert_id"],
        "source": {"platform": args.get("platform") or "xsoar"},
        "detected_at": args.get("detected_at") or datetime_now_iso(),
        "severity": args.get("severity") or None,
        "identity": {k: v for k, v in identity.items() if v},
        "ai": {"model": args.get("ai_model") or None, "score": confidence},
        "recommendations": [{"action": args["action"], "params": json.loads(args.get("params_json") or "{}"),
                             "confidence": confidence}],
    }


def datetime_now_iso() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat()


def next_step(d: Dict[str, Any]) -> str:
    if d.get("autonomy") == "auto":
        return "execute_and_report" if d.get("execution_status") == "delegated" else "executed_by_idgate"
    return {"review": "await_approval", "advisory": "annotate_only"}.get(d.get("autonomy"), "stop")


def decisions_result(response: Dict[str, Any]) -> Any:
    rows = []
    for d in response.get("decisions") or []:
        rows.append({"AlertID": response.get("alert_id"), "Duplicate": response.get("duplicate"),
                     "DecisionID": d.get("decision_id"), "Action": d.get("action"),
                     "TargetID": (d.get("target") or {}).get("id"), "Autonomy": d.get("autonomy"),
                     "RuleID": d.get("rule_id"), "PolicyVersion": d.get("policy_version"),
                     "Caps": [c.get("invariant") for c in d.get("caps") or []],
                     "RequestID": d.get("request_id"), "ExecutionID": d.get("execution_id"),
                     "ExecutionStatus": d.get("execution_status"), "NextStep": next_step(d)})
    return CommandResults(outputs_prefix=PREFIX + ".Decision", outputs_key_field="DecisionID", outputs=rows,
                          readable_output=_table("idgate decisions", rows), raw_response=response)


def request_result(r: Dict[str, Any]) -> Any:
    executions = r.get("executions") or []
    row = {"RequestID": r.get("request_id"), "Status": r.get("status"), "Action": r.get("action"),
           "TargetID": (r.get("target") or {}).get("id"), "WillRun": r.get("will_run"), "Digest": r.get("digest"),
           "ApprovalsRequired": r.get("approvals_required"), "ApproverRoles": r.get("approver_roles"),
           "Approvals": len([a for a in r.get("approvals") or [] if a.get("verdict") == "approve"]),
           "ExpiresAt": r.get("expires_at"),
           "ExecutionID": executions[0].get("execution_id") if executions else None,
           "ExecutionStatus": executions[0].get("status") if executions else None}
    return CommandResults(outputs_prefix=PREFIX + ".Request", outputs_key_field="RequestID", outputs=row,
                          readable_output=_table("idgate review request", [row]), raw_response=r)


def execution_row(e: Dict[str, Any]) -> Dict[str, Any]:
    return {"ExecutionID": e.get("execution_id"), "Kind": e.get("kind"), "Action": e.get("action"),
            "TargetID": (e.get("target") or {}).get("id"), "Provider": e.get("provider"), "Status": e.get("status"),
            "Detail": e.get("detail") or e.get("error"), "ProvisionalUntil": e.get("provisional_until"),
            "RollbackOf": e.get("rollback_of")}


def executions_result(executions: List[Dict[str, Any]], raw: Any) -> Any:
    rows = [execution_row(e) for e in executions]
    return CommandResults(outputs_prefix=PREFIX + ".Execution", outputs_key_field="ExecutionID", outputs=rows,
                          readable_output=_table("idgate executions", rows), raw_response=raw)


def _table(title: str, rows: List[Dict[str, Any]]) -> str:
    if not rows:
        return "### %s\nnone" % title
    keys = list(rows[0])
    lines = ["### " + title, "|" + "|".join(keys) + "|", "|" + "|".join("---" for _ in keys) + "|"]
    for row in rows:
        lines.append("|" + "|".join("" if row.get(k) is None else str(row.get(k)) for k in keys) + "|")
    return "\n".join(lines)


def run_command(client: Client, command: str, args: Dict[str, Any]) -> Any:
    if command == "test-module":
        client.call("GET", "/v1/whoami")
        return "ok"
    if command == "idgate-evaluate":
        return decisions_result(client.call("POST", "/v1/evaluate", build_alert(args)))
    if command == "idgate-submit-alert":
        return decisions_result(client.call("POST", "/v1/alerts", build_alert(args)))
    if command == "idgate-get-request":
        return request_result(client.call("GET", "/v1/requests/%s" % args["request_id"]))
    if command == "idgate-approve":
        return request_result(client.call("POST", "/v1/requests/%s/approve" % args["request_id"],
                                          {"digest": args["digest"], "comment": args.get("comment", "")}))
    if command == "idgate-deny":
        return request_result(client.call("POST", "/v1/requests/%s/deny" % args["request_id"],
                                          {"comment": args.get("comment", "")}))
    if command == "idgate-execute-approved":
        response = client.call("POST", "/v1/requests/%s/execute" % args["request_id"], {})
        return executions_result(response["executions"], response)
    if command == "idgate-rollback":
        e = client.call("POST", "/v1/executions/%s/rollback" % args["execution_id"], {"reason": args.get("reason", "")})
        return executions_result([e], e)
    if command == "idgate-confirm":
        e = client.call("POST", "/v1/executions/%s/confirm" % args["execution_id"], {})
        return executions_result([e], e)
    if command == "idgate-record-outcome":
        e = client.call("POST", "/v1/executions/%s/outcome" % args["execution_id"],
                        {"status": args["status"], "detail": args.get("detail", "")})
        return executions_result([e], e)
    if command == "idgate-get-audit-trail":
        check = client.call("GET", "/v1/audit/verify")
        page = client.call("GET", "/v1/audit", params={"alert_id": args.get("alert_id"),
                                                      "identity": args.get("identity"),
                                                      "limit": args.get("limit") or 500})
        rows = [{"Seq": r.get("seq"), "At": r.get("at"), "Kind": r.get("kind"), "Actor": r.get("actor"),
                 "AlertID": r.get("alert_id"), "RequestID": r.get("request_id"),
                 "ExecutionID": r.get("execution_id"), "Hash": r.get("hash")} for r in page["records"]]
        return CommandResults(outputs_prefix=PREFIX + ".Audit",
                              outputs={"Verified": check["ok"], "Problems": check["problems"], "Records": rows},
                              readable_output="chain %s\n\n%s" % ("verified" if check["ok"] else "BROKEN: " +
                                                                  "; ".join(check["problems"][:3]),
                                                                  _table("idgate audit", rows)),
                              raw_response=page)
    raise NotImplementedError("command %s is not implemented" % command)


def main() -> None:
    params = demisto.params()
    token = (params.get("credentials") or {}).get("password") or params.get("api_token") or ""
    client = Client(params.get("url") or "http://127.0.0.1:8742", token,
                    verify=not params.get("insecure", False), timeout=float(params.get("timeout") or 30))
    command = demisto.command()
    try:
        return_results(run_command(client, command, demisto.args()))
    except (IdgateError, ValueError, KeyError, requests.RequestException) as exc:
        # idgate's message names the field; the token is never part of it
        return_error("%s failed: %s" % (command, exc))


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()

"""The app's actions called directly, idgate's HTTP API mocked with
``responses``. Run in the app's own environment (splunk-soar-sdk):
    .venv-soar/bin/python -m pytest connectors/splunk_soar/tests -q
"""
import json
from typing import Any, Dict

import pytest
import responses

pytest.importorskip("soar_sdk")

from soar_sdk.exceptions import ActionFailure  # noqa: E402

from src import app as soar_app  # noqa: E402

URL = "http://127.0.0.1:8742"
TOKEN = "soar-token-0123456789abcdef0123"
DIGEST = "a" * 64


def asset() -> Any:
    return soar_app.Asset(base_url=URL, api_token=TOKEN, verify_tls=True, timeout=5)


def run(action: Any, params: Any) -> Any:
    # the function the SDK wraps: its return value is what the action outputs
    return action.__wrapped__(params, asset=asset())


def decision(**over: Any) -> Dict[str, Any]:
    d = {"decision_id": "dec-1", "alert_id": "a-1", "recommendation_index": 0, "action": "disable_access_key",
         "target": {"id": "okta:0oa1", "name": "svc-x"}, "autonomy": "auto", "rule_id": "r1",
         "caps": [{"invariant": "budget", "reason": "x"}], "policy_version": "p" * 64, "request_id": None,
         "execution_id": "ex-1", "execution_status": "delegated"}
    d.update(over)
    return d


def request_body(**over: Any) -> Dict[str, Any]:
    r = {"request_id": "rr-1", "status": "open", "action": "revoke_sessions", "target": {"id": "okta:00u1"},
         "will_run": "okta: revoke_sessions on human okta:00u1", "digest": DIGEST, "approvals_required": 1,
         "approver_roles": ["soc-l2"], "approvals": [], "expires_at": "2026-11-29T00:00:00+00:00",
         "rule_id": "humans-need-review", "executions": []}
    r.update(over)
    return r


def execution_body(**over: Any) -> Dict[str, Any]:
    e = {"execution_id": "ex-1", "kind": "action", "action": "disable_access_key", "target": {"id": "okta:0oa1"},
         "provider": "external", "status": "done", "detail": "ok"}
    e.update(over)
    return e


def test_actions_have_the_right_contains_and_read_only_flags() -> None:
    actions = soar_app.app.actions_manager.get_actions()
    assert set(actions) == {"test_connectivity", "evaluate_recommendation", "submit_alert", "request_approval",
                            "approve", "deny", "execute_approved", "rollback", "confirm_action",
                            "record_outcome", "get_audit_trail"}
    read_only = {name for name, a in actions.items() if a.meta.read_only}
    # evaluate records a decision (and may plan work): not read-only
    assert read_only == {"request_approval", "get_audit_trail", "test_connectivity"}
    fields = soar_app.AlertParams.model_fields
    assert "user name" in fields["identity_id"].json_schema_extra["cef_types"]
    assert soar_app.OutcomeParams.model_fields["execution_id"].json_schema_extra["cef_types"] == ["idgate execution id"]


@responses.activate
def test_test_connectivity() -> None:
    responses.get(URL + "/v1/whoami", json={"caller": "soar", "roles": ["evaluator"], "version": "0.1",
                                            "policy_version": "p"})
    soar_app.test_connectivity.__wrapped__(asset())
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + TOKEN
    responses.replace(responses.GET, URL + "/v1/whoami", status=401,
                      json={"error": {"code": "unauthenticated", "message": "Authorization: not valid"}})
    with pytest.raises(ActionFailure, match="401"):
        soar_app.test_connectivity.__wrapped__(asset())


@responses.activate
def test_evaluate_recommendation_builds_the_alert_and_says_what_to_do_next() -> None:
    responses.post(URL + "/v1/evaluate", json={"alert_id": "a-1", "duplicate": False, "decisions": [
        decision(), decision(decision_id="dec-2", recommendation_index=1, autonomy="review",
                             execution_id=None, execution_status=None, request_id="rr-1")]})
    params = soar_app.AlertParams(alert_id="soar:42", identity_id="okta:0oa1", identity_kind="api_key", action="disable_access_key",
                                  confidence=0.95, severity="high", ai_model="es-ai-triage")
    out = run(soar_app.evaluate_recommendation, params)
    assert [o.next_step for o in out] == ["execute_and_report", "await_approval"]
    assert out[0].execution_id == "ex-1" and out[1].request_id == "rr-1" and out[0].caps == "budget: x"
    sent = json.loads(responses.calls[0].request.body)
    assert sent["identity"] == {"id": "okta:0oa1", "kind": "api_key"} and sent["id"] == "soar:42"
    assert sent["recommendations"][0] == {"action": "disable_access_key", "params": {}, "confidence": 0.95}
    key = responses.calls[0].request.headers["Idempotency-Key"]
    run(soar_app.evaluate_recommendation, params)  # a retried action is the same call
    assert responses.calls[1].request.headers["Idempotency-Key"] == key


def test_evaluate_recommendation_refuses_incomplete_input_before_calling() -> None:
    with pytest.raises(ActionFailure, match="identity_kind"):
        run(soar_app.evaluate_recommendation, soar_app.AlertParams(identity_id="x", action="suspend_user",
                                                                    alert_id="soar:1"))
    with pytest.raises(ActionFailure, match="alert_id"):
        run(soar_app.evaluate_recommendation, soar_app.AlertParams(identity_id="x", identity_kind="human",
                                                                    action="suspend_user"))
    with pytest.raises(ActionFailure, match="alert_json"):
        run(soar_app.evaluate_recommendation, soar_app.AlertParams(alert_json="{nope"))


@responses.activate
def test_submit_alert_passes_a_whole_alert_and_reports_idgate_errors() -> None:
    responses.post(URL + "/v1/alerts", status=422, json={"error": {
        "code": "invalid", "message": "identity.kind: 'robot' is not one of human, ...", "field": "identity.kind"}})
    with pytest.raises(ActionFailure, match="identity.kind"):
        run(soar_app.submit_alert, soar_app.AlertParams(alert_json=json.dumps({"id": "a"})))
    assert json.loads(responses.calls[0].request.body) == {"id": "a"}


@responses.activate
def test_request_approve_deny() -> None:
    responses.get(URL + "/v1/requests/rr-1", json=request_body())
    out = run(soar_app.request_approval, soar_app.RequestParams(request_id="rr-1"))
    assert out.digest == DIGEST and out.approver_roles == "soc-l2" and out.status == "open"
    responses.post(URL + "/v1/requests/rr-1/approve", json=request_body(
        status="approved", approvals=[{"verdict": "approve"}],
        executions=[execution_body(provider="okta", status="done")]))
    out = run(soar_app.approve, soar_app.ApproveParams(request_id="rr-1", digest=DIGEST, comment="ok"))
    assert out.status == "approved" and out.approvals == 1 and out.execution_status == "done"
    assert json.loads(responses.calls[1].request.body) == {"digest": DIGEST, "comment": "ok"}
    responses.post(URL + "/v1/requests/rr-2/deny", status=409, json={"error": {
        "code": "refused", "message": "refused: request rr-2 is approved"}})
    with pytest.raises(ActionFailure, match="409"):
        run(soar_app.deny, soar_app.DenyParams(request_id="rr-2"))


@responses.activate
def test_execute_rollback_confirm_outcome() -> None:
    responses.post(URL + "/v1/requests/rr-1/execute", json={"request_id": "rr-1", "executions": [execution_body()]})
    [e] = run(soar_app.execute_approved, soar_app.RequestParams(request_id="rr-1"))
    assert e.status == "done"
    responses.post(URL + "/v1/executions/ex-1/rollback", json=execution_body(
        execution_id="ex-2", kind="rollback", action="enable_access_key", rollback_of="ex-1"))
    e = run(soar_app.rollback, soar_app.RollbackParams(execution_id="ex-1", reason="fp"))
    assert e.kind == "rollback" and e.rollback_of == "ex-1"
    responses.post(URL + "/v1/executions/ex-1/confirm", json=execution_body(provisional_until=None))
    assert run(soar_app.confirm_action, soar_app.ConfirmParams(execution_id="ex-1")).status == "done"
    responses.post(URL + "/v1/executions/ex-1/outcome", json=execution_body(status="failed", detail="okta 500"))
    e = run(soar_app.record_outcome, soar_app.OutcomeParams(execution_id="ex-1", status="failed", detail="okta 500"))
    assert e.status == "failed"
    assert json.loads(responses.calls[-1].request.body) == {"status": "failed", "detail": "okta 500"}


@responses.activate
def test_get_audit_trail_fails_when_the_chain_is_broken() -> None:
    responses.get(URL + "/v1/audit/verify", json={"ok": True, "records": 2, "head": "h", "problems": []})
    responses.get(URL + "/v1/audit", json={"records": [
        {"seq": 1, "at": "t", "kind": "alert.received", "prev": "0", "hash": "h1", "alert_id": "a-1"},
        {"seq": 2, "at": "t", "kind": "decision.made", "prev": "h1", "hash": "h2", "alert_id": "a-1"}],
        "next_after_seq": None})
    out = run(soar_app.get_audit_trail, soar_app.AuditParams(alert_id="a-1"))
    assert [o.seq for o in out] == [1, 2]
    assert "alert_id=a-1" in responses.calls[1].request.url
    responses.replace(responses.GET, URL + "/v1/audit/verify", json={
        "ok": False, "records": 2, "head": "h", "problems": ["record seq 2 was edited"]})
    with pytest.raises(ActionFailure, match="seq 2 was edited"):
        run(soar_app.get_audit_trail, soar_app.AuditParams())


@responses.activate
def test_the_sdk_wrapper_reports_success_and_failure() -> None:
    responses.get(URL + "/v1/requests/rr-1", json=request_body())
    assert soar_app.request_approval(soar_app.RequestParams(request_id="rr-1"), asset=asset()) is True
    responses.get(URL + "/v1/requests/rr-9", status=404, json={"error": {"code": "not_found",
                                                                         "message": "request_id: no review request rr-9"}})
    assert soar_app.request_approval(soar_app.RequestParams(request_id="rr-9"), asset=asset()) is False

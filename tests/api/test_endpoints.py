"""Every endpoint: success, who is refused (401, 403), bad input (4xx naming
the field), and that a retried call with the same Idempotency-Key returns the
first response and has no second effect."""
import json
import sqlite3
from typing import Any, Dict, List, Optional

import pytest

from idgate.api.config import ApiConfig
from idgate.api.handlers import BY_NAME, OPERATIONS

from ._support import CALLERS, alert, auth, review_alert

SAMPLE_PATH = {"request_id": "rr-0000000000000000", "execution_id": "ex-0000000000000000"}


def url(op_name: str, **params: str) -> str:
    path = BY_NAME[op_name].path
    for k, v in dict(SAMPLE_PATH, **params).items():
        path = path.replace("{%s}" % k, v)
    return path


def call(client: Any, op_name: str, caller: Optional[str] = None, body: Any = None,
         key: Optional[str] = None, query: Optional[Dict[str, Any]] = None, **params: str) -> Any:
    op = BY_NAME[op_name]
    headers = dict(auth(caller)) if caller else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    if op.method == "GET":
        return client.get(url(op_name, **params), headers=headers, params=query)
    return client.post(url(op_name, **params), headers=headers, json=body if body is not None else {})


def audit_count(engine: Any) -> int:
    return sum(1 for _ in engine.state.audit_records())


def submit(client: Any, data: Dict[str, Any], op: str = "submit") -> Dict[str, Any]:
    r = call(client, op, "soar-eval", data)
    assert r.status_code == 200, r.text
    return r.json()


def open_request(client: Any) -> Dict[str, Any]:
    d = submit(client, review_alert())["decisions"][0]
    assert d["autonomy"] == "review" and d["request_id"]
    r = call(client, "show_request", "alice", request_id=d["request_id"])
    assert r.status_code == 200
    return r.json()


def done_execution(client: Any) -> Dict[str, Any]:
    """An auto disable_access_key that idgate ran (dry run): provisional for 4h."""
    d = submit(client, alert())["decisions"][0]
    assert d["autonomy"] == "auto" and d["execution_status"] == "done", d
    return d


def assert_error(r: Any, status: int, field: Optional[str] = None, location: Optional[str] = None) -> Dict[str, Any]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    if field is not None:
        assert error["field"] == field, error
        assert field in error["message"] or field == "body", error
    if location is not None:
        assert error["location"] == location
    for value, _, _ in CALLERS.values():
        assert value not in r.text
    return error


# -- authentication and roles --------------------------------------------------------
@pytest.mark.parametrize("op", [o.name for o in OPERATIONS])
def test_every_operation_needs_a_valid_token(client: Any, op: str) -> None:
    r = call(client, op)
    assert_error(r, 401, "Authorization", "header")
    assert r.headers["www-authenticate"].startswith("Bearer")
    o = BY_NAME[op]
    for header in ("Bearer not-a-known-token-000000000", "Basic " + CALLERS["ops"][0], "Bearer",
                   CALLERS["ops"][0]):
        r = client.request(o.method, url(op), headers={"Authorization": header})
        assert_error(r, 401, "Authorization")


ROLE_CASES = [(o.name, caller) for o in OPERATIONS for caller in ("soar-eval", "alice", "ops")
              if not o.roles & set(CALLERS[caller][1])]


def test_the_role_table_refuses_something_for_each_role() -> None:
    refused = {caller for _, caller in ROLE_CASES}
    assert refused == {"soar-eval", "alice", "ops"}
    assert ("approve", "ops") in ROLE_CASES and ("evaluate", "alice") in ROLE_CASES
    assert ("audit", "soar-eval") in ROLE_CASES and ("breaker_reset", "alice") in ROLE_CASES


@pytest.mark.parametrize("op,caller", ROLE_CASES)
def test_roles_are_refused_where_they_must_be(client: Any, engine: Any, op: str, caller: str) -> None:
    before = audit_count(engine)
    # a body that would be valid: the refusal is about the role, not the input
    body = {"evaluate": alert(), "submit": alert(), "approve": {"digest": "0" * 64},
            "outcome": {"status": "done"}}.get(op, {})
    r = call(client, op, caller, body)
    error = assert_error(r, 403)
    assert error["code"] == "forbidden" and caller in error["message"]
    assert audit_count(engine) == before


# -- whoami ---------------------------------------------------------------------------------
def test_whoami(client: Any, engine: Any) -> None:
    r = call(client, "whoami", "soar-prod")
    assert r.status_code == 200
    assert r.json()["caller"] == "soar-prod" and r.json()["roles"] == ["approver", "evaluator"]
    assert r.json()["policy_version"] == engine.policy.version
    assert_error(call(client, "whoami", "ops", query={"x": "1"}), 422, "x", "query")


# -- evaluate (delegated) and outcome -----------------------------------------------------
def test_evaluate_auto_is_delegated_then_the_outcome_is_recorded(client: Any, engine: Any) -> None:
    data = alert()
    body = submit(client, data, op="evaluate")
    assert body["alert_id"] == data["id"] and body["duplicate"] is False
    d = body["decisions"][0]
    assert d["autonomy"] == "auto" and d["rule_id"] == "contain-nhi-high-confidence"
    assert d["execution_status"] == "delegated" and d["request_id"] is None
    # nothing was executed by idgate
    assert engine.execution(d["execution_id"])["provider"] == "external"
    r = call(client, "outcome", "soar-eval", {"status": "done", "detail": "okta: key disabled"},
             execution_id=d["execution_id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done" and r.json()["reported_by"] == "soar-eval"
    kinds = [rec["kind"] for rec in engine.state.audit_records()]
    assert "outcome.reported" in kinds and "execution.started" not in kinds
    # an outcome for something that is no longer waiting for one
    assert_error(call(client, "outcome", "soar-eval", {"status": "failed"}, execution_id=d["execution_id"]), 409)


def test_evaluate_review_then_approval_delegates_the_execution(client: Any, engine: Any) -> None:
    d = submit(client, review_alert(), op="evaluate")["decisions"][0]
    assert d["autonomy"] == "review" and d["request_id"] and d["execution_id"] is None
    request = call(client, "show_request", "alice", request_id=d["request_id"]).json()
    r = call(client, "approve", "alice", {"digest": request["digest"], "comment": "checked"},
             request_id=d["request_id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    [execution] = r.json()["executions"]
    assert execution["status"] == "delegated" and execution["request_id"] == d["request_id"]


def test_evaluate_and_submit_bad_input_names_the_field(client: Any) -> None:
    for op in ("evaluate", "submit"):
        bad_kind = alert()
        bad_kind["identity"]["kind"] = "robot"
        assert_error(call(client, op, "soar-eval", bad_kind), 422, "identity.kind", "body")
        missing = alert()
        del missing["source"]
        assert_error(call(client, op, "soar-eval", missing), 422, "source", "body")
        score = alert(confidence=0.5)
        score["recommendations"][0]["confidence"] = 1.5
        assert_error(call(client, op, "soar-eval", score), 422, "recommendations[0].confidence")
        when = alert()
        when["detected_at"] = "yesterday"
        assert_error(call(client, op, "soar-eval", when), 422, "detected_at")
        headers = dict(auth("soar-eval"), **{"Content-Type": "application/json"})
        path = BY_NAME[op].path
        assert_error(client.post(path, content=b"{not json", headers=headers), 400, "body")
        assert_error(client.post(path, content=b"[1, 2]", headers=headers), 422, "body")
        assert_error(client.post(path, content=b"", headers=headers), 422, "id")
        big = alert()
        big["raw"] = {"blob": "x" * 1_100_000}
        assert_error(client.post(path, content=json.dumps(big).encode(), headers=headers), 413, "body")


# -- submit (full pipeline) -------------------------------------------------------------------
def test_submit_runs_auto_and_is_idempotent_by_alert(client: Any, engine: Any) -> None:
    data = alert(recs=[{"action": "disable_access_key", "confidence": 0.95},
                       {"action": "notify_owner", "confidence": 0.95},
                       {"action": "make_coffee", "confidence": 0.99}])
    first = submit(client, data)
    autonomy = [d["autonomy"] for d in first["decisions"]]
    assert autonomy == ["auto", "auto", "blocked"]
    assert [d["execution_status"] for d in first["decisions"]] == ["done", "done", None]
    again = submit(client, data)
    assert again["duplicate"] is True
    assert [d["decision_id"] for d in again["decisions"]] == [d["decision_id"] for d in first["decisions"]]
    assert [d["execution_id"] for d in again["decisions"]] == [d["execution_id"] for d in first["decisions"]]
    assert len(engine.state.executions()) == 2


# -- review requests ---------------------------------------------------------------------------
def test_list_and_show_requests(client: Any) -> None:
    request = open_request(client)
    for caller in ("soar-eval", "alice", "ops"):
        r = call(client, "list_requests", caller)
        assert r.status_code == 200
        assert [x["request_id"] for x in r.json()["requests"]] == [request["request_id"]]
    assert call(client, "list_requests", "alice", query={"status": "approved"}).json()["requests"] == []
    assert len(call(client, "list_requests", "alice", query={"status": "all"}).json()["requests"]) == 1
    assert_error(call(client, "list_requests", "alice", query={"status": "closed"}), 422, "status", "query")
    assert_error(call(client, "list_requests", "alice", query={"limit": "0"}), 422, "limit", "query")
    assert_error(call(client, "list_requests", "alice", query={"limt": "5"}), 422, "limt", "query")
    assert request["will_run"] and len(request["digest"]) == 64 and request["approver_roles"] == ["soc-l2"]
    assert_error(call(client, "show_request", "alice", request_id="rr-nope"), 404, "request_id", "path")
    assert_error(call(client, "show_request", "alice", request_id="a" * 129), 422, "request_id", "path")
    assert_error(call(client, "show_request", "alice", request_id="bad id"), 422, "request_id", "path")


def test_approve_runs_the_action_and_follows_the_approver_rules(client: Any, engine: Any) -> None:
    request = open_request(client)
    rid, digest = request["request_id"], request["digest"]
    # the approver is the caller: a body field cannot name someone else
    assert_error(call(client, "approve", "alice", {"digest": digest, "approver": "bob"}, request_id=rid),
                 422, "approver", "body")
    assert_error(call(client, "approve", "alice", {}, request_id=rid), 422, "digest", "body")
    assert_error(call(client, "approve", "alice", {"digest": "abc"}, request_id=rid), 422, "digest")
    # a stale digest: what would run has changed
    error = assert_error(call(client, "approve", "alice", {"digest": "f" * 64}, request_id=rid), 409)
    assert "digest" in error["message"]
    # mallory holds no soc-l2 role: SPEC's approver rules, enforced by the engine
    error = assert_error(call(client, "approve", "mallory", {"digest": digest}, request_id=rid), 403)
    assert "soc-l2" in error["message"]
    kinds = [rec["kind"] for rec in engine.state.audit_records()]
    assert kinds.count("approval.refused") == 2
    r = call(client, "approve", "alice", {"digest": digest}, request_id=rid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "approved" and body["approved_by"] == ["alice"]
    assert body["approvals"][0]["approver"] == "alice" and body["approvals"][0]["via"] == "api"
    [execution] = body["executions"]
    assert execution["status"] == "done" and execution["provider"] == "dry_run"
    # closed now: a second vote is a conflict
    assert_error(call(client, "approve", "bob", {"digest": digest}, request_id=rid), 409)
    assert_error(call(client, "approve", "alice", {"digest": digest}, request_id="rr-none"), 404, "request_id")


def test_two_approvers_are_two_callers(client: Any) -> None:
    data = alert(kind="human", action="suspend_user", confidence=0.95, name="jdoe2")
    rid = submit(client, data)["decisions"][0]["request_id"]
    digest = call(client, "show_request", "alice", request_id=rid).json()["digest"]
    assert call(client, "approve", "alice", {"digest": digest}, request_id=rid).json()["status"] == "open"
    assert_error(call(client, "approve", "alice", {"digest": digest}, request_id=rid), 409)  # already voted
    r = call(client, "approve", "bob", {"digest": digest}, request_id=rid)
    assert r.json()["status"] == "approved" and r.json()["approved_by"] == ["alice", "bob"]


def test_deny(client: Any) -> None:
    request = open_request(client)
    rid = request["request_id"]
    assert_error(call(client, "deny", "alice", {"comment": 5}, request_id=rid), 422, "comment", "body")
    assert_error(call(client, "deny", "mallory", {}, request_id=rid), 403)
    r = call(client, "deny", "alice", {"comment": "false positive"}, request_id=rid)
    assert r.status_code == 200 and r.json()["status"] == "denied" and r.json()["executions"] == []
    assert_error(call(client, "approve", "bob", {"digest": request["digest"]}, request_id=rid), 409)
    assert_error(call(client, "deny", "alice", {}, request_id="rr-none"), 404)


def test_execute_approved(client: Any, engine: Any) -> None:
    request = open_request(client)
    rid = request["request_id"]
    assert_error(call(client, "execute_approved", "alice", {}, request_id=rid), 409)
    call(client, "approve", "alice", {"digest": request["digest"]}, request_id=rid)
    before = audit_count(engine)
    r = call(client, "execute_approved", "ops", {}, request_id=rid)
    assert r.status_code == 200
    assert [e["status"] for e in r.json()["executions"]] == ["done"]
    assert audit_count(engine) == before  # already ran at approval: nothing runs twice
    assert_error(call(client, "execute_approved", "ops", {"force": True}, request_id=rid), 422, "force")
    assert_error(call(client, "execute_approved", "ops", {}, request_id="rr-none"), 404)


# -- executions ---------------------------------------------------------------------------------
def test_show_execution(client: Any) -> None:
    d = done_execution(client)
    r = call(client, "show_execution", "soar-eval", execution_id=d["execution_id"])
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["provisional_until"]
    assert_error(call(client, "show_execution", "soar-eval", execution_id="ex-none"), 404, "execution_id")


def test_confirm(client: Any) -> None:
    d = done_execution(client)
    eid = d["execution_id"]
    assert_error(call(client, "confirm", "alice", {"note": "x"}, execution_id=eid), 422, "note")
    r = call(client, "confirm", "alice", {}, execution_id=eid)
    assert r.status_code == 200 and r.json()["confirmed_by"] == "alice"
    assert_error(call(client, "confirm", "alice", {}, execution_id=eid), 409)
    assert_error(call(client, "confirm", "alice", {}, execution_id="ex-none"), 404)


def test_rollback(client: Any, engine: Any) -> None:
    d = done_execution(client)
    eid = d["execution_id"]
    assert_error(call(client, "rollback", "alice", {"reason": ["x"]}, execution_id=eid), 422, "reason")
    r = call(client, "rollback", "alice", {"reason": "false positive"}, execution_id=eid)
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "rollback" and r.json()["action"] == "enable_access_key"
    assert r.json()["status"] == "done" and r.json()["requested_by"] == "alice"
    assert engine.execution(eid)["status"] == "rolled_back"
    assert_error(call(client, "rollback", "alice", {}, execution_id=eid), 409)
    assert_error(call(client, "rollback", "alice", {}, execution_id="ex-none"), 404)
    # an irreversible action has no inverse to run
    token = alert(kind="api_key", action="revoke_token", confidence=0.99, severity="critical")
    t = submit(client, token)["decisions"][0]
    assert t["autonomy"] == "auto", t
    assert "no inverse" in assert_error(call(client, "rollback", "ops", {}, execution_id=t["execution_id"]),
                                        409)["message"]


def test_outcome_input(client: Any) -> None:
    d = submit(client, alert(), op="evaluate")["decisions"][0]
    eid = d["execution_id"]
    assert_error(call(client, "outcome", "soar-eval", {}, execution_id=eid), 422, "status", "body")
    assert_error(call(client, "outcome", "soar-eval", {"status": "ok"}, execution_id=eid), 422, "status")
    assert_error(call(client, "outcome", "soar-eval", {"status": "done"}, execution_id="ex-none"), 404)
    done = done_execution(client)
    assert_error(call(client, "outcome", "soar-eval", {"status": "done"}, execution_id=done["execution_id"]), 409)


# -- audit -----------------------------------------------------------------------------------------
def test_audit_query_pages_and_filters(client: Any, engine: Any) -> None:
    a, b = alert(), alert()
    submit(client, a)
    submit(client, b)
    r = call(client, "audit", "alice", query={"alert_id": a["id"]})
    assert r.status_code == 200
    records = r.json()["records"]
    assert records and all(rec["alert_id"] == a["id"] for rec in records)
    assert r.json()["next_after_seq"] is None
    total = audit_count(engine)
    seen: List[int] = []
    after = 0
    while True:
        page = call(client, "audit", "ops", query={"limit": 3, "after_seq": after}).json()
        seen += [rec["seq"] for rec in page["records"]]
        if page["next_after_seq"] is None:
            break
        after = page["next_after_seq"]
    assert seen == list(range(1, total + 1))
    assert_error(call(client, "audit", "ops", query={"after_seq": "-1"}), 422, "after_seq", "query")
    assert_error(call(client, "audit", "ops", query={"limit": "lots"}), 422, "limit", "query")


def test_audit_verify_detects_an_edit(client: Any, engine: Any) -> None:
    submit(client, alert())
    r = call(client, "audit_verify", "ops")
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["records"] == audit_count(engine)
    db = sqlite3.connect(engine.state.path)
    body = json.loads(db.execute("SELECT body FROM audit WHERE seq=2").fetchone()[0])
    body["kind"] = "alert.rejected"
    db.execute("UPDATE audit SET body=? WHERE seq=2", (json.dumps(body),))
    db.commit()
    db.close()
    r = call(client, "audit_verify", "alice")
    assert r.json()["ok"] is False and "seq 2" in r.json()["problems"][0]


# -- circuit breaker -------------------------------------------------------------------------------
def test_breaker_reset(client: Any, engine: Any) -> None:
    engine.gate_state.trip(engine.clock(), "test burst")
    r = call(client, "breaker_reset", "ops", {})
    assert r.status_code == 200 and r.json() == {"tripped": False, "reset_by": "ops"}
    assert engine.state.load_gate_state()["breaker_tripped"] is None
    assert_error(call(client, "breaker_reset", "ops", {"now": 1}), 422, "now")


# -- idempotency --------------------------------------------------------------------------------------
def _prepare(client: Any, op: str) -> Dict[str, Any]:
    """Path parameters and a body that make ``op`` succeed once."""
    if op in ("evaluate", "submit"):
        return {"body": alert()}
    if op == "breaker_reset":
        return {"body": {}}
    if op in ("approve", "deny", "execute_approved"):
        request = open_request(client)
        if op == "execute_approved":
            call(client, "approve", "alice", {"digest": request["digest"]}, request_id=request["request_id"])
        body = {"digest": request["digest"]} if op == "approve" else {}
        return {"body": body, "request_id": request["request_id"]}
    if op == "outcome":
        d = submit(client, alert(), op="evaluate")["decisions"][0]
        return {"body": {"status": "done"}, "execution_id": d["execution_id"]}
    return {"body": {}, "execution_id": done_execution(client)["execution_id"]}


MUTATING = [o.name for o in OPERATIONS if o.mutating]


@pytest.mark.parametrize("op", MUTATING)
def test_a_retried_call_returns_the_first_response_and_no_second_effect(client: Any, engine: Any, op: str) -> None:
    caller = "ops" if op in ("breaker_reset", "execute_approved") else (
        "alice" if op in ("approve", "deny", "confirm", "rollback") else "soar-eval")
    args = _prepare(client, op)
    body = args.pop("body")
    first = call(client, op, caller, body, key="retry-%s-1" % op, **args)
    assert first.status_code == 200, first.text
    audit_after_first = audit_count(engine)
    meta_before = engine.state.get_meta("idem:%s:retry-%s-1" % (caller, op))
    second = call(client, op, caller, body, key="retry-%s-1" % op, **args)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert audit_count(engine) == audit_after_first
    assert engine.state.get_meta("idem:%s:retry-%s-1" % (caller, op)) == meta_before
    # the same key for another request is refused, not silently replayed
    other = dict(body, comment="another") if op in ("approve", "deny", "confirm") else (
        dict(body, reason="another") if op == "rollback" else (
            dict(body, detail="another") if op == "outcome" else (alert() if op in ("evaluate", "submit") else None)))
    if other is not None:
        assert_error(call(client, op, caller, other, key="retry-%s-1" % op, **args), 422, "Idempotency-Key", "header")
    else:
        assert_error(client.post(url(op, **args) + "?x=1", headers=dict(auth(caller), **{
            "Idempotency-Key": "retry-%s-1" % op}), json=body), 422)


def test_idempotency_keys_are_per_caller_and_checked(client: Any, engine: Any) -> None:
    r = call(client, "evaluate", "soar-eval", alert(), key="k" * 201)
    assert_error(r, 400, "Idempotency-Key", "header")
    a = alert()
    first = call(client, "evaluate", "soar-eval", a, key="same")
    other = call(client, "evaluate", "soar-prod", a, key="same")
    assert first.status_code == other.status_code == 200
    assert first.json()["duplicate"] is False and other.json()["duplicate"] is True
    assert "idempotent-replayed" not in other.headers
    # a refusal is a response too: replayed, and not recorded twice
    request = open_request(client)
    args = {"request_id": request["request_id"]}
    refused = call(client, "approve", "mallory", {"digest": request["digest"]}, key="m1", **args)
    count = audit_count(engine)
    again = call(client, "approve", "mallory", {"digest": request["digest"]}, key="m1", **args)
    assert refused.status_code == again.status_code == 403 and refused.json() == again.json()
    assert audit_count(engine) == count


# -- the rest -------------------------------------------------------------------------------------------
def test_unknown_routes_and_methods_answer_json(client: Any) -> None:
    r = client.get("/v1/nothing", headers=auth("ops"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.delete("/v1/alerts", headers=auth("ops"))
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    r = client.request("GET", "/v1/whoami", headers=auth("ops"), content=b"{}")
    assert r.status_code == 200


def test_secrets_never_reach_audit_errors_or_logs(client: Any, engine: Any, caplog: Any) -> None:
    caplog.set_level("DEBUG")
    submit(client, alert())
    call(client, "approve", "alice", {"digest": "0" * 64}, request_id="rr-none")
    client.get("/v1/whoami", headers={"Authorization": "Bearer " + CALLERS["alice"][0] + "x"})
    text = json.dumps(list(engine.state.audit_records())) + caplog.text
    for value, _, _ in CALLERS.values():
        assert value not in text


def test_api_config_is_checked() -> None:
    good = {"token": "env:X", "caller": "soar", "roles": ["evaluator"]}
    with pytest.raises(ValueError, match="roles"):
        ApiConfig.model_validate({"tokens": [dict(good, roles=["root"])]})
    with pytest.raises(ValueError, match="ai:"):
        ApiConfig.model_validate({"tokens": [dict(good, caller="ai:copilot")]})
    with pytest.raises(ValueError, match="more than once"):
        ApiConfig.model_validate({"tokens": [good, dict(good, token="env:Y")]})
    assert ApiConfig.model_validate({}).bind == "127.0.0.1"


def test_short_tokens_are_refused(monkeypatch: Any, engine: Any) -> None:
    from idgate.api.handlers import Api
    from idgate.errors import IdgateError
    monkeypatch.setenv("IDGATE_TEST_SHORT", "abc")
    with pytest.raises(IdgateError, match="shorter than 16"):
        Api(engine, ApiConfig.model_validate({"tokens": [
            {"token": "env:IDGATE_TEST_SHORT", "caller": "x", "roles": ["admin"]}]}))

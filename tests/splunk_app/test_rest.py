"""The persistent REST handler: splunkd's request JSON in, the shared API
handlers (idgate.api.handlers) behind it, capabilities as API roles, the
Splunk user as the approver."""
import json
from typing import Any, Dict, Optional

import pytest

from idgate.state.kvstore import KVStoreState
from idgate_app import alert
from idgate_app.policies import PolicyStore
from idgate_app.rest import IdgateRestHandler

from .conftest import BASE, POLICY_TEXT, notable
from .test_alert_action import payload

USERS = {
    "k-analyst": {"username": "ann", "roles": ["idgate_analyst"], "capabilities": ["idgate_read", "idgate_evaluate"]},
    "k-approver": {"username": "bob", "roles": ["idgate_approver", "soc-l2"],
                   "capabilities": ["idgate_read", "idgate_evaluate", "idgate_approve"]},
    "k-norole": {"username": "carl", "roles": ["idgate_approver"],
                 "capabilities": ["idgate_read", "idgate_approve"]},
}


def call(method: str, path: str, key: str, body: Optional[Dict[str, Any]] = None,
         query: Any = None) -> Dict[str, Any]:
    request = {"method": method, "rest_path": path, "query": query or [["output_mode", "json"]],
               "headers": [["Content-Type", "application/json"]],
               "session": {"user": USERS[key]["username"], "authtoken": key},
               "server": {"rest_uri": BASE, "hostname": "sh1"}}
    if body is not None:
        request["payload"] = json.dumps(body)
    return IdgateRestHandler(None, None).handle(json.dumps(request).encode("utf-8"))


@pytest.fixture
def queued(service: Any, splunkd: Any, tmp_path: Any) -> str:
    splunkd.sessions.update(USERS)
    PolicyStore(KVStoreState(service)).save("current", POLICY_TEXT, "admin")
    alert.run(payload(tmp_path, [notable(1, case=1)], write_back="0"))
    (request,) = [json.loads(d["body"]) for d in splunkd.collections["idgate_requests"].values()]
    return request["request_id"]


def test_queue_then_approval_by_the_splunk_user(queued: str, splunkd: Any) -> None:
    listed = call("GET", "/idgate/v1/requests", "k-analyst")
    assert listed["status"] == 200, listed
    assert [r["request_id"] for r in listed["payload"]["requests"]] == [queued]
    digest = listed["payload"]["requests"][0]["digest"]
    # an analyst may look but not approve
    refused = call("POST", "/idgate/v1/requests/%s/approve" % queued, "k-analyst", {"digest": digest})
    assert refused["status"] == 403 and "approver" in refused["payload"]["error"]["message"]
    # holding the capability is not enough: the rule wants the soc-l2 role
    norole = call("POST", "/idgate/v1/requests/%s/approve" % queued, "k-norole", {"digest": digest})
    assert norole["status"] == 403 and "soc-l2" in norole["payload"]["error"]["message"]
    ok = call("POST", "/idgate/v1/requests/%s/approve" % queued, "k-approver", {"digest": digest, "comment": "ok"})
    assert ok["status"] == 200, ok
    assert ok["payload"]["status"] == "approved"
    assert [a["approver"] for a in ok["payload"]["approvals"]] == ["bob"]
    assert ok["payload"]["approvals"][0]["via"] == "api"
    assert [e["status"] for e in ok["payload"]["executions"]] == ["done"]
    audit = call("GET", "/idgate/v1/audit/verify", "k-approver")
    assert audit["status"] == 200 and audit["payload"]["ok"] is True


def test_stale_digest_and_deny(queued: str) -> None:
    stale = call("POST", "/idgate/v1/requests/%s/approve" % queued, "k-approver", {"digest": "0" * 64})
    assert stale["status"] == 409 and "digest" in stale["payload"]["error"]["message"]
    denied = call("POST", "/idgate/v1/requests/%s/deny" % queued, "k-approver", {"comment": "false positive"})
    assert denied["status"] == 200 and denied["payload"]["status"] == "denied"


def test_routing_errors(queued: str) -> None:
    assert call("GET", "/idgate/v1/nothing", "k-analyst")["status"] == 404
    assert call("DELETE", "/idgate/v1/requests", "k-analyst")["status"] == 405
    assert call("GET", "/idgate/v1/requests/rr-missing", "k-analyst")["status"] == 404
    bad = call("POST", "/idgate/v1/requests/%s/approve" % queued, "k-approver", {"digest": 5})
    assert bad["status"] == 422
    assert call("GET", "/idgate/v1/audit", "k-analyst")["status"] == 403  # audit: approvers and admins


def test_bad_input_never_a_traceback(splunkd: Any) -> None:
    out = IdgateRestHandler().handle(b"{not json")
    assert out["status"] == 400
    out = IdgateRestHandler().handle(json.dumps({"method": "GET", "rest_path": "/idgate/v1/requests"}))
    assert out["status"] == 401

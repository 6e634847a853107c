"""The Cortex XSOAR integration without Docker: demistomock and
CommonServerPython are stubbed (as XSOAR's own unit tests do), idgate is
mocked with ``responses`` or served for real on loopback."""
import json
import os
import sys
import types
from typing import Any, Dict, List

import pytest
import responses
import yaml

from tests.api._support import CALLERS, alert, review_alert

from .conftest import ROOT

XSOAR = os.path.join(ROOT, "connectors", "xsoar", "Idgate")
URL = "http://127.0.0.1:8742"
TOKEN = "xsoar-token-0123456789abcdef0123"


class CommandResults:
    def __init__(self, outputs_prefix: str = "", outputs_key_field: str = "", outputs: Any = None,
                 readable_output: str = "", raw_response: Any = None):
        self.outputs_prefix, self.outputs_key_field, self.outputs = outputs_prefix, outputs_key_field, outputs
        self.readable_output, self.raw_response = readable_output, raw_response


class Demisto:
    def __init__(self) -> None:
        self._params: Dict[str, Any] = {}
        self._args: Dict[str, Any] = {}
        self._command = ""

    def params(self) -> Dict[str, Any]:
        return self._params

    def args(self) -> Dict[str, Any]:
        return self._args

    def command(self) -> str:
        return self._command


@pytest.fixture
def xsoar(monkeypatch: Any) -> Any:
    demisto = Demisto()
    results: List[Any] = []
    errors: List[str] = []
    csp = types.ModuleType("CommonServerPython")
    csp.CommandResults = CommandResults  # type: ignore[attr-defined]
    csp.return_results = results.append  # type: ignore[attr-defined]
    csp.return_error = errors.append  # type: ignore[attr-defined]
    csp.__all__ = ["CommandResults", "return_results", "return_error"]  # type: ignore[attr-defined]
    mock = types.ModuleType("demistomock")
    for name in ("params", "args", "command"):
        setattr(mock, name, getattr(demisto, name))
    monkeypatch.setitem(sys.modules, "CommonServerPython", csp)
    monkeypatch.setitem(sys.modules, "demistomock", mock)
    monkeypatch.syspath_prepend(XSOAR)
    sys.modules.pop("Idgate", None)
    import Idgate  # noqa: E402
    Idgate.demisto_state, Idgate.results, Idgate.errors = demisto, results, errors
    yield Idgate
    sys.modules.pop("Idgate", None)


def run(module: Any, command: str, args: Dict[str, Any], url: str = URL, token: str = TOKEN) -> None:
    module.demisto_state._params = {"url": url, "credentials": {"password": token}, "insecure": False}
    module.demisto_state._command = command
    module.demisto_state._args = args
    module.main()


def test_yaml_commands_match_the_code_and_outputs_live_under_idgate(xsoar: Any) -> None:
    with open(os.path.join(XSOAR, "Idgate.yml"), encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    names = [c["name"] for c in doc["script"]["commands"]]
    assert all(n.startswith("idgate-") and n == n.lower() for n in names)
    source = open(os.path.join(XSOAR, "Idgate.py"), encoding="utf-8").read()
    for name in names:
        assert '"%s"' % name in source
    for command in doc["script"]["commands"]:
        assert command["outputs"] and all(o["contextPath"].startswith("Idgate.") for o in command["outputs"])
    assert {"idgate-evaluate", "idgate-approve", "idgate-deny", "idgate-record-outcome", "idgate-rollback",
            "idgate-get-audit-trail", "idgate-submit-alert", "idgate-get-request"} <= set(names)


@responses.activate
def test_evaluate_builds_the_alert_and_outputs_decisions(xsoar: Any) -> None:
    responses.post(URL + "/v1/evaluate", json={"alert_id": "xsoar:7", "duplicate": False, "decisions": [{
        "decision_id": "dec-1", "action": "disable_access_key", "target": {"id": "okta:0oa1"}, "autonomy": "auto",
        "rule_id": "r", "policy_version": "p", "caps": [], "request_id": None, "execution_id": "ex-1",
        "execution_status": "delegated"}]})
    run(xsoar, "idgate-evaluate", {"alert_id": "xsoar:7", "identity_id": "okta:0oa1", "identity_kind": "api_key",
                                   "action": "disable_access_key", "confidence": "0.95"})
    [result] = xsoar.results
    assert result.outputs_prefix == "Idgate.Decision"
    assert result.outputs[0]["NextStep"] == "execute_and_report" and result.outputs[0]["ExecutionID"] == "ex-1"
    sent = json.loads(responses.calls[0].request.body)
    assert sent["id"] == "xsoar:7" and sent["recommendations"][0]["confidence"] == 0.95
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + TOKEN
    assert responses.calls[0].request.headers["Idempotency-Key"].startswith("xsoar-")


@responses.activate
def test_errors_are_returned_with_the_field_and_without_the_token(xsoar: Any) -> None:
    responses.post(URL + "/v1/requests/rr-1/approve", status=403, json={"error": {
        "code": "refused", "message": "refused: soar holds none of the roles soc-l2"}})
    run(xsoar, "idgate-approve", {"request_id": "rr-1", "digest": "a" * 64})
    assert xsoar.results == [] and "403" in xsoar.errors[0] and "soc-l2" in xsoar.errors[0]
    assert TOKEN not in xsoar.errors[0]
    run(xsoar, "idgate-evaluate", {"identity_id": "x"})
    assert "alert_id" in xsoar.errors[1]
    run(xsoar, "idgate-evaluate", {"alert_id": "a", "identity_id": "x", "identity_kind": "human",
                                   "action": "suspend_user", "confidence": "high"})
    assert "confidence" in xsoar.errors[2]


def test_against_a_real_idgate_server(xsoar: Any, idgate_server: Any) -> None:
    token = CALLERS["soar-prod"][0]
    run(xsoar, "test-module", {}, idgate_server.url, token)
    assert xsoar.results == ["ok"]
    data = review_alert()
    run(xsoar, "idgate-submit-alert", {"alert_json": json.dumps(data)}, idgate_server.url, token)
    decision = xsoar.results[-1].outputs[0]
    assert decision["NextStep"] == "await_approval"
    run(xsoar, "idgate-get-request", {"request_id": decision["RequestID"]}, idgate_server.url, token)
    digest = xsoar.results[-1].outputs["Digest"]
    run(xsoar, "idgate-approve", {"request_id": decision["RequestID"], "digest": digest, "comment": "analyst ok"},
        idgate_server.url, token)
    assert xsoar.results[-1].outputs["Status"] == "approved"
    assert xsoar.results[-1].outputs["ExecutionStatus"] == "done"
    auto = alert()
    run(xsoar, "idgate-evaluate", {"alert_json": auto}, idgate_server.url, token)
    execution_id = xsoar.results[-1].outputs[0]["ExecutionID"]
    run(xsoar, "idgate-record-outcome", {"execution_id": execution_id, "status": "done", "detail": "okta ok"},
        idgate_server.url, token)
    assert xsoar.results[-1].outputs[0]["Status"] == "done"
    run(xsoar, "idgate-get-audit-trail", {"alert_id": data["id"]}, idgate_server.url, token)
    audit = xsoar.results[-1].outputs
    assert audit["Verified"] is True and "approval.recorded" in [r["Kind"] for r in audit["Records"]]
    assert xsoar.errors == []

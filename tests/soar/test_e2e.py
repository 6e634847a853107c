"""End to end on loopback: the SOAR app's actions → idgate's HTTP server →
decision → approval → dry-run execution → the audit trail verifies."""
import json
import os
import subprocess
from typing import Any

import pytest

import idgate_client as ic  # connectors/splunk_soar/src, put on sys.path by conftest

from tests.api._support import CALLERS, alert, review_alert

from .conftest import ROOT

SOAR_PYTHON = os.path.join(ROOT, ".venv-soar", "bin", "python")
SOAR_APP = os.path.join(ROOT, "connectors", "splunk_soar")


def soar(server: Any, caller: str) -> ic.IdgateClient:
    return ic.IdgateClient(server.url, CALLERS[caller][0], timeout=30)


def test_review_path_soar_to_idgate_to_approval_to_dry_run_to_audit(idgate_server: Any) -> None:
    prod = soar(idgate_server, "soar-prod")
    assert prod.whoami()["caller"] == "soar-prod"  # test connectivity
    # submit alert: a human's sessions → review by one soc-l2 analyst
    data = review_alert()
    [row] = ic.decision_rows(prod.submit(data))
    assert row["autonomy"] == "review" and row["next_step"] == "await_approval"
    # request approval: what the analyst prompt shows
    request = ic.request_row(prod.request(row["request_id"]))
    assert request["status"] == "open" and request["approver_roles"] == "soc-l2"
    assert "revoke_sessions" in request["will_run"]
    # the analyst approved in the SOAR prompt: the SOAR approves in idgate as its caller
    approved = ic.request_row(prod.approve(row["request_id"], request["digest"], "analyst jdoe approved"))
    assert approved["status"] == "approved" and approved["execution_status"] == "done"
    execution = ic.execution_row(prod.execution(approved["execution_id"]))
    assert execution["provider"] == "dry_run" and execution["status"] == "done"
    # a retried approval (same Idempotency-Key) replays, it does not vote twice
    again = ic.request_row(prod.approve(row["request_id"], request["digest"], "analyst jdoe approved"))
    assert again == approved
    # get audit trail: the chain verifies and tells the whole story
    assert prod.audit_verify()["ok"] is True
    kinds = [r["kind"] for r in ic.audit_rows(prod.audit(alert_id=data["id"]))]
    for kind in ("alert.received", "decision.made", "review.requested", "approval.recorded", "review.approved",
                 "execution.started", "execution.completed"):
        assert kind in kinds
    assert kinds.count("approval.recorded") == 1
    assert idgate_server.engine.audit.verify().ok


def test_delegated_path_the_soar_executes_and_reports(idgate_server: Any) -> None:
    evaluator = soar(idgate_server, "soar-eval")
    [row] = ic.decision_rows(evaluator.evaluate(alert()))
    assert row["autonomy"] == "auto" and row["next_step"] == "execute_and_report"
    # ... the playbook disables the key with its own AWS/Okta app, then:
    done = ic.execution_row(evaluator.outcome(row["execution_id"], "done", "okta: deactivated"))
    assert done["status"] == "done" and done["provider"] == "external"
    with pytest.raises(ic.IdgateApiError) as err:
        evaluator.outcome(row["execution_id"], "failed", "a different report")
    assert err.value.status == 409
    # an evaluator may not approve: the role table holds over HTTP too
    request_id = ic.decision_rows(evaluator.evaluate(review_alert()))[0]["request_id"]
    with pytest.raises(ic.IdgateApiError) as err:
        evaluator.approve(request_id, "0" * 64)
    assert err.value.status == 403 and CALLERS["soar-eval"][0] not in str(err.value)


def test_errors_come_back_naming_the_field(idgate_server: Any) -> None:
    bad = alert()
    bad["identity"]["kind"] = "robot"
    with pytest.raises(ic.IdgateApiError) as err:
        soar(idgate_server, "soar-eval").evaluate(bad)
    assert err.value.status == 422 and err.value.field == "identity.kind"
    with pytest.raises(ic.IdgateApiError) as err:
        ic.IdgateClient(idgate_server.url, "not-a-token-000000000000").whoami()
    assert err.value.status == 401


@pytest.mark.skipif(not os.path.exists(SOAR_PYTHON), reason="no .venv-soar with splunk-soar-sdk (see "
                    "connectors/splunk_soar/README.md)")
def test_the_sdk_cli_harness_runs_actions_against_idgate(idgate_server: Any, tmp_path: Any) -> None:
    asset = tmp_path / "asset.json"
    asset.write_text(json.dumps({"base_url": idgate_server.url, "api_token": CALLERS["soar-prod"][0],
                                 "verify_tls": False, "timeout": 30}))

    def run(action: str, params: Any) -> str:
        files = ["-a", str(asset)]
        if params is not None:
            (tmp_path / "params.json").write_text(json.dumps(params))
            files += ["-p", str(tmp_path / "params.json")]
        done = subprocess.run([SOAR_PYTHON, "src/app.py", "action", action] + files, cwd=SOAR_APP,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert CALLERS["soar-prod"][0] not in done.stdout + done.stderr
        return done.stdout + done.stderr

    run("test-connectivity", None)
    data = review_alert()
    out = run("submit-alert", {"alert_json": json.dumps(data)})
    assert "await_approval" in out
    request_id = idgate_server.engine.state.requests("open")[0]["request_id"]
    digest = idgate_server.engine.request(request_id)["digest"]
    out = run("request-approval", {"request_id": request_id})
    assert digest in out
    out = run("approve", {"request_id": request_id, "digest": digest, "comment": "from the SDK harness"})
    assert "approved" in out
    assert idgate_server.engine.request(request_id)["status"] == "approved"
    run("get-audit-trail", {"alert_id": data["id"]})
    assert idgate_server.engine.audit.verify().ok

"""The pipeline end to end on a file source with SQLite state."""
import json

import pytest

from idgate.engine import Engine
from idgate.errors import IdgateError
from idgate.pipeline import Pipeline
from idgate.runconfig import load_run_config

from .conftest import make_alert, write_config, write_jsonl
from .fake_provider import effects


def engine_for(folder, clock, **extra):
    return Engine(load_run_config(write_config(folder, **extra)), clock=clock)


def test_run_decides_each_alert_once_and_executes_auto(workdir, clock):
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(i) for i in range(10)])
    engine = engine_for(workdir, clock)
    summary = Pipeline(engine).run_once()
    assert summary.alerts == 10
    assert summary.decisions == {"auto": 10}
    assert len(effects(str(workdir / "provider.db"))) == 10
    # a second pass reads nothing new (checkpoint) and decides nothing twice
    again = Pipeline(engine).run_once()
    assert again.alerts == 0
    assert len(engine.state.decisions()) == 10
    assert engine.audit.verify().ok


def test_reread_without_checkpoint_never_decides_twice(workdir, clock):
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(i) for i in range(5)])
    engine = engine_for(workdir, clock)
    Pipeline(engine).run_once()
    with engine.state.transaction():
        engine.state.set_checkpoint("test-file", {"records": 0})
    summary = Pipeline(engine).run_once()
    assert summary.alerts == 0 and summary.duplicates == 5
    assert sum(effects(str(workdir / "provider.db")).values()) == 5


def test_malformed_records_go_to_dead_letters_and_the_batch_goes_on(workdir, clock):
    good = [make_alert(i) for i in range(3)]
    bad_kind = make_alert(99, kind="robot")
    write_jsonl(str(workdir / "alerts.jsonl"), [good[0], "{not json", bad_kind, good[1], '"a string"', good[2]])
    engine = engine_for(workdir, clock)
    summary = Pipeline(engine).run_once()
    assert summary.alerts == 3
    assert summary.dead_letters == 3
    letters = engine.state.dead_letters()
    reasons = " | ".join(l["reason"] for l in letters)
    assert "incomplete JSON object" in reasons and "identity.kind" in reasons
    assert any(l.get("record_id") == "splunk_es:test-00099" for l in letters)
    assert engine.audit.verify().ok


def test_review_decision_opens_exactly_one_request(workdir, clock):
    alert = make_alert(1, kind="human", action="revoke_sessions", confidence=0.8)
    write_jsonl(str(workdir / "alerts.jsonl"), [alert])
    engine = engine_for(workdir, clock)
    Pipeline(engine).run_once()
    Pipeline(engine).run_once()
    requests = engine.queue()
    assert len(requests) == 1
    r = requests[0]
    assert r["rule_id"] == "humans-need-review" and r["ticket"]["system"] == "local"
    assert r["requester"] == "ai:es-ai-triage"


def test_budget_is_persisted_across_runs(workdir, clock):
    # nhi-containment allows 20 auto containments per hour (sliding over detected_at)
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(i, minute=i) for i in range(15)])
    engine = engine_for(workdir, clock)
    Pipeline(engine).run_once()
    with open(str(workdir / "alerts.jsonl"), "a") as fh:
        for i in range(15, 30):
            fh.write(json.dumps(make_alert(i, minute=i)) + "\n")
    engine2 = engine_for(workdir, clock)  # a restart: counters come from the state
    Pipeline(engine2).run_once()
    counts = engine2.state.count_decisions()
    assert counts["auto"] == 20 and counts["review"] == 10
    capped = [d for d in engine2.state.decisions(limit=100) if d["autonomy"] == "review"]
    assert all(c["invariant"] == "budget" for d in capped for c in d["caps"])


def test_provisional_action_rolls_back_unless_confirmed(workdir, clock):
    # contain-nhi-high-confidence has confirm_within: 4h
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(1), make_alert(2)])
    engine = engine_for(workdir, clock)
    Pipeline(engine).run_once()
    first, second = engine.state.executions()
    assert first["provisional_until"] and second["provisional_until"]
    engine.confirm(first["execution_id"], "alice")
    clock.advance(hours=4, minutes=1)
    engine.tick()
    assert engine.execution(first["execution_id"])["status"] == "done"
    assert engine.execution(second["execution_id"])["status"] == "rolled_back"
    fx = effects(str(workdir / "provider.db"))
    assert fx[("enable_service_account", "fake:id-00002")] == 1
    assert ("enable_service_account", "fake:id-00001") not in fx
    engine.tick()  # nothing more to do: rollback never runs twice
    assert effects(str(workdir / "provider.db"))[("enable_service_account", "fake:id-00002")] == 1


def test_rollback_runs_the_inverse_once(workdir, clock):
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(1)])
    engine = engine_for(workdir, clock)
    Pipeline(engine).run_once()
    (execution,) = engine.state.executions()
    result = engine.rollback(execution["execution_id"], "alice", "false positive")
    assert result["status"] == "done" and result["action"] == "enable_service_account"
    assert result["pre_state"] == {"before": None}
    with pytest.raises(IdgateError, match="already rolled back"):
        engine.rollback(execution["execution_id"], "alice")
    assert effects(str(workdir / "provider.db"))[("enable_service_account", "fake:id-00001")] == 1
    kinds = [r["kind"] for r in engine.audit.records()]
    assert kinds.index("rollback.started") < kinds.index("rollback.completed")


def test_rollback_refuses_irreversible_and_self_healing_actions(workdir, clock):
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(1, kind="ai_agent", action="revoke_sessions")])
    engine = engine_for(workdir, clock)
    Pipeline(engine).run_once()
    (execution,) = engine.state.executions()
    with pytest.raises(IdgateError, match="heals itself"):
        engine.rollback(execution["execution_id"], "alice")


def test_kill_switch_holds_every_execution(workdir, clock):
    policy = (workdir / "policy.yaml").read_text().replace("kill_switch: false", "kill_switch: true")
    (workdir / "policy.yaml").write_text(policy)
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(1)])
    engine = engine_for(workdir, clock)
    summary = Pipeline(engine).run_once()
    assert summary.decisions == {"advisory": 1}
    assert effects(str(workdir / "provider.db")) == {}


def test_failed_execution_is_recorded_not_retried_when_final(workdir, clock):
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(1)])
    config = write_config(workdir, executors={"default": "fake", "fake": {
        "plugin": "fake_provider:executor", "db": str(workdir / "provider.db"), "fail": "disable_service_account"}})
    engine = Engine(load_run_config(config), clock=clock)
    Pipeline(engine).run_once()
    (execution,) = engine.state.executions()
    assert execution["status"] == "failed" and "missing scope" in execution["error"]
    engine.tick()
    assert engine.execution(execution["execution_id"])["attempts"] == 1


def test_delegated_execution_waits_for_the_reported_outcome(workdir, clock):
    from idgate.model import Alert
    engine = engine_for(workdir, clock)
    decisions = engine.submit(Alert.model_validate(make_alert(1)), "soar", delegate=True)
    assert decisions[0]["autonomy"] == "auto"
    (execution,) = engine.state.executions()
    assert execution["status"] == "delegated" and execution["provider"] == "external"
    engine.tick()
    assert effects(str(workdir / "provider.db")) == {}
    done = engine.report_outcome(execution["execution_id"], "done", "soar-prod", "okta: deactivated")
    assert done["status"] == "done"
    with pytest.raises(IdgateError):
        engine.report_outcome(execution["execution_id"], "done", "soar-prod")
    # a re-submitted alert returns the first decisions, decides nothing new
    again = engine.submit(Alert.model_validate(make_alert(1)), "soar", delegate=True)
    assert [d["decision_id"] for d in again] == [d["decision_id"] for d in decisions]


def test_secret_reference_in_run_config_is_required(workdir):
    from idgate.errors import ConfigError
    path = write_config(workdir, executors={"default": "dry_run", "okta": {"org_url": "https://x", "token": "00abcSECRET"}})
    with pytest.raises(ConfigError, match=r"run.yaml:\d+: executors.okta.token: must be a reference"):
        load_run_config(path)

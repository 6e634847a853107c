"""Approval rules: each refusal is refused *and* recorded."""
import pytest

from idgate.engine import Engine, Refused
from idgate.pipeline import Pipeline
from idgate.runconfig import load_run_config

from .conftest import make_alert, write_config, write_jsonl
from .fake_provider import effects


@pytest.fixture
def engine(workdir, clock):
    write_jsonl(str(workdir / "alerts.jsonl"), [
        make_alert(1, kind="human", action="revoke_sessions", confidence=0.8),   # 1 approver, soc-l2
        make_alert(2, kind="human", action="suspend_user", confidence=0.8),      # 2 approvers
    ])
    e = Engine(load_run_config(write_config(workdir)), clock=clock)
    Pipeline(e).run_once()
    return e


def request_for(engine, action):
    return next(r for r in engine.queue() if r["action"] == action)


def refusals(engine):
    return [r["data"]["reason"] for r in engine.audit.records() if r["kind"] == "approval.refused"]


def test_approval_runs_the_action_once(engine, workdir):
    r = request_for(engine, "revoke_sessions")
    done = engine.approve(r["request_id"], "alice")
    assert done["status"] == "approved"
    (execution,) = [e for e in engine.state.executions() if e.get("request_id") == r["request_id"]]
    assert execution["status"] == "done"
    assert sum(effects(str(workdir / "provider.db")).values()) == 1


def test_self_approval_by_the_ai_is_refused(engine):
    r = request_for(engine, "revoke_sessions")
    for who in ("ai:es-ai-triage", "ai:anything"):
        with pytest.raises(Refused, match="requester"):
            engine.approve(r["request_id"], who)
    assert len(refusals(engine)) == 2
    assert engine.request(r["request_id"])["status"] == "open"


def test_wrong_digest_is_refused(engine):
    r = request_for(engine, "revoke_sessions")
    with pytest.raises(Refused, match="what would run has changed"):
        engine.approve(r["request_id"], "alice", digest="0" * 64)
    assert engine.approve(r["request_id"], "alice", digest=r["digest"])["status"] == "approved"


def test_expired_request_runs_nothing(engine, clock, workdir):
    r = request_for(engine, "revoke_sessions")
    clock.advance(hours=25)
    with pytest.raises(Refused, match="expired"):
        engine.approve(r["request_id"], "alice")
    assert engine.request(r["request_id"])["status"] == "expired"
    assert effects(str(workdir / "provider.db")) == {}
    kinds = [x["kind"] for x in engine.audit.records()]
    assert "review.expired" in kinds and "approval.refused" in kinds


def test_duplicate_approval_is_refused_and_never_executes_twice(engine, workdir):
    r = request_for(engine, "suspend_user")
    assert engine.approve(r["request_id"], "bob")["status"] == "open"
    with pytest.raises(Refused, match="already voted"):
        engine.approve(r["request_id"], "bob")
    assert engine.request(r["request_id"])["status"] == "open"
    assert engine.approve(r["request_id"], "carol")["status"] == "approved"
    # a replayed approval after the fact: refused, nothing runs again
    with pytest.raises(Refused, match="is approved"):
        engine.approve(r["request_id"], "alice")
    assert effects(str(workdir / "provider.db")) == {("suspend_user", "fake:id-00002"): 1}


def test_too_few_approvers_runs_nothing(engine, workdir):
    r = request_for(engine, "suspend_user")
    assert engine.approve(r["request_id"], "bob")["status"] == "open"
    engine.tick()
    assert effects(str(workdir / "provider.db")) == {}


def test_approver_without_the_role_is_refused(engine):
    r = request_for(engine, "revoke_sessions")  # needs soc-l2
    with pytest.raises(Refused, match="holds none of the roles soc-l2"):
        engine.approve(r["request_id"], "carol")
    with pytest.raises(Refused, match="holds none"):
        engine.approve(r["request_id"], "mallory")
    # roles asserted by an authenticated caller (API, Splunk) are used as given
    assert engine.approve(r["request_id"], "dave", roles=["soc-l2"])["status"] == "approved"


def test_deny_closes_the_request(engine, workdir):
    r = request_for(engine, "revoke_sessions")
    assert engine.deny(r["request_id"], "alice", comment="false positive")["status"] == "denied"
    with pytest.raises(Refused, match="is denied"):
        engine.approve(r["request_id"], "bob")
    assert effects(str(workdir / "provider.db")) == {}


def test_every_refusal_is_in_a_verified_audit_trail(engine):
    r = request_for(engine, "revoke_sessions")
    for who, kw in (("ai:es-ai-triage", {}), ("alice", {"digest": "f" * 64}), ("carol", {})):
        with pytest.raises(Refused):
            engine.approve(r["request_id"], who, **kw)
    assert len(refusals(engine)) == 3
    assert engine.audit.verify().ok

"""KVStoreState against the KV store REST API (replayed with responses):
the same behaviour as the SQLite reference, atomic commits through the
journal, one writer at a time, and the audit chain intact in the index."""
import json
import os
from datetime import datetime, timezone
from typing import Any, List

import pytest

from idgate.audit import verify
from idgate.engine import Engine, Refused
from idgate.errors import IdgateError
from idgate.model import Alert
from idgate.policy import load_policy
from idgate.runconfig import RunConfig
from idgate.state.kvstore import KVStoreState, records_from_events
from idgate.state.sqlite import SQLiteState

from .conftest import SAMPLES

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)


def alerts(n: int = 16) -> List[Alert]:
    """Auto decisions (ES API keys) first, then review ones (Sentinel humans)."""
    with open(os.path.join(SAMPLES, "alerts", "canonical.jsonl"), encoding="utf-8") as fh:
        every = [Alert.model_validate(json.loads(line)) for line in fh if line.strip()]
    es = [a for a in every if a.source.platform == "splunk_es"][:n // 2]
    other = [a for a in every if a.source.platform != "splunk_es"][:n - len(es)]
    return (es + other)[:n]


def engine(state: Any) -> Engine:
    config = RunConfig(policy=os.path.join(SAMPLES, "policy.yaml"))
    return Engine(config, state=state, policy=load_policy(config.policy_path), clock=lambda: NOW)


def scenario(state: Any) -> dict:
    """The same sequence of transitions, whatever the store."""
    eng = engine(state)
    decided = [eng.submit(a, "es-prod") for a in alerts()]
    again = eng.submit(alerts()[0], "es-prod")  # idempotent re-submit
    queue = eng.queue()
    outcome = {"decided": decided, "again": again, "queue": [r["request_id"] for r in queue]}
    if queue:
        rid = queue[0]["request_id"]
        requester = queue[0].get("requester") or ""
        approved = eng.approve(rid, "alice", roles=queue[0]["approver_roles"] or ["soc-l2"],
                               digest=queue[0]["digest"], via="splunk")
        outcome["approved"] = approved["status"]
        with pytest.raises(Refused):
            eng.approve(rid, "alice", roles=["soc-l2"], via="splunk")  # closed already
        outcome["requester"] = requester
    outcome["executions"] = sorted((e["action"], e["status"]) for e in state.executions())
    outcome["counts"] = state.count_decisions()
    outcome["verify"] = eng.audit.verify().to_dict()
    outcome["kinds"] = [r["kind"] for r in state.audit_records()]
    return outcome


def test_same_behaviour_as_sqlite(tmp_path: Any, service: Any, splunkd: Any) -> None:
    reference = scenario(SQLiteState(str(tmp_path)))
    kv = scenario(KVStoreState(service))
    assert reference["queue"], "the sample policy must produce review requests for this test to mean anything"
    assert kv["verify"]["ok"] and reference["verify"]["ok"]
    for key in ("decided", "again", "queue", "approved", "executions", "counts", "kinds"):
        assert kv[key] == reference[key], key
    assert kv["verify"]["records"] == reference["verify"]["records"] > 10
    assert not splunkd.collections["idgate_journal"]  # every transaction completed
    assert not splunkd.collections["idgate_locks"]    # and released the lease


def test_audit_in_index_verifies_and_detects_tampering(service: Any, splunkd: Any) -> None:
    state = KVStoreState(service)
    eng = engine(state)
    for a in alerts(5):
        eng.submit(a, "es-prod")
    head = state.audit_anchor()
    events = [e for e in splunkd.indexed if e["index"] == "idgate"]
    assert events and all(e["sourcetype"] == "idgate:audit" for e in events)
    records = records_from_events(events + events[:3])  # at-least-once: duplicates are dropped
    result = verify(records, head)
    assert result.ok, result.problems
    assert result.records == head["seq"]
    tampered = [json.loads(e["_raw"]) for e in events]
    tampered[2]["kind"] = "decision.made" if tampered[2]["kind"] != "decision.made" else "alert.received"
    assert not verify(tampered, head).ok
    assert not verify([json.loads(e["_raw"]) for e in events][:-1], head).ok


def test_index_outage_is_caught_up_later(service: Any, splunkd: Any) -> None:
    state = KVStoreState(service)
    eng = engine(state)
    splunkd.fail_index = True
    eng.submit(alerts()[0], "es-prod")
    assert not splunkd.indexed
    splunkd.fail_index = False
    eng.submit(alerts()[1], "es-prod")
    records = records_from_events(splunkd.indexed)
    assert verify(records, state.audit_anchor()).ok
    assert [r["seq"] for r in records] == list(range(1, state.audit_anchor()["seq"] + 1))


def test_crash_mid_commit_is_replayed_from_the_journal(service: Any, splunkd: Any, monkeypatch: Any) -> None:
    state = KVStoreState(service)
    eng = engine(state)
    eng.submit(alerts()[0], "es-prod")
    original = KVStoreState._batch_save
    calls = []

    def crash_on_audit(self: Any, collection: str, docs: Any) -> None:
        if collection == "audit":
            calls.append(collection)
            raise KeyboardInterrupt("killed")  # the process dies half way through applying
        original(self, collection, docs)

    monkeypatch.setattr(KVStoreState, "_batch_save", crash_on_audit)
    with pytest.raises(KeyboardInterrupt):
        eng.submit(alerts()[1], "es-prod")
    assert calls and splunkd.collections["idgate_journal"]
    monkeypatch.setattr(KVStoreState, "_batch_save", original)
    splunkd.collections["idgate_locks"].clear()  # the dead process's lease
    fresh = KVStoreState(service)  # opening replays the journal
    assert not splunkd.collections["idgate_journal"]
    assert fresh.alert_seen(alerts()[1].id)
    assert engine(fresh).audit.verify().ok


def test_uncommitted_transaction_leaves_nothing(service: Any, splunkd: Any) -> None:
    state = KVStoreState(service)
    with pytest.raises(RuntimeError):
        with state.transaction():
            state.mark_alert("a1", "src", "2026-11-28T00:00:00Z", {"id": "a1"})
            assert state.alert_seen("a1")  # visible inside
            raise RuntimeError("boom")
    assert not state.alert_seen("a1")
    assert not splunkd.collections.get("idgate_alerts")


def test_uniqueness_of_executions_and_votes(service: Any) -> None:
    state = KVStoreState(service)
    e = {"execution_id": "ex-1", "idempotency_key": "k1", "status": "pending", "decision_id": "d"}
    assert state.put_execution(dict(e))
    assert not state.put_execution(dict(e, execution_id="ex-2"))  # same key
    vote = {"request_id": "rr-1", "approver": "alice", "verdict": "approve", "at": "t", "digest": "x"}
    assert state.add_approval(dict(vote))
    assert not state.add_approval(dict(vote, verdict="deny"))
    state.update_execution("ex-1", status="done")
    assert [x["execution_id"] for x in state.executions("done")] == ["ex-1"]
    with pytest.raises(IdgateError, match="no execution ex-9"):
        state.update_execution("ex-9", status="done")


def test_a_second_writer_waits_then_gives_a_clear_error(service: Any, splunkd: Any) -> None:
    clock = [1000.0]
    state = KVStoreState(service, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s),
                         wait_seconds=5)
    splunkd.collections.setdefault("idgate_locks", {})["state"] = {
        "_key": "state", "owner": "host:42:other", "expires": 1000.0 + 60}
    with pytest.raises(IdgateError, match="KV store is busy: host:42:other"):
        state.set_checkpoint("es", {"index_time": 1})
    # an expired lease (its holder died) is taken over
    splunkd.collections["idgate_locks"]["state"]["expires"] = clock[0] - 1
    state.set_checkpoint("es", {"index_time": 1})
    assert state.get_checkpoint("es") == {"index_time": 1}


def test_many_rows_are_paged(service: Any, monkeypatch: Any) -> None:
    import idgate.state.kvstore as kv
    monkeypatch.setattr(kv, "PAGE", 7)
    state = KVStoreState(service, index=None)
    with state.transaction():
        for i in range(30):
            state.add_dead_letter({"at": "t%02d" % i, "n": i})
    assert [d["n"] for d in state.dead_letters()] == list(range(30))
    assert len(state.dead_letters(limit=10)) == 10


def test_server_errors_are_one_line(splunkd: Any) -> None:
    from idgate.state.kvstore import connect
    with pytest.raises(IdgateError, match=r"splunkd URI 'ftp://x' must be"):
        connect("ftp://x", "k")

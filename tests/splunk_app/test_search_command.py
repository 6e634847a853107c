"""``| idgate`` through splunklib's search command protocol (chunked v2),
with the policy read from the KV store as inside Splunk."""
from typing import Any

import pytest

from idgate.state.kvstore import KVStoreState
from idgate_app.command import IdgateCommand
from idgate_app.policies import PolicyStore

from .conftest import POLICY_TEXT, notable
from .protocol import run

DRAFT = POLICY_TEXT.replace("kill_switch: false", "kill_switch: true")


@pytest.fixture
def saved(service: Any) -> PolicyStore:
    store = PolicyStore(KVStoreState(service))
    store.save("current", POLICY_TEXT, "admin", "initial")
    store.save("draft", DRAFT, "alice", "kill switch drill")
    return store


def test_decisions_are_added_to_each_event(saved: Any, tmp_path: Any, splunkd: Any) -> None:
    rows = [notable(i, case=i % 3) for i in range(9)]
    out, metas = run(IdgateCommand, [], rows, str(tmp_path), batch=4)
    assert metas[0].get("type") == "streaming"
    assert len(out) == 9
    assert [r["idgate_autonomy"] for r in out[:3]] == ["auto", "review", "advisory"]
    assert out[0]["idgate_rule"] == "contain-nhi-high-confidence"
    assert out[0]["idgate_action"] == "disable_access_key"
    assert out[1]["idgate_rule"] == "humans-need-review"
    assert out[0]["rule_title"] == rows[0]["rule_title"]  # the event itself passes through
    assert all(r["idgate_policy_version"] for r in out)
    assert not any(r.get("idgate_error") for r in out)
    # no side effects: nothing was recorded
    assert not splunkd.collections.get("idgate_decisions") and not splunkd.collections.get("idgate_alerts")


def test_draft_policy_is_compared_before_saving(saved: Any, tmp_path: Any) -> None:
    rows = [notable(i, case=i % 3) for i in range(3)]
    current, _ = run(IdgateCommand, ["policy=current"], rows, str(tmp_path))
    draft, _ = run(IdgateCommand, ["policy=draft"], rows, str(tmp_path))
    assert current[0]["idgate_autonomy"] == "auto"
    assert draft[0]["idgate_autonomy"] == "advisory"
    assert "kill_switch" in draft[0]["idgate_caps"]
    assert draft[0]["idgate_policy_version"] != current[0]["idgate_policy_version"]


def test_budget_is_simulated_over_the_search(saved: Any, tmp_path: Any) -> None:
    # samples/policy.yaml: at most 20 automatic NHI containments per hour
    rows = [notable(i, case=0) for i in range(24)]
    out, _ = run(IdgateCommand, [], rows, str(tmp_path), batch=5)
    levels = [r["idgate_autonomy"] for r in out]
    assert levels.count("auto") == 20 and levels[20:] == ["review"] * 4
    assert "budget" in out[-1]["idgate_caps"]


def test_bad_record_is_marked_not_fatal(saved: Any, tmp_path: Any) -> None:
    rows = [notable(0), dict(notable(1), ai_score="7.5"), notable(2, case=1), {"foo": "bar"}]
    out, _ = run(IdgateCommand, [], rows, str(tmp_path))
    assert len(out) == 4
    assert "ai_score='7.5' is outside 0..1" in out[1]["idgate_error"] and not out[1]["idgate_autonomy"]
    assert out[2]["idgate_autonomy"] == "review"
    assert out[3]["idgate_autonomy"] == "" and not out[3]["idgate_error"]  # no recommendation: nothing to decide


def test_bad_option_is_one_line(saved: Any, tmp_path: Any) -> None:
    out, metas = run(IdgateCommand, ["policy=nightly"], [notable(0)], str(tmp_path))
    text = str(metas)
    assert "Illegal value: policy=nightly" in text and not out


def test_no_saved_policy_is_a_clear_error(service: Any, tmp_path: Any) -> None:
    out, metas = run(IdgateCommand, [], [notable(0)], str(tmp_path))
    assert "no current policy saved yet" in str(metas) and "Traceback" not in str(metas)

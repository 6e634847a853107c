"""Policy version stability and decision determinism."""
import json

from idgate.gate import Gate, GateState
from idgate.policy import load_policy, policy_from_text

from ._helpers import NOW, make_alert

BLOCK = """\
version: 1
defaults:
  autonomy: advisory
ai_sources:
  - id: es
    match: {source.platform: splunk_es}
    mode: workload
    max_autonomy: auto
rules:
  - id: contain
    when:
      action: [revoke_sessions, disable_access_key]
      confidence: ">= 0.9"
    autonomy: auto
"""

# the same policy: flow style, comments, descriptions, key order, defaults written out
FLOW = """\
# a comment
rules: [{id: contain, autonomy: auto, description: "lets the AI contain",
         when: {confidence: ">= 0.9", action: [revoke_sessions, disable_access_key]}}]
ai_sources: [{max_autonomy: auto, mode: workload, id: es, match: {source.platform: splunk_es},
              description: Splunk}]
version: 1   # trailing comment
description: a policy
kill_switch: false
"""


def test_reformatting_comments_and_descriptions_keep_the_version():
    assert policy_from_text(BLOCK).version == policy_from_text(FLOW).version


def test_a_semantic_change_changes_the_version():
    base = policy_from_text(BLOCK).version
    for old, new in ((">= 0.9", ">= 0.8"), ("autonomy: auto", "autonomy: review"),
                     ("autonomy: advisory", "autonomy: blocked"), ("splunk_es", "sentinel")):
        assert policy_from_text(BLOCK.replace(old, new, 1)).version != base, new
    assert policy_from_text(BLOCK.replace("version: 1", "version: 1\nkill_switch: true")).version != base


def test_version_is_sha256_hex():
    version = policy_from_text(BLOCK).version
    assert len(version) == 64 and int(version, 16) >= 0


def test_same_alert_policy_and_state_give_the_same_decision():
    policy = load_policy("samples/policy-candidate.yaml")
    lines = open("samples/alerts/canonical.jsonl", encoding="utf-8").read().splitlines()
    from idgate.model import Alert

    def run():
        gate, state, out = Gate(policy), GateState(), []
        for line in lines:
            for d in gate.decide(Alert.model_validate_json(line), state, NOW):
                out.append(d.model_dump_json())
        return out
    first, second = run(), run()
    assert first == second
    assert len({json.loads(x)["decision_id"] for x in first}) == len(first)


def test_decision_id_depends_on_alert_index_and_policy_only():
    p1 = policy_from_text(BLOCK)
    p2 = policy_from_text(BLOCK.replace(">= 0.9", ">= 0.8"))
    a = make_alert()
    d1 = Gate(p1).decide(a, GateState(), NOW)[0]
    again = Gate(p1).decide(make_alert(ai={"rationale": "different"}), GateState(), NOW)[0]
    d2 = Gate(p2).decide(a, GateState(), NOW)[0]
    assert d1.decision_id == again.decision_id != d2.decision_id


def test_input_order_matters_only_through_budgets():
    policy = policy_from_text(BLOCK)
    alerts = [make_alert(id="a%d" % i, detected_at="2026-11-28T10:0%d:00Z" % i) for i in range(5)]
    fwd = {d.alert_id: d.autonomy for a in alerts for d in Gate(policy).decide(a, GateState(), NOW)}
    bwd = {d.alert_id: d.autonomy for a in reversed(alerts) for d in Gate(policy).decide(a, GateState(), NOW)}
    assert fwd == bwd

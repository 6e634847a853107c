"""One test per invariant of SPEC.md (caps that no rule can lift)."""
from idgate.gate import GateState

from ._helpers import alert_dict, at, caps_of, decide, decide_one, make_alert, make_policy
from idgate.model import Alert

AUTO_ALL = """
  - id: everything-auto
    when: {}
    autonomy: auto
    allow_irreversible: true
"""


def test_1_kill_switch_caps_at_advisory():
    policy = make_policy(AUTO_ALL, "kill_switch: true\n")
    d = decide_one(policy, make_alert())
    assert d.autonomy == "advisory"
    assert caps_of(d) == ["kill_switch"]
    assert d.rule_id == "everything-auto"


def test_2_unlisted_ai_source_is_advisory_at_most():
    policy = make_policy(AUTO_ALL)
    d = decide_one(policy, make_alert(ai={"model": "some-other-llm"}))
    assert d.autonomy == "advisory"
    assert caps_of(d) == ["ai_source"]
    assert d.ai_source is None


def test_2_listed_ai_source_caps_at_its_max_autonomy_and_mode():
    sources = """
version: 1
ai_sources:
  - {id: capped, match: {source.platform: splunk_es}, max_autonomy: review}
  - {id: monitor, match: {source.platform: secops}, mode: monitoring_assistant, max_autonomy: auto}
  - {id: delegated, match: {source.platform: sentinel}, mode: delegated_operator, max_autonomy: auto}
  - {id: workload, match: {source.platform: elastic}, mode: workload, max_autonomy: auto}
"""
    policy = make_policy(AUTO_ALL, base=sources)
    expected = {"splunk_es": "review", "secops": "advisory", "sentinel": "review", "elastic": "auto"}
    for platform, level in expected.items():
        d = decide_one(policy, make_alert(source={"platform": platform}))
        assert d.autonomy == level, platform
        assert caps_of(d) == ([] if level == "auto" else ["ai_source"])


def test_3_missing_score_caps_at_defaults_missing_score():
    policy = make_policy(AUTO_ALL)
    unscored = make_alert(ai={"score": None}, rec={"confidence": None})
    d = decide_one(policy, unscored)
    assert (d.autonomy, caps_of(d), d.confidence) == ("advisory", ["missing_score"], None)
    policy_review = make_policy(AUTO_ALL, "defaults: {missing_score: review}\n")
    assert decide_one(policy_review, unscored).autonomy == "review"
    # a recommendation confidence alone, or an ai.score alone, is a score
    assert decide_one(policy, make_alert(ai={"score": None})).autonomy == "auto"
    assert decide_one(policy, make_alert(rec={"confidence": None})).autonomy == "auto"


def test_4_protected_identity_caps_at_review():
    policy = make_policy(AUTO_ALL, 'protected_identities:\n  - {identity.tier: tier0}\n'
                                   '  - {identity.name: "breakglass-*"}\n')
    for identity in ({"tier": "tier0"}, {"name": "breakglass-ops"}):
        d = decide_one(policy, make_alert(identity=identity))
        assert d.autonomy == "review"
        assert caps_of(d) == ["protected_identity"]
    assert decide_one(policy, make_alert()).autonomy == "auto"


def test_4_protected_target_of_a_recommendation_is_protected_too():
    policy = make_policy(AUTO_ALL, 'protected_identities:\n  - {identity.name: "breakglass-*"}\n')
    rec = {"target": {"kind": "service_account", "id": "okta:0oaBG", "name": "breakglass-root"}}
    d = decide_one(policy, make_alert(rec=rec))
    assert d.autonomy == "review"
    assert "target okta:0oaBG" in d.caps[0].reason


def test_5_actions_that_raise_access_cap_at_review():
    policy = make_policy(AUTO_ALL)
    for action in ("enable_access_key", "unsuspend_user", "restore_oauth_grant", "enable_app", "grant_role"):
        d = decide_one(policy, make_alert(rec={"action": action}))
        assert d.autonomy == "review", action
        assert caps_of(d) == ["raises_access"]


def test_6_irreversible_actions_need_allow_irreversible_and_an_unprotected_identity():
    strict = make_policy("  - {id: a, when: {}, autonomy: auto}\n")
    for action in ("revoke_token", "remove_credential", "rotate_secret"):
        d = decide_one(strict, make_alert(rec={"action": action}))
        assert (d.autonomy, caps_of(d)) == ("review", ["irreversible"]), action
    allowing = make_policy(AUTO_ALL, 'protected_identities:\n  - {identity.tier: tier0}\n')
    assert decide_one(allowing, make_alert(rec={"action": "revoke_token"})).autonomy == "auto"
    d = decide_one(allowing, make_alert(rec={"action": "revoke_token"}, identity={"tier": "tier0"}))
    assert d.autonomy == "review"
    assert caps_of(d) == ["protected_identity"]
    # revoke_sessions heals itself: not capped as irreversible
    assert decide_one(strict, make_alert(rec={"action": "revoke_sessions"})).autonomy == "auto"


def test_7_budget_sliding_window_over_detected_at():
    policy = make_policy(AUTO_ALL, "budgets:\n  - {id: b, actions: [revoke_sessions], max: 2, per: 1h, "
                                   "on_exceed: advisory}\ncircuit_breaker: null\n")
    state = GateState()
    levels = []
    for i, minute in enumerate([0, 10, 20, 59, 61, 75, 200]):
        a = make_alert(id="a%d" % i, detected_at=at(minute))
        levels.append(decide_one(policy, a, state).autonomy)
    # 0 and 10 count; 20 and 59 are over; at 61 the one at 0 has left the
    # window (10 is still in); at 75 the one at 10 has left; 200 is alone
    assert levels == ["auto", "auto", "advisory", "advisory", "auto", "auto", "auto"]


def test_7_budget_counts_only_its_actions_and_only_auto():
    policy = make_policy(AUTO_ALL + "  - {id: humans, when: {identity.kind: human}, autonomy: review}\n",
                         "budgets:\n  - {id: b, actions: [disable_access_key], max: 1, per: 1h}\n")
    state = GateState()
    assert decide_one(policy, make_alert(id="x1", rec={"action": "revoke_sessions"}), state).autonomy == "auto"
    human = make_alert(id="x2", identity={"kind": "human"}, rec={"action": "disable_access_key"})
    assert decide_one(policy, human, state).autonomy == "review"  # not auto: not counted
    first = decide_one(policy, make_alert(id="x3", rec={"action": "disable_access_key"}), state)
    second = decide_one(policy, make_alert(id="x4", rec={"action": "disable_access_key"}), state)
    assert (first.autonomy, second.autonomy) == ("auto", "review")
    assert caps_of(second) == ["budget"]


def test_7_circuit_breaker_trips_all_auto_to_review_until_reset():
    policy = make_policy(AUTO_ALL, "circuit_breaker: {max: 3, per: 10m}\n")
    state = GateState()
    levels = [decide_one(policy, make_alert(id="c%d" % i, detected_at=at(i)), state).autonomy for i in range(5)]
    assert levels == ["auto", "auto", "auto", "review", "review"]
    # long after the burst it stays tripped: only a human resets it
    later = make_alert(id="late", detected_at=at(500), rec={"action": "disable_app"})
    d = decide_one(policy, later, state)
    assert (d.autonomy, caps_of(d)) == ("review", ["circuit_breaker"])
    restored = GateState.from_dict(state.to_dict())
    assert restored.breaker_tripped is not None
    restored.reset_breaker()
    assert decide_one(policy, make_alert(id="after", detected_at=at(501)), restored).autonomy == "auto"


def test_8_action_outside_the_catalog_is_blocked_and_recorded():
    policy = make_policy(AUTO_ALL)
    d = decide_one(policy, make_alert(rec={"action": "wipe_device"}))
    assert d.autonomy == "blocked"
    assert caps_of(d) == ["unknown_action"]
    assert d.error and "wipe_device" in d.error


def test_caps_are_listed_in_spec_order_each_with_a_reason():
    policy = make_policy(AUTO_ALL, "kill_switch: true\nprotected_identities:\n  - {identity.tier: tier0}\n")
    d = decide_one(policy, make_alert(identity={"tier": "tier0"}, rec={"action": "grant_role"}))
    # the kill switch already took it to advisory: later caps lower nothing
    assert caps_of(d) == ["kill_switch"]
    assert all(c.reason for c in d.caps)


def test_other_recommendations_of_the_alert_are_still_decided():
    policy = make_policy(AUTO_ALL)
    data = alert_dict()
    data["recommendations"] = [{"action": "nope"}, {"action": "revoke_sessions", "confidence": 0.95}]
    ds = decide(policy, Alert.model_validate(data))
    assert [d.autonomy for d in ds] == ["blocked", "auto"]
    assert [d.recommendation_index for d in ds] == [0, 1]

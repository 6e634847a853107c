"""Rule semantics: least autonomy wins, value forms, dotted paths."""
import pytest

from idgate.gate import GateState
from idgate.policy import policy_from_text

from ._helpers import BASE_POLICY, decide_one, make_alert, make_policy


def level(rules: str, **alert) -> str:
    return decide_one(make_policy(rules), make_alert(**alert)).autonomy


def rule_of(rules: str, **alert):
    return decide_one(make_policy(rules), make_alert(**alert)).rule_id


def test_least_autonomy_wins_whatever_the_order():
    rules = ["  - {id: r-auto, when: {}, autonomy: auto}\n",
             "  - {id: r-review, when: {identity.kind: service_account}, autonomy: review}\n",
             "  - {id: r-advisory, when: {severity: high}, autonomy: advisory}\n"]
    assert rule_of("".join(rules)) == "r-advisory"
    assert rule_of("".join(reversed(rules))) == "r-advisory"
    assert level("".join(rules)) == "advisory"


def test_ties_go_to_the_first_rule_in_file_order():
    rules = ("  - {id: first, when: {}, autonomy: review, approvals: {count: 2}}\n"
             "  - {id: second, when: {}, autonomy: review}\n")
    d = decide_one(make_policy(rules), make_alert())
    assert (d.rule_id, d.approvals_required) == ("first", 2)


def test_no_match_falls_to_defaults_autonomy():
    d = decide_one(make_policy("  - {id: humans, when: {identity.kind: human}, autonomy: auto}\n",
                               "defaults: {autonomy: review}\n"), make_alert())
    assert (d.autonomy, d.rule_id) == ("review", None)


@pytest.mark.parametrize("condition, alert, matches", [
    ("{action: [revoke_sessions, disable_app]}", {}, True),
    ("{action: [disable_app]}", {}, False),
    ('{identity.name: "svc-*"}', {}, True),
    ('{identity.name: "svc-?ackup"}', {}, True),
    ('{identity.name: "adm-*"}', {}, False),
    ('{identity.id: "okta:*"}', {}, True),
    ("{identity.tags: prod}", {}, True),
    ("{identity.tags: [dev, prod]}", {}, True),
    ("{identity.tags: dev}", {}, False),
    ('{identity.tags: "pr*"}', {}, True),
    ('{confidence: ">= 0.91"}', {}, True),
    ('{confidence: "> 0.91"}', {}, False),
    ('{confidence: "< 0.95"}', {}, True),
    ('{confidence: "!= 0.91"}', {}, False),
    ('{confidence: "== 0.91"}', {}, True),
    ('{ai.score: ">= 0.93"}', {}, True),
    ('{severity: ">= high"}', {}, True),
    ('{severity: "> high"}', {}, False),
    ('{severity: "<= medium"}', {"severity": "medium"}, True),
    ("{severity: [high, critical]}", {"severity": "low"}, False),
    ("{source.platform: splunk_es, ai.model: 'es-ai-*'}", {}, True),
    ("{rule.id: rule-17}", {}, True),
    ("{ai.verdict: true_positive}", {}, True),
    # target.* is the recommendation's target (defaults to the alert's identity)
    ("{target.kind: service_account}", {}, True),
    ("{target.id: 'aws:*'}", {"rec": {"target": {"kind": "api_key", "id": "aws:iam:accesskey/AKIA1"}}}, True),
    ("{target.kind: api_key}", {"rec": {"target": {"kind": "api_key", "id": "aws:x"}}}, True),
    ("{identity.kind: api_key}", {"rec": {"target": {"kind": "api_key", "id": "aws:x"}}}, False),
    # params.* reads the recommendation's params, dotted into nested objects
    ("{params.access_key_id: 'AKIA*'}", {"rec": {"params": {"access_key_id": "AKIAXYZ"}}}, True),
    ("{params.scope.env: prod}", {"rec": {"params": {"scope": {"env": "prod"}}}}, True),
    ("{params.scope.env: prod}", {"rec": {"params": {"scope": "prod"}}}, False),
    ('{params.count: "> 10"}', {"rec": {"params": {"count": 12}}}, True),
    ('{params.count: "> 10"}', {"rec": {"params": {}}}, False),
    # identity attributes an admin mapped in (department, ...) can be named
    ("{identity.department: finance}", {"identity": {"department": "finance"}}, True),
])
def test_condition_forms(condition, alert, matches):
    rules = "  - {id: r, when: %s, autonomy: review}\n" % condition
    assert (rule_of(rules, **alert) == "r") is matches


def test_confidence_falls_back_to_ai_score():
    rules = '  - {id: r, when: {confidence: ">= 0.9"}, autonomy: review}\n'
    assert rule_of(rules, ai={"score": 0.95}, rec={"confidence": None}) == "r"
    assert rule_of(rules, ai={"score": 0.5}, rec={"confidence": None}) is None
    # the recommendation's own confidence takes precedence over the score
    assert rule_of(rules, ai={"score": 0.99}, rec={"confidence": 0.5}) is None


def test_an_absent_field_never_matches():
    assert rule_of("  - {id: r, when: {identity.tier: 'tier*'}, autonomy: review}\n",
                   identity={"tier": None}) is None
    assert rule_of('  - {id: r, when: {confidence: "< 0.5"}, autonomy: review}\n',
                   ai={"score": None}, rec={"confidence": None}) is None


def test_scores_from_0_to_100_sources_are_scaled():
    from idgate.model import scale_score
    assert scale_score(93, 100) == pytest.approx(0.93)
    assert scale_score(None, 100) is None
    with pytest.raises(ValueError):
        scale_score(140, 100)


def test_unknown_alert_fields_are_kept_in_raw():
    a = make_alert(vendor_blob={"x": 1})
    assert a.raw["vendor_blob"] == {"x": 1}


def test_decision_carries_what_the_pipeline_needs():
    policy = policy_from_text(BASE_POLICY + "rules:\n  - {id: c, when: {}, autonomy: auto, confirm_within: 4h, "
                              "ticket: jira}\n", "p.yaml")
    d = decide_one(policy, make_alert())
    dumped = d.to_json_dict()
    for key in ("decision_id", "alert_id", "recommendation_index", "action", "target", "autonomy",
                "rule_id", "caps", "policy_version", "decided_at"):
        assert key in dumped
    assert (d.confirm_within_s, d.ticket, d.policy_version) == (4 * 3600, "jira", policy.version)
    assert d.target["id"] == "okta:0oa1b2c3"


def test_gate_state_round_trips():
    policy = make_policy("  - {id: a, when: {}, autonomy: auto}\n",
                         "budgets:\n  - {id: b, actions: [revoke_sessions], max: 1, per: 1h}\n")
    state = GateState()
    decide_one(policy, make_alert(), state)
    again = GateState.from_dict(state.to_dict())
    assert decide_one(policy, make_alert(id="second"), again).autonomy == "review"

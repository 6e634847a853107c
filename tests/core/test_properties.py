"""Property tests over random policies and alerts (hypothesis)."""
import copy
import json
from typing import Any, Dict, List

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from idgate.catalog import CATALOG
from idgate.gate import Gate, GateState
from idgate.model import AUTONOMY_RANK, Alert
from idgate.policy import policy_from_text

from ._helpers import NOW, alert_dict

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ACTIONS = sorted(CATALOG)
RESTORE = sorted(a for a, s in CATALOG.items() if s.raises_access)
KINDS = ["human", "service_account", "workload", "api_key", "oauth_app", "ai_agent", "bot"]
SEVERITIES = ["informational", "low", "medium", "high", "critical"]
PLATFORMS = ["splunk_es", "sentinel", "elastic", "crowdstrike"]
LEVELS = ["auto", "review", "advisory", "blocked"]
OPS = [">=", ">", "<=", "<", "==", "!="]

scores = st.one_of(st.none(), st.floats(0, 1, allow_nan=False))
threshold = st.builds(lambda op, x: "%s %s" % (op, round(x, 2)), st.sampled_from(OPS), st.floats(0, 1))

condition_values = {
    "action": st.one_of(st.lists(st.sampled_from(ACTIONS + ["wipe_device"]), min_size=1, max_size=4),
                        st.sampled_from(ACTIONS)),
    "identity.kind": st.lists(st.sampled_from(KINDS), min_size=1, max_size=3),
    "severity": st.one_of(st.lists(st.sampled_from(SEVERITIES), min_size=1, max_size=3),
                          st.builds(lambda op, s: "%s %s" % (op, s), st.sampled_from(OPS), st.sampled_from(SEVERITIES))),
    "confidence": threshold,
    "ai.score": threshold,
    "identity.name": st.sampled_from(["svc-*", "breakglass-*", "*", "svc-backup", "alice"]),
    "identity.tier": st.sampled_from(["tier0", "tier1", "tier2", "tier*"]),
    "identity.tags": st.lists(st.sampled_from(["prod", "ci", "crown-jewel"]), min_size=1, max_size=2),
    "target.kind": st.lists(st.sampled_from(KINDS), min_size=1, max_size=3),
    "source.platform": st.sampled_from(PLATFORMS),
    "params.env": st.sampled_from(["prod", "dev"]),
}


@st.composite
def conditions(draw: Any) -> Dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(condition_values)), max_size=4, unique=True))
    return {k: draw(condition_values[k]) for k in keys}


@st.composite
def rules(draw: Any, prefix: str = "r", min_size: int = 0) -> List[Dict[str, Any]]:
    n = draw(st.integers(min_size, 8))
    out = []
    for i in range(n):
        rule = {"id": "%s%d" % (prefix, i), "when": draw(conditions()), "autonomy": draw(st.sampled_from(LEVELS)),
                "allow_irreversible": draw(st.booleans())}
        if draw(st.booleans()):
            rule["description"] = draw(st.text(max_size=20))
        out.append(rule)
    return out


@st.composite
def policies(draw: Any, kill_switch: Any = None) -> Dict[str, Any]:
    sources = [{"id": "src-%s" % p, "match": {"source.platform": p},
                "mode": draw(st.sampled_from([None, "workload", "delegated_operator", "monitoring_assistant"])),
                "max_autonomy": draw(st.sampled_from(LEVELS))}
               for p in draw(st.lists(st.sampled_from(PLATFORMS), unique=True))]
    data: Dict[str, Any] = {
        "version": 1,
        "defaults": {"autonomy": draw(st.sampled_from(["review", "advisory", "blocked"]))},
        "kill_switch": draw(st.booleans()) if kill_switch is None else kill_switch,
        "ai_sources": [{k: v for k, v in s.items() if v is not None} for s in sources],
        "protected_identities": [{"identity.tier": "tier0"}, {"identity.name": "breakglass-*"}],
        "budgets": draw(st.lists(st.builds(
            lambda i, acts, mx: {"id": "b%d" % i, "actions": acts, "max": mx, "per": "1h"},
            st.integers(0, 3), st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3), st.integers(0, 3)),
            max_size=2, unique_by=lambda b: b["id"])),
        "rules": draw(rules()),
    }
    if draw(st.booleans()):
        data["circuit_breaker"] = {"max": draw(st.integers(1, 5)), "per": "10m"}
    return data


@st.composite
def alerts(draw: Any, action: Any = None) -> Dict[str, Any]:
    data = alert_dict()
    data["source"]["platform"] = draw(st.sampled_from(PLATFORMS + ["qradar"]))
    data["severity"] = draw(st.sampled_from(SEVERITIES + [None]))
    data["identity"].update(kind=draw(st.sampled_from(KINDS)),
                            name=draw(st.sampled_from(["svc-backup", "alice", "breakglass-01", "svc-ci"])),
                            tier=draw(st.sampled_from(["tier0", "tier1", "tier2", None])),
                            tags=draw(st.lists(st.sampled_from(["prod", "ci", "crown-jewel"]), max_size=2)))
    data["ai"]["score"] = draw(scores)
    recs = []
    for _ in range(draw(st.integers(1, 3))):
        rec: Dict[str, Any] = {"action": draw(st.sampled_from(ACTIONS)) if action is None else draw(action),
                               "confidence": draw(scores), "params": {"env": draw(st.sampled_from(["prod", "dev"]))},
                               "rationale": "x"}
        if draw(st.booleans()):
            rec["target"] = {"kind": draw(st.sampled_from(KINDS)), "id": "okta:0oaT", "name": "svc-t"}
        recs.append(rec)
    data["recommendations"] = recs
    return data


def load(data: Dict[str, Any]):
    return policy_from_text(json.dumps(data), "random.yaml")


def run(policy: Any, alert_data: Dict[str, Any], state: Any = None) -> List[Dict[str, Any]]:
    ds = Gate(policy).decide(Alert.model_validate(alert_data), state or GateState(), NOW)
    return [d.model_dump(mode="json") for d in ds]


free_text = st.text(max_size=40)


@SETTINGS
@given(policies(), alerts(), free_text, free_text, free_text,
       st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3))
def test_free_text_never_changes_a_decision(policy_data, alert_data, rationale, rule_name, ai_rationale, raw):
    policy = load(policy_data)
    before = run(policy, alert_data)
    changed = copy.deepcopy(alert_data)
    changed["rule"]["name"] = rule_name
    changed["ai"]["rationale"] = ai_rationale
    changed["raw"] = raw
    for rec in changed["recommendations"]:
        rec["rationale"] = rationale
    assert run(policy, changed) == before
    # descriptions in the policy are free text too: same version, same decisions
    described = copy.deepcopy(policy_data)
    described["description"] = rule_name
    for rule in described["rules"]:
        rule["description"] = rationale
    assert run(load(described), alert_data) == before


@SETTINGS
@given(policies(), alerts(), rules(prefix="new", min_size=1), st.integers(0, 8))
def test_adding_a_rule_never_raises_autonomy_once_a_rule_matched(policy_data, alert_data, extra, position):
    policy = load(policy_data)
    before = run(policy, alert_data)
    grown = copy.deepcopy(policy_data)
    grown["rules"][position:position] = extra
    after = run(load(grown), alert_data)
    for b, a in zip(before, after):
        if b["rule_id"] is not None:
            assert AUTONOMY_RANK[a["autonomy"]] <= AUTONOMY_RANK[b["autonomy"]], (b, a)


@SETTINGS
@given(policies(), alerts())
def test_protected_identities_are_never_auto(policy_data, alert_data):
    assume(alert_data["identity"]["tier"] == "tier0" or alert_data["identity"]["name"].startswith("breakglass-"))
    assert all(d["autonomy"] != "auto" for d in run(load(policy_data), alert_data))


@SETTINGS
@given(policies(), alerts())
def test_unscored_recommendations_are_never_auto_with_default_missing_score(policy_data, alert_data):
    alert_data["ai"]["score"] = None
    for rec in alert_data["recommendations"]:
        rec["confidence"] = None
    assert all(d["autonomy"] in ("advisory", "blocked") for d in run(load(policy_data), alert_data))


@SETTINGS
@given(policies(), alerts(action=st.sampled_from(RESTORE)))
def test_restore_actions_are_never_auto(policy_data, alert_data):
    assert all(d["autonomy"] != "auto" for d in run(load(policy_data), alert_data))


@SETTINGS
@given(policies(kill_switch=True), alerts())
def test_nothing_goes_above_advisory_under_the_kill_switch(policy_data, alert_data):
    assert all(d["autonomy"] in ("advisory", "blocked") for d in run(load(policy_data), alert_data))


@SETTINGS
@given(policies(), alerts(action=st.text(min_size=1, max_size=30).filter(lambda a: a not in CATALOG)))
def test_an_action_outside_the_catalog_is_always_blocked(policy_data, alert_data):
    for d in run(load(policy_data), alert_data):
        assert d["autonomy"] == "blocked"
        assert [c["invariant"] for c in d["caps"]] == ["unknown_action"]


@SETTINGS
@given(policies(), st.lists(alerts(), min_size=1, max_size=6))
def test_decisions_are_deterministic_given_the_same_state(policy_data, alert_list):
    policy = load(policy_data)

    def all_decisions():
        state = GateState()
        return [run(policy, a, state) for a in alert_list]
    assert all_decisions() == all_decisions()

"""idgate policy lint: findings, each with a rule (or budget) id and a reason."""
import json

import pytest

from idgate.policy.lint import Finding, lint

from ._helpers import make_policy


def findings(rules: str, extra: str = ""):
    return [(f.rule_id, f.code) for f in lint(make_policy(rules, extra))]


def messages(rules: str, extra: str = ""):
    return {(f.rule_id, f.code): f.message for f in lint(make_policy(rules, extra))}


@pytest.mark.parametrize("when, words", [
    ("{identity.kind: service-account}", "did you mean 'service_account'?"),
    ("{severity: severe}", "'severe' never occurs"),
    ('{severity: "> critical"}', "admits no severity"),
    ("{action: [nuke, wipe]}", "'nuke' never occurs"),
    ('{action: "pwn_*"}', "matches no action"),
    ('{confidence: "> 1"}', "outside"),
    ('{confidence: ">= 90"}', "did you mean >= 0.9?"),
    ('{confidence: "< 0"}', "outside"),
    ('{ai.score: "> 1.5"}', "outside"),
    ("{confidence: high}", "never matches"),
    ('{confidence: "== high"}', "never equals"),
    ("{identity.tier: 0}", "quote it"),
    ("{target.kind: robot}", "never occurs"),
])
def test_rules_that_can_never_match(when, words):
    msgs = messages("  - {id: dead, when: %s, autonomy: review}\n" % when)
    assert ("dead", "never-matches") in msgs, msgs
    assert words in msgs[("dead", "never-matches")]


def test_a_list_with_some_impossible_values_is_reported_but_still_matches():
    got = findings("  - {id: r, when: {action: [revoke_sessions, revoke_sesions]}, autonomy: review}\n")
    assert got == [("r", "impossible-value")]


@pytest.mark.parametrize("when", [
    "{identity.kind: [human, bot]}", '{confidence: ">= 0"}', '{confidence: "<= 1"}',
    '{severity: ">= informational"}', "{identity.tier: tier0}", '{params.count: "> 100"}',
    "{action: '!= notify_owner'}", "{identity.department: 12}",
])
def test_satisfiable_rules_are_not_reported(when):
    assert ("r", "never-matches") not in findings("  - {id: r, when: %s, autonomy: review}\n" % when)


@pytest.mark.parametrize("broad, narrow", [
    ("{identity.kind: [service_account, api_key]}", "{identity.kind: api_key, severity: high}"),
    ('{confidence: ">= 0.6"}', '{confidence: ">= 0.9", action: revoke_sessions}'),
    ('{confidence: "> 0.5"}', '{confidence: "== 0.7"}'),
    ('{confidence: "!= 0.5"}', '{confidence: ">= 0.6"}'),
    ('{identity.name: "svc-*"}', '{identity.name: [svc-a, "svc-b*"]}'),
    ('{identity.name: "*"}', '{identity.name: "x?y"}'),
    ('{severity: ">= high"}', "{severity: critical}"),
    ("{action: [revoke_sessions, disable_app]}", "{action: revoke_sessions}"),
    ("{}", "{identity.kind: bot}"),
    ("{identity.kind: [human, service_account, workload, api_key, oauth_app, ai_agent, bot]}", "{severity: low}"),
])
def test_a_rule_shadowed_by_a_more_restrictive_one(broad, narrow):
    rules = ("  - {id: narrow, when: %s, autonomy: auto, allow_irreversible: true}\n"
             "  - {id: broad, when: %s, autonomy: review}\n" % (narrow, broad))
    msgs = messages(rules)
    assert ("narrow", "shadowed") in msgs, msgs
    assert "broad" in msgs[("narrow", "shadowed")]
    assert ("broad", "shadowed") not in msgs


@pytest.mark.parametrize("broad, narrow", [
    ('{confidence: ">= 0.9"}', '{confidence: ">= 0.6"}'),
    ("{identity.kind: api_key}", "{identity.kind: [api_key, bot]}"),
    ('{identity.name: "svc-*"}', '{identity.name: "sv*"}'),
    ("{severity: high}", "{identity.kind: bot}"),
    ('{confidence: "< 0.9"}', '{confidence: ">= 0.9"}'),
    ('{params.env: prod}', '{params.env: "p*"}'),
])
def test_rules_not_shadowed(broad, narrow):
    rules = ("  - {id: narrow, when: %s, autonomy: auto}\n"
             "  - {id: broad, when: %s, autonomy: review}\n" % (narrow, broad))
    assert ("narrow", "shadowed") not in findings(rules)


def test_ties_shadow_only_the_later_rule():
    rules = ("  - {id: first, when: {identity.kind: bot}, autonomy: review}\n"
             "  - {id: second, when: {identity.kind: bot, severity: high}, autonomy: review}\n")
    got = messages(rules)
    assert ("second", "shadowed") in got and "ties go to the first rule" in got[("second", "shadowed")]
    reverse = ("  - {id: second, when: {identity.kind: bot, severity: high}, autonomy: review}\n"
               "  - {id: first, when: {identity.kind: bot}, autonomy: review}\n")
    assert not [f for f in findings(reverse) if f[1] == "shadowed"]


def test_auto_rules_without_confidence_and_matching_humans():
    got = findings("  - {id: a, when: {action: revoke_sessions}, autonomy: auto}\n"
                   "  - {id: b, when: {identity.kind: bot, confidence: '>= 0.9'}, autonomy: auto}\n"
                   "  - {id: c, when: {identity.kind: [bot, human], confidence: '>= 0.9'}, autonomy: auto}\n"
                   "  - {id: tell, when: {action: notify_owner}, autonomy: auto}\n")
    assert ("a", "auto-without-confidence") in got and ("a", "auto-matches-humans") in got
    assert not [f for f in got if f[0] == "b"]
    assert ("c", "auto-matches-humans") in got and ("c", "auto-without-confidence") not in got
    # notifying an owner changes no access: neither finding
    assert not [f for f in got if f[0] == "tell"]


def test_auto_rules_that_invariants_always_cap():
    msgs = messages("  - {id: restore, when: {action: enable_app, identity.kind: bot, confidence: '>= 0.9'}, "
                    "autonomy: auto}\n"
                    "  - {id: burn, when: {action: revoke_token, identity.kind: bot, confidence: '>= 0.9'}, "
                    "autonomy: auto}\n"
                    "  - {id: burn-ok, when: {action: revoke_token, identity.kind: bot, confidence: '>= 0.9'}, "
                    "autonomy: auto, allow_irreversible: true}\n"
                    "  - {id: elsewhere, when: {source.platform: qradar, identity.kind: bot, "
                    "confidence: '>= 0.9'}, autonomy: auto}\n")
    assert "raises access" in msgs[("restore", "auto-unreachable")]
    assert "allow_irreversible" in msgs[("burn", "auto-unreachable")]
    assert ("burn-ok", "auto-unreachable") not in msgs
    assert "AI source" in msgs[("elsewhere", "auto-unreachable")]


def test_budgets_naming_actions_no_auto_rule_produces():
    extra = ("budgets:\n  - {id: b, actions: [revoke_sessions, disable_app], max: 5, per: 1h}\n"
             "  - {id: zero, actions: [revoke_sessions], max: 0, per: 1h}\n")
    msgs = messages("  - {id: a, when: {action: revoke_sessions, identity.kind: bot, confidence: '>= 0.9'}, "
                    "autonomy: auto}\n", extra)
    assert msgs[("b", "budget-unused-action")].endswith("counts disable_app, which no auto rule can produce")
    assert ("zero", "budget-unused-action") not in msgs
    assert ("zero", "budget-zero") in msgs


def test_the_sample_policies_have_no_dead_or_shadowed_rules():
    from idgate.policy import load_policy
    for path in ("samples/policy.yaml", "samples/policy-candidate.yaml"):
        codes = {(f.rule_id, f.code) for f in lint(load_policy(path))}
        assert not [c for c in codes if c[1] in ("never-matches", "shadowed", "auto-unreachable")], (path, codes)
    assert lint(load_policy("samples/policy-candidate.yaml")) == []


def test_finding_to_dict_and_cli(cli, tmp_path):
    f = Finding("r", "shadowed", "why")
    assert f.to_dict() == {"rule_id": "r", "code": "shadowed", "message": "why"}
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nrules:\n  - {id: dead, when: {severity: severe}, autonomy: review}\n")
    code, out, err = cli("policy", "lint", "--json", str(path))
    assert code == 0, err
    assert [json.loads(line)["code"] for line in out.splitlines()] == ["never-matches"]
    code, out, _ = cli("policy", "lint", "--strict", str(path))
    assert code == 1 and "dead" in out and "1 finding" in out
    code, out, _ = cli("policy", "lint", "--strict", "samples/policy-candidate.yaml")
    assert code == 0 and "no findings" in out

"""Helpers for the decision-core tests: small alerts and policies in code."""
import copy
import io
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional


from idgate.gate import Gate, GateState
from idgate.model import Alert, Decision
from idgate.policy import Policy, policy_from_text

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)

# a permissive base: one workload AI source allowed to reach auto
BASE_POLICY = """
version: 1
ai_sources:
  - id: es-triage
    match: {source.platform: splunk_es, ai.model: "es-ai-triage*"}
    mode: workload
    max_autonomy: auto
"""


def alert_dict(**overrides: Any) -> Dict[str, Any]:
    """A canonical alert as JSON data; keyword arguments replace top-level
    keys, and ``rec`` (a dict) is merged into the first recommendation."""
    data: Dict[str, Any] = {
        "id": "splunk_es:ABC@@notable@@123",
        "source": {"platform": "splunk_es", "instance": "es-prod", "record_id": "ABC@@notable@@123"},
        "detected_at": "2026-11-28T10:00:00Z",
        "rule": {"id": "rule-17", "name": "Identity - Leaked API key used from new ASN"},
        "severity": "high",
        "identity": {"kind": "service_account", "id": "okta:0oa1b2c3", "name": "svc-backup",
                     "provider": "okta", "tier": "tier1", "owner": "platform-team", "tags": ["prod"]},
        "ai": {"model": "es-ai-triage", "model_version": "2026.10", "score": 0.93,
               "verdict": "true_positive", "rationale": "free text"},
        "recommendations": [{"action": "revoke_sessions", "params": {}, "confidence": 0.91,
                             "rationale": "free text"}],
        "raw": {},
    }
    rec = overrides.pop("rec", None)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    if rec is not None:
        data["recommendations"] = [{**data["recommendations"][0], **rec}]
    return data


def make_alert(**overrides: Any) -> Alert:
    return Alert.model_validate(alert_dict(**overrides))


def make_policy(rules_yaml: str = "", extra: str = "", base: str = BASE_POLICY) -> Policy:
    text = base + extra + ("\nrules:\n" + rules_yaml if rules_yaml else "")
    return policy_from_text(text, "test.yaml")


def decide(policy: Policy, alert: Alert, state: Optional[GateState] = None) -> List[Decision]:
    return Gate(policy).decide(alert, state if state is not None else GateState(), NOW)


def decide_one(policy: Policy, alert: Alert, state: Optional[GateState] = None) -> Decision:
    decisions = decide(policy, alert, state)
    assert len(decisions) == 1
    return decisions[0]


def caps_of(decision: Decision) -> List[str]:
    return [c.invariant for c in decision.caps]


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def deep(data: Any) -> Any:
    return copy.deepcopy(data)


class CLI:
    """Run ``idgate`` in-process; stdin may be given as bytes."""

    def __init__(self, capsys: Any, monkeypatch: Any):
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def __call__(self, *argv: str, stdin: Optional[bytes] = None):
        from idgate.cli import main
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(stdin))))
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

"""What-if over history: decide the same alerts under policy P (and Q),
budgets simulated from empty over ``detected_at`` in input order."""
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional

from .gate import Gate, GateState
from .ingest import Item
from .policy import Policy

LEVELS = ("auto", "review", "advisory", "blocked")


@dataclass
class PolicyTally:
    version: str
    autonomy: Counter = field(default_factory=Counter)
    rules: Counter = field(default_factory=Counter)
    caps: Counter = field(default_factory=Counter)

    def to_dict(self) -> Dict[str, Any]:
        return {"policy_version": self.version,
                "autonomy": {level: self.autonomy.get(level, 0) for level in LEVELS},
                "rules": dict(self.rules.most_common()),
                "caps": dict(self.caps.most_common())}


@dataclass
class ReplayReport:
    alerts: int = 0
    recommendations: int = 0
    bad_records: int = 0
    p: Optional[PolicyTally] = None
    q: Optional[PolicyTally] = None
    transitions: Counter = field(default_factory=Counter)
    changed: int = 0
    changes: List[Dict[str, Any]] = field(default_factory=list)
    errors: List[Dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"alerts": self.alerts, "recommendations": self.recommendations,
                               "bad_records": self.bad_records, "policy": self.p.to_dict() if self.p else None}
        if self.q is not None:
            out["against"] = self.q.to_dict()
            out["changed"] = self.changed
            out["transitions"] = {"%s->%s" % k: v for k, v in self.transitions.most_common()}
            out["changes"] = self.changes
        out["errors"] = self.errors
        return out


def replay(items: Iterable[Item], policy: Policy, against: Optional[Policy] = None,
           keep_changes: int = 1000, keep_errors: int = 100,
           on_change: Optional[Callable[[Dict[str, Any]], None]] = None,
           tick: Optional[Callable[[], None]] = None) -> ReplayReport:
    report = ReplayReport(p=PolicyTally(policy.version), q=PolicyTally(against.version) if against else None)
    gate_p, state_p = Gate(policy), GateState()
    gate_q, state_q = (Gate(against), GateState()) if against else (None, None)
    # verdicts: the same decisions as Gate.decide, without the full records
    tally_p, tally_q = report.p, report.q
    for item in items:
        if tick:
            tick()
        if item.alert is None:
            report.bad_records += 1
            if len(report.errors) < keep_errors:
                report.errors.append(item.error_line())
            continue
        report.alerts += 1
        decisions_p = gate_p.verdicts(item.alert, state_p)
        report.recommendations += len(decisions_p)
        _count(tally_p, decisions_p)
        if gate_q is None:
            continue
        decisions_q = gate_q.verdicts(item.alert, state_q)
        _count(tally_q, decisions_q)
        for dp, dq in zip(decisions_p, decisions_q):
            if dp.autonomy != dq.autonomy:
                report.changed += 1
                report.transitions[(dp.autonomy, dq.autonomy)] += 1
                change = {"alert_id": item.alert.id, "recommendation_index": dp.recommendation_index,
                          "action": dp.action, "target": dp.target_id,
                          "from": dp.autonomy, "to": dq.autonomy,
                          "rule_from": dp.rule_id, "rule_to": dq.rule_id,
                          "caps_to": [c.invariant for c in dq.caps]}
                if len(report.changes) < keep_changes:
                    report.changes.append(change)
                if on_change:
                    on_change(change)
    return report


def _count(tally: Any, decisions: List[Any]) -> None:
    for d in decisions:
        tally.autonomy[d.autonomy] += 1
        tally.rules[d.rule_id or "(no rule: defaults)"] += 1
        for c in d.caps:
            tally.caps[c.invariant] += 1

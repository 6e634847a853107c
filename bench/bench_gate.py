"""Gate decisions/s for a 100-rule policy, side by side with cedarpy.

    python bench/bench_gate.py [--alerts 20000] [--rules 100]

Fairness: both sides decide the same recommendations under equivalent rules
(one Cedar ``permit`` per idgate rule, its id as annotation; the winner is
the least autonomy among the permits that matched, ties to the first, as in
idgate). Both are pre-parsed (idgate Policy / Cedar PolicySet + Entities),
requests are built before timing, and Cedar gets its batch API. idgate does
more per decision (invariants, budgets, a Decision object). Before timing,
the winning rule of every request is checked to be the same on both sides.
"""
import argparse
import json
import os
import random
import sys
import time
from typing import Any, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_alerts  # noqa: E402

import cedarpy  # noqa: E402

from idgate.gate import Gate, GateState  # noqa: E402
from idgate.model import AUTONOMY_RANK, Alert  # noqa: E402
from idgate.policy import policy_from_text  # noqa: E402

LEVELS = ["auto", "review", "advisory", "blocked"]


def make_rules(n: int, seed: int = 11) -> List[Dict[str, Any]]:
    rnd = random.Random(seed)
    rules = []
    for i in range(n):
        when: Dict[str, Any] = {}
        for key in rnd.sample(["action", "identity.kind", "severity", "confidence", "identity.name",
                               "source.platform", "identity.tags"], rnd.randint(2, 4)):
            if key == "action":
                when[key] = rnd.sample(make_alerts.ACTIONS, rnd.randint(1, 3))
            elif key == "identity.kind":
                when[key] = rnd.sample(make_alerts.KINDS, rnd.randint(1, 3))
            elif key == "severity":
                when[key] = rnd.sample(make_alerts.SEVERITIES, rnd.randint(1, 3))
            elif key == "confidence":
                when[key] = "%s %.2f" % (rnd.choice([">=", ">", "<"]), rnd.uniform(0.3, 0.95))
            elif key == "identity.name":
                when[key] = rnd.choice(["svc-*", "*-bot", "breakglass-*", "payments-api", "alice"])
            elif key == "source.platform":
                when[key] = rnd.choice(make_alerts.SOURCES)[0]
            else:
                when[key] = rnd.sample(["prod", "pci", "crown-jewel"], rnd.randint(1, 2))
        rules.append({"id": "r%03d" % i, "when": when, "autonomy": rnd.choice(LEVELS)})
    return rules


def idgate_policy(rules: List[Dict[str, Any]]) -> str:
    sources = [{"id": p, "match": {"source.platform": p}, "mode": "workload", "max_autonomy": "auto"}
               for p, _ in make_alerts.SOURCES]
    return json.dumps({"version": 1, "ai_sources": sources, "circuit_breaker": None, "rules": rules})


def _cedar_str(s: str) -> str:
    return json.dumps(s)


def cedar_condition(key: str, value: Any) -> str:
    if key == "action":
        return "[%s].contains(context.action)" % ", ".join(_cedar_str(v) for v in value)
    if key == "identity.kind":
        return "[%s].contains(context.kind)" % ", ".join(_cedar_str(v) for v in value)
    if key == "severity":
        return "(context has severity && [%s].contains(context.severity))" % ", ".join(_cedar_str(v) for v in value)
    if key == "confidence":
        op, num = value.split()
        fn = {">=": "greaterThanOrEqual", ">": "greaterThan", "<": "lessThan"}[op]
        return "(context has confidence && context.confidence.%s(decimal(\"%s\")))" % (fn, num)
    if key == "identity.name":
        return "(context has name && context.name like %s)" % _cedar_str(value)
    if key == "source.platform":
        return "context.platform == %s" % _cedar_str(value)
    if key == "identity.tags":
        return "context.tags.containsAny([%s])" % ", ".join(_cedar_str(v) for v in value)
    raise ValueError(key)


def cedar_policies(rules: List[Dict[str, Any]]) -> str:
    out = []
    for r in rules:
        conds = " && ".join(cedar_condition(k, v) for k, v in r["when"].items())
        out.append('@id("%s")\npermit(principal, action, resource) when { %s };' % (r["id"], conds))
    return "\n".join(out)


def cedar_request(alert: Alert, index: int) -> Dict[str, Any]:
    rec = alert.recommendations[index]
    conf = rec.confidence if rec.confidence is not None else alert.ai.score
    ctx: Dict[str, Any] = {"action": rec.action, "kind": alert.identity.kind, "platform": alert.source.platform,
                           "tags": list(alert.identity.tags)}
    if alert.severity is not None:
        ctx["severity"] = alert.severity
    if conf is not None:
        # Cedar decimals have 4 places; the generator writes 3
        ctx["confidence"] = {"__extn": {"fn": "decimal", "arg": "%.4f" % conf}}
    if alert.identity.name is not None:
        ctx["name"] = alert.identity.name
    return {"principal": 'Identity::"%s"' % alert.identity.id, "action": 'Action::"decide"',
            "resource": 'Alert::"%s"' % alert.id, "context": ctx}


def cedar_winner(result: Any, rank: Dict[str, Tuple[int, int, str]]) -> Any:
    matched = result.diagnostics.reasons
    if not matched:
        return None
    return min(rank[pid] for pid in matched)[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=20000)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    args = ap.parse_args()

    rules = make_rules(args.rules)
    policy = policy_from_text(idgate_policy(rules), "bench.yaml")
    alerts = [Alert.model_validate(a) for a in make_alerts.alerts(args.alerts, seed=3)]
    # one recommendation per alert, so requests and decisions line up 1:1
    for a in alerts:
        del a.recommendations[1:]
    policy_set = cedarpy.PolicySet.from_str(cedar_policies(rules)) if hasattr(cedarpy, "PolicySet") else None
    entities = cedarpy.Entities.from_json_str("[]")
    requests = [cedar_request(a, 0) for a in alerts]
    # Cedar names the permits it matched policy0, policy1, ... in text order
    rank = {"policy%d" % i: (AUTONOMY_RANK[r["autonomy"]], i, r["id"]) for i, r in enumerate(rules)}

    # equivalence check (not timed)
    gate = Gate(policy)
    results = cedarpy.is_authorized_batch(requests, policy_set, entities)
    mismatches = 0
    for a, res in zip(alerts, results):
        ours = gate.decide(a, GateState())[0].rule_id
        if ours != cedar_winner(res, rank):
            mismatches += 1
    matched = sum(1 for res in results if res.diagnostics.reasons)
    assert mismatches == 0, "%d requests decided differently" % mismatches

    def run_idgate() -> float:
        g, state = Gate(policy), GateState()
        t = time.perf_counter()
        for a in alerts:
            g.decide(a, state)
        return time.perf_counter() - t

    def run_cedar() -> float:
        t = time.perf_counter()
        res = cedarpy.is_authorized_batch(requests, policy_set, entities)
        for r in res:
            cedar_winner(r, rank)
        return time.perf_counter() - t

    ours = min(run_idgate() for _ in range(args.repeat))
    theirs = min(run_cedar() for _ in range(args.repeat))
    n = len(alerts)
    out = {"rules": args.rules, "decisions": n, "requests_matching_a_rule": matched,
           "idgate_per_s": round(n / ours), "cedarpy_per_s": round(n / theirs),
           "ratio": round(theirs / ours, 2), "target_ratio": 5.0,
           "python": sys.version.split()[0], "cedarpy": getattr(cedarpy, "__version__", "?")}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench_gate.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    print("gate vs cedarpy: %d rules, %d decisions (%d matching a rule), same winners on both sides"
          % (args.rules, n, matched))
    print("%-10s %14s" % ("engine", "decisions/s"))
    print("%-10s %14s" % ("idgate", format(out["idgate_per_s"], ",")))
    print("%-10s %14s" % ("cedarpy", format(out["cedarpy_per_s"], ",")))
    print("ratio idgate/cedarpy: %.2fx (target >= 5x)" % out["ratio"])


if __name__ == "__main__":
    main()

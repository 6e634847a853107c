"""The gate: alert + policy + budget state → one Decision per recommendation.

Pure code: no I/O, no clock (the caller passes ``now``), deterministic. The
least autonomy among matching rules wins, then the invariants of SPEC.md cap
the result in order; every cap that lowers it is listed with its reason.
Budgets and the circuit breaker live in a small ``GateState`` that the caller
owns: ``evaluate``/``replay`` simulate it from empty, the pipeline persists it.
"""
import bisect
import hashlib
from datetime import datetime, timezone
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from .catalog import CATALOG
from .model import AUTONOMY_BY_RANK, AUTONOMY_RANK, Alert, Cap, Decision, Recommendation, construct
from .policy.compiled import CompiledAISource, CompiledRule, Policy
from .policy.durations import human

AUTO = AUTONOMY_RANK["auto"]
REVIEW = AUTONOMY_RANK["review"]
ADVISORY = AUTONOMY_RANK["advisory"]
BLOCKED = AUTONOMY_RANK["blocked"]


class GateState:
    """Budget windows and the circuit breaker.

    Windows hold the ``detected_at`` (epoch seconds) of the auto decisions
    they counted, sorted, pruned to the longest window seen.
    """

    def __init__(self) -> None:
        self.windows: Dict[str, List[float]] = {}
        self.breaker_tripped: Optional[Dict[str, Any]] = None

    def count(self, key: str, t: float, per: float) -> int:
        times = self.windows.get(key)
        if not times:
            return 0
        # decisions in (t - per, t]; later ones (out-of-order input) count too
        return len(times) - bisect.bisect_right(times, t - per)

    def add(self, key: str, t: float, per: float) -> None:
        times = self.windows.setdefault(key, [])
        bisect.insort(times, t)
        cut = bisect.bisect_right(times, times[-1] - per)
        if cut > 64:  # prune in batches: cheap and bounded
            del times[:cut]

    def trip(self, at: datetime, reason: str) -> None:
        self.breaker_tripped = {"at": at.isoformat(), "reason": reason}

    def reset_breaker(self) -> None:
        self.breaker_tripped = None

    def to_dict(self) -> Dict[str, Any]:
        return {"windows": {k: list(v) for k, v in self.windows.items()},
                "breaker_tripped": self.breaker_tripped}

    @classmethod
    def from_dict(cls, data: Optional[Dict[str, Any]]) -> "GateState":
        state = cls()
        if data:
            state.windows = {k: sorted(v) for k, v in (data.get("windows") or {}).items()}
            state.breaker_tripped = data.get("breaker_tripped")
        return state


BREAKER_KEY = "__circuit_breaker__"


def decision_id(alert_id: str, index: int, policy_version: str) -> str:
    digest = hashlib.sha256(("%s\x00%d\x00%s" % (alert_id, index, policy_version)).encode()).hexdigest()
    return "dec-" + digest[:24]


class Verdict(NamedTuple):
    recommendation_index: int
    action: str
    target_id: Optional[str]
    autonomy: str
    rule_id: Optional[str]
    caps: List[Cap]


class Trace:
    """What explain shows: every matching rule and every step of the caps."""

    def __init__(self) -> None:
        self.matched: List[CompiledRule] = []
        self.ai_source: Optional[str] = None
        self.steps: List[str] = []


class Gate:
    def __init__(self, policy: Policy):
        self.policy = policy
        # which AI source an alert gets depends only on the fields the
        # sources' conditions read, and few distinct combinations occur
        self._source_getters = tuple({c.key: c.getter for src in policy.ai_sources
                                      for c in src.conditions}.values())
        self._source_memo: Dict[Tuple[Any, ...], Optional[CompiledAISource]] = {}

    def decide(self, alert: Alert, state: GateState, now: Optional[datetime] = None,
               traces: Optional[List[Trace]] = None) -> List[Decision]:
        """Decide every recommendation of ``alert``; updates ``state``."""
        now = now or datetime.now(timezone.utc)
        source = self._ai_source(alert)
        identity_protection = self._identity_protection(alert) if self.policy.protections else None
        identity = alert.identity
        # the same for every recommendation of the alert: built once
        shared = ({"kind": identity.kind, "id": identity.id, "name": identity.name,
                   "provider": identity.provider, "tier": identity.tier},
                  "ai:%s" % (alert.ai.model or alert.source.platform))
        out = []
        for index, rec in enumerate(alert.recommendations):
            trace = Trace() if traces is not None else None
            verdict = self._evaluate(alert, rec, source, identity_protection, state, trace)
            out.append(self._package(alert, index, rec, source, shared, now, verdict))
            if traces is not None:
                traces.append(trace)  # type: ignore[arg-type]
        return out

    def verdicts(self, alert: Alert, state: GateState) -> List[Verdict]:
        """What ``decide`` decides, without building the full records:
        replays tally millions of these."""
        source = self._ai_source(alert)
        identity_protection = self._identity_protection(alert) if self.policy.protections else None
        out = []
        for index, rec in enumerate(alert.recommendations):
            level, winner, caps, _ = self._evaluate(alert, rec, source, identity_protection, state, None)
            out.append(Verdict(index, rec.action, rec.target.id if rec.target is not None else None,
                               AUTONOMY_BY_RANK[level], winner.id if winner else None, caps))
        return out

    def _ai_source(self, alert: Alert) -> Optional[CompiledAISource]:
        values = tuple(_hashable(get(alert, None, None)) for get in self._source_getters)
        try:
            return self._source_memo[values]
        except KeyError:
            pass
        found = None
        for src in self.policy.ai_sources:
            if all(c.matches(alert, None, None) for c in src.conditions):
                found = src
                break
        if len(self._source_memo) >= 4096:  # bounded: a replay of odd data stays flat
            self._source_memo.clear()
        self._source_memo[values] = found
        return found

    def _evaluate(self, alert: Alert, rec: Recommendation, source: Optional[CompiledAISource],
                  identity_protection: Optional[str], state: GateState,
                  trace: Optional[Trace]) -> Tuple[int, Optional[CompiledRule], List[Cap], Optional[float]]:
        """The decision itself: (autonomy rank, winning rule, caps, confidence)."""
        policy = self.policy
        action = rec.action
        spec = CATALOG.get(action)
        conf = rec.confidence if rec.confidence is not None else alert.ai.score

        candidates = policy.rules_by_action.get(action, policy.rules_in_order)
        winner = None
        for rule in candidates:
            for cond in rule.conditions:
                if not cond.test(cond.getter(alert, rec, conf)):
                    break
            else:
                if trace is None:
                    winner = rule
                    break
                trace.matched.append(rule)
                winner = winner or rule
        level = winner.rank if winner else policy.defaults_rank
        if trace is not None:
            trace.ai_source = source.id if source else None
            trace.steps.append("rule %s → %s" % (winner.id, winner.autonomy) if winner
                               else "no rule matched → defaults.autonomy %s" % AUTONOMY_BY_RANK[level])
        caps: List[Cap] = []

        def cap(limit: int, invariant: str, reason: str) -> None:
            nonlocal level
            if level > limit:
                if trace is not None:
                    trace.steps.append("%s caps %s → %s: %s" % (
                        invariant, AUTONOMY_BY_RANK[level], AUTONOMY_BY_RANK[limit], reason))
                level = limit
                caps.append(construct(Cap, {"invariant": invariant, "reason": reason}))

        if spec is None:
            # recorded even when a rule already said blocked: the decision
            # must carry the error for this recommendation
            reason = "%r is not an action of the catalog" % action[:80]
            if trace is not None:
                trace.steps.append("unknown_action caps %s → blocked: %s" % (AUTONOMY_BY_RANK[level], reason))
            level = BLOCKED
            caps.append(construct(Cap, {"invariant": "unknown_action", "reason": reason}))
        else:
            if policy.kill_switch:
                cap(ADVISORY, "kill_switch", "the kill switch is on")
            if source is None:
                cap(ADVISORY, "ai_source", "AI source not listed (platform %s, model %s)" % (
                    alert.source.platform, alert.ai.model or "unknown"))
            elif level > source.cap_rank:
                why = "AI source %s allows at most %s" % (source.id, source.max_autonomy)
                if source.mode and AUTONOMY_BY_RANK[source.cap_rank] != source.max_autonomy:
                    why = "AI source %s is a %s: at most %s" % (
                        source.id, source.mode, AUTONOMY_BY_RANK[source.cap_rank])
                cap(source.cap_rank, "ai_source", why)
            if conf is None:
                cap(policy.missing_score_rank, "missing_score",
                    "neither a recommendation confidence nor an AI score")
            protected = self._protected(alert, rec, identity_protection)
            if protected:
                cap(REVIEW, "protected_identity", protected)
            if spec.raises_access:
                cap(REVIEW, "raises_access", "%s raises access" % action)
            if spec.irreversible and not (winner is not None and winner.allow_irreversible and not protected):
                cap(REVIEW, "irreversible", "%s cannot be undone" % action)
            if level == AUTO:
                self._budgets(alert, action, state, cap)

        return level, winner, caps, conf

    def _package(self, alert: Alert, index: int, rec: Recommendation, source: Optional[CompiledAISource],
                 shared: Tuple[Dict[str, Any], str], now: datetime,
                 verdict: Tuple[int, Optional[CompiledRule], List[Cap], Optional[float]]) -> Decision:
        """The full record the pipeline stores and acts on."""
        level, winner, caps, conf = verdict
        policy = self.policy
        action = rec.action
        spec = CATALOG.get(action)
        target = rec.target
        return construct(Decision, {
            "decision_id": decision_id(alert.id, index, policy.version),
            "alert_id": alert.id, "recommendation_index": index, "action": action,
            "target": _as_dict(target) if target is not None else {},
            "params": rec.params, "autonomy": AUTONOMY_BY_RANK[level],
            "rule_id": winner.id if winner else None, "caps": caps,
            "policy_version": policy.version, "decided_at": now,
            "identity": shared[0],
            "confidence": conf, "ai_source": source.id if source else None,
            "requester": shared[1],
            "detected_at": alert.detected_at,
            "ticket": winner.ticket if winner else None,
            "approvals_required": winner.approvals_required if winner and winner.approvals_required else 1,
            "approver_roles": list(winner.approver_roles) if winner else [],
            "expires_in_s": winner.expires_in_s if winner else None,
            "confirm_within_s": winner.confirm_within_s if winner and level == AUTO else None,
            "error": caps[0].reason if spec is None else None,
        })

    def _identity_protection(self, alert: Alert) -> Optional[str]:
        """Once per alert: the identity is the same for every recommendation."""
        for i, p in enumerate(self.policy.protections):
            for c in p.on_identity:
                if not c.test(c.getter(alert, None, None)):
                    break
            else:
                return "identity %s matches protected_identities[%d]" % (alert.identity.id, i)
        return None

    def _protected(self, alert: Alert, rec: Recommendation, identity_protection: Optional[str]) -> Optional[str]:
        if identity_protection is not None:
            return identity_protection
        if rec.target is None or rec.target.id == alert.identity.id:
            return None
        for i, p in enumerate(self.policy.protections):
            if all(c.matches(alert, rec, None) for c in p.on_target):
                return "target %s matches protected_identities[%d]" % (rec.target.id, i)
        return None

    def _budgets(self, alert: Alert, action: str, state: GateState, cap: Any) -> None:
        policy = self.policy
        t = alert.detected_at.timestamp()
        budgets = policy.budgets_by_action.get(action, ())
        for b in budgets:
            if state.count(b.id, t, b.per_s) >= b.max:
                cap(AUTONOMY_RANK[b.on_exceed], "budget",
                    "budget %s reached: %d auto %s per %s" % (b.id, b.max, "/".join(sorted(b.actions)),
                                                              human(b.per_s)))
                return
        if policy.breaker is not None:
            limit, per = policy.breaker
            if state.breaker_tripped is None and state.count(BREAKER_KEY, t, per) >= limit:
                state.trip(alert.detected_at, "%d auto decisions within %s" % (limit, human(per)))
            if state.breaker_tripped is not None:
                cap(REVIEW, "circuit_breaker", "circuit breaker tripped at %s (%s); a human must reset it" % (
                    state.breaker_tripped["at"], state.breaker_tripped["reason"]))
                return
            state.add(BREAKER_KEY, t, per)
        for b in budgets:
            state.add(b.id, t, b.per_s)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _as_dict(model: Any) -> Dict[str, Any]:
    out = dict(model.__dict__)
    if model.__pydantic_extra__:
        out.update(model.__pydantic_extra__)
    return out


def decide(policy: Policy, alert: Alert, state: Optional[GateState] = None) -> List[Decision]:
    """One-shot convenience: decide an alert against a fresh or given state."""
    return Gate(policy).decide(alert, state if state is not None else GateState())

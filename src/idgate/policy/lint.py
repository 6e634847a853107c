"""Policy lint: findings that are legal config but probably wrong.

Every check is conservative: a finding is reported only when it can be
proven from the compiled conditions (literals, globs, comparisons) and the
fixed vocabularies (severity, identity kinds, the action catalog, scores in
[0, 1]). When in doubt a check stays silent, so a finding is worth reading.
"""
import difflib
import fnmatch
import math
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from ..catalog import CATALOG, NOTIFY
from ..model import AUTONOMY_RANK
from .compiled import CompiledRule, Policy
from .conditions import ENUMS, Condition

AUTO = AUTONOMY_RANK["auto"]
REVIEW = AUTONOMY_RANK["review"]

# values the gate reads are floats in [0, 1] (0-100 sources are scaled)
SCORE_KEYS = ("confidence", "ai.score")
# fields the model types as text: a number or boolean literal never equals one
TEXT_KEYS = frozenset([
    "source.platform", "source.instance", "source.record_id", "rule.id",
    "identity.id", "identity.name", "identity.provider", "identity.tier", "identity.owner",
    "identity.tags", "ai.model", "ai.model_version", "ai.verdict",
    "target.id", "target.provider", "target.name",
]) | frozenset(ENUMS)
# keys whose value is never absent, so a condition admitting every value of
# the vocabulary admits every alert
ALWAYS_PRESENT = ("identity.kind", "action")


@dataclass(frozen=True)
class Finding:
    rule_id: Optional[str]   # the rule id, or the budget id for budget findings
    code: str
    message: str

    def to_dict(self) -> Dict[str, Any]:
        return {"rule_id": self.rule_id, "code": self.code, "message": self.message}


def lint(policy: Policy) -> List[Finding]:
    findings: List[Finding] = []
    dead: Set[str] = set()
    for rule in policy.rules:
        reasons = _impossible_values(rule, findings)
        if reasons:
            dead.add(rule.id)
            findings.append(Finding(rule.id, "never-matches", "can never match: " + "; ".join(reasons)))
    live = [r for r in policy.rules if r.id not in dead]
    findings.extend(_shadowed(live))
    for rule in live:
        if rule.rank == AUTO:
            findings.extend(_auto_checks(policy, rule))
    findings.extend(_budget_checks(policy, live))
    if policy.kill_switch:
        findings.append(Finding(None, "kill-switch-on",
                                "kill_switch is true: no decision goes above advisory"))
    return findings


# -- what a condition admits ---------------------------------------------

Interval = Tuple[float, bool, float, bool]  # low, low closed, high, high closed


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _enum_admitted(cond: Condition) -> Optional[FrozenSet[str]]:
    """The vocabulary values ``cond`` admits, for closed-vocabulary keys."""
    vocab = ENUMS.get(cond.key)
    if vocab is None:
        return None
    return frozenset(v for v in vocab if cond.admits(v))


def _intervals(cond: Condition) -> Optional[List[Interval]]:
    """The numbers ``cond`` admits as intervals, when it only admits numbers
    (a numeric comparison, or number literals); None otherwise."""
    inf = math.inf
    if cond.op is not None:
        if not _is_number(cond.operand):
            return None
        x = float(cond.operand)
        return {
            ">=": [(x, True, inf, False)], ">": [(x, False, inf, False)],
            "<=": [(-inf, False, x, True)], "<": [(-inf, False, x, False)],
            "==": [(x, True, x, True)],
            "!=": [(-inf, False, x, False), (x, False, inf, False)],
        }[cond.op]
    if cond.globs or not all(_is_number(v) for v in cond.literals):
        return None
    return [(float(v), True, float(v), True) for v in sorted(cond.literals)]


def _clip(intervals: List[Interval], low: float = 0.0, high: float = 1.0) -> List[Interval]:
    out = []
    for lo, lo_c, hi, hi_c in intervals:
        if lo < low:
            lo, lo_c = low, True
        if hi > high:
            hi, hi_c = high, True
        if lo < hi or (lo == hi and lo_c and hi_c):
            out.append((lo, lo_c, hi, hi_c))
    return out


def _inside(a: Interval, b: Interval) -> bool:
    (alo, alc, ahi, ahc), (blo, blc, bhi, bhc) = a, b
    low_ok = blo < alo or (blo == alo and (blc or not alc))
    high_ok = bhi > ahi or (bhi == ahi and (bhc or not ahc))
    return low_ok and high_ok


def _score_domain(key: str, intervals: List[Interval]) -> List[Interval]:
    return _clip(intervals) if key in SCORE_KEYS else intervals


def _impossible_values(rule: CompiledRule, findings: List[Finding]) -> List[str]:
    """Why ``rule`` can never match (empty: it can). Values of a list that
    can never occur, while others can, are reported as their own finding."""
    reasons = []
    for cond in rule.conditions:
        why, partial = _condition_problems(cond)
        if why:
            reasons.append(why)
        for note in partial:
            findings.append(Finding(rule.id, "impossible-value", note))
    return reasons


def _condition_problems(cond: Condition) -> Tuple[Optional[str], List[str]]:
    key = cond.key
    admitted = _enum_admitted(cond)
    if admitted is not None:
        vocab = ENUMS[key]
        if cond.op is None:
            bad = [v for v in cond.literals if v not in vocab]
            bad_globs = [g for g in cond.globs if not any(fnmatch.fnmatchcase(v, g) for v in vocab)]
            notes = ["%s: %s never occurs%s" % (key, _show(v), _did_you_mean(v, vocab)) for v in bad]
            notes += ["%s: %r matches no %s" % (key, g, _vocab_name(key)) for g in bad_globs]
        else:
            notes = []
        if not admitted:
            if cond.op is not None:
                return "%s: %r admits no %s (%s)" % (key, cond.raw, _vocab_name(key), ", ".join(sorted(vocab))), []
            return "; ".join(notes) if notes else "%s admits nothing" % key, []
        if key == "action" and notes:
            notes = [n + " (an action outside the catalog is always blocked)" for n in notes]
        return None, notes
    if key in SCORE_KEYS:
        if cond.op is not None and not _is_number(cond.operand):
            if cond.op == "==":
                return "%s is a number: %r never equals it" % (key, cond.raw), []
            return None, []
        numbers = _intervals(cond)
        if numbers is None:
            return "%s is a number in [0, 1]: %r never matches it" % (key, cond.raw), []
        if not _clip(numbers):
            return "%s is in [0, 1] (0-100 scores are scaled): %r is outside%s" % (
                key, cond.raw, _scaled_hint(cond)), []
        return None, []
    if key in TEXT_KEYS and cond.op is None:
        bad = [v for v in cond.literals if not isinstance(v, str)]
        if bad and len(bad) == len(cond.literals) and not cond.globs:
            return "%s is text: %s never equals it (quote it: '%s')" % (
                key, ", ".join(_show(v) for v in bad), bad[0]), []
        return None, ["%s is text: %s never equals it (quote it)" % (key, _show(v)) for v in bad]
    return None, []


def _show(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


def _did_you_mean(value: Any, vocab: Iterable[str]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, sorted(vocab), n=1, cutoff=0.6)
    return " (did you mean %r?)" % close[0] if close else ""


def _vocab_name(key: str) -> str:
    return {"action": "action of the catalog", "severity": "severity"}.get(key, "identity kind")


def _scaled_hint(cond: Condition) -> str:
    if cond.op is not None and _is_number(cond.operand) and 1 < cond.operand <= 100:
        return " (did you mean %s %g?)" % (cond.op, cond.operand / 100.0)
    return ""


# -- shadowing ------------------------------------------------------------

def _condition_within(narrow: Condition, broad: Condition) -> bool:
    """Every value ``narrow`` admits is admitted by ``broad`` (provably)."""
    key = narrow.key
    if key in ENUMS:
        a, b = _enum_admitted(narrow), _enum_admitted(broad)
        return a is not None and b is not None and a <= b
    n_int, b_int = _intervals(narrow), _intervals(broad)
    if n_int is not None and b_int is not None:
        if narrow.op is None and broad.op is None:
            return narrow.literals <= broad.literals
        n_int = _score_domain(key, n_int)
        return all(any(_inside(a, b) for b in b_int) for a in n_int)
    if narrow.op is not None or broad.op is not None:
        # a comparison against text or mixed values: only identical ones
        return (narrow.op, narrow.operand) == (broad.op, broad.operand)
    if not all(broad.admits(v) for v in narrow.literals):
        return False
    return all(_glob_within(g, broad) for g in narrow.globs)


def _glob_within(glob: str, broad: Condition) -> bool:
    if glob in broad.globs:
        return True
    prefix = _literal_prefix(glob)
    for g in broad.globs:
        # "svc-*" covers every glob whose fixed prefix starts with "svc-"
        if g.endswith("*") and not (set(g[:-1]) & set("*?[")) and prefix.startswith(g[:-1]):
            return True
    return False


def _literal_prefix(glob: str) -> str:
    for i, ch in enumerate(glob):
        if ch in "*?[":
            return glob[:i]
    return glob


def _admits_everything(cond: Condition) -> bool:
    return cond.key in ALWAYS_PRESENT and _enum_admitted(cond) == ENUMS[cond.key]


def _implies(narrow: CompiledRule, broad: CompiledRule) -> bool:
    """Every recommendation ``narrow`` matches is matched by ``broad``."""
    for b in broad.conditions:
        n = narrow.condition(b.key)
        if n is None:
            if not _admits_everything(b):
                return False
        elif not _condition_within(n, b):
            return False
    return True


def _shadowed(rules: Sequence[CompiledRule]) -> List[Finding]:
    out = []
    for rule in rules:
        for other in rules:
            if other is rule:
                continue
            wins = other.rank < rule.rank or (other.rank == rule.rank and other.index < rule.index)
            if wins and _implies(rule, other):
                if other.rank < rule.rank:
                    why = ("never decides: rule %s (%s) matches everything it matches and "
                           "the least autonomy wins" % (other.id, other.autonomy))
                else:
                    why = ("never decides: rule %s (written earlier, also %s) matches everything "
                           "it matches and ties go to the first rule; its settings are never used"
                           % (other.id, other.autonomy))
                out.append(Finding(rule.id, "shadowed", why))
                break
    return out


# -- auto rules -----------------------------------------------------------

def _actions_of(rule: CompiledRule) -> List[str]:
    cond = rule.condition("action")
    return sorted(a for a in CATALOG if cond is None or cond.admits(a))


def _auto_checks(policy: Policy, rule: CompiledRule) -> List[Finding]:
    out = []
    actions = _actions_of(rule)
    notify_only = bool(actions) and all(CATALOG[a].effect == NOTIFY for a in actions)
    if rule.condition("confidence") is None and not notify_only:
        extra = " (it checks ai.score only; a recommendation's own confidence is ignored)" \
            if rule.condition("ai.score") is not None else ""
        out.append(Finding(rule.id, "auto-without-confidence",
                           "auto with no confidence condition: any score, however low, "
                           "acts automatically%s" % extra))
    kind, target_kind = rule.condition("identity.kind"), rule.condition("target.kind")
    if not notify_only and (kind is None or kind.admits("human")) and \
            (target_kind is None or target_kind.admits("human")):
        out.append(Finding(rule.id, "auto-matches-humans",
                           "auto can act on human identities (%s); restrict identity.kind to "
                           "non-human kinds" % ("identity.kind admits human" if kind is not None
                                               else "no identity.kind condition")))
    reachable = [a for a in actions if _auto_possible(a, rule)]
    if actions and not reachable:
        out.append(Finding(rule.id, "auto-unreachable",
                           "can never act automatically: %s" % _why_capped(actions, rule)))
    elif reachable and not _some_ai_source_allows_auto(policy, rule):
        out.append(Finding(rule.id, "auto-unreachable",
                           "can never act automatically: no AI source that can match it "
                           "may reach auto (not listed, or max_autonomy/mode below auto)"))
    return out


def _auto_possible(action: str, rule: CompiledRule) -> bool:
    spec = CATALOG[action]
    if spec.raises_access:
        return False
    return not spec.irreversible or rule.allow_irreversible


def _why_capped(actions: List[str], rule: CompiledRule) -> str:
    restore = [a for a in actions if CATALOG[a].raises_access]
    irreversible = [a for a in actions if CATALOG[a].irreversible]
    parts = []
    if restore:
        parts.append("%s raise%s access (at most review)" % (", ".join(restore), "" if len(restore) > 1 else "s"))
    if irreversible and not rule.allow_irreversible:
        parts.append("%s cannot be undone and the rule does not say allow_irreversible: true"
                     % ", ".join(irreversible))
    return "; ".join(parts)


def _some_ai_source_allows_auto(policy: Policy, rule: CompiledRule) -> bool:
    for src in policy.ai_sources:
        if src.cap_rank < AUTO:
            continue
        if not any(_disjoint(rule.condition(c.key), c) for c in src.conditions):
            return True
    return False


def _disjoint(a: Optional[Condition], b: Condition) -> bool:
    """No value satisfies both (provably); False when unsure."""
    if a is None:
        return False
    if a.key in ENUMS:
        ea, eb = _enum_admitted(a), _enum_admitted(b)
        return ea is not None and eb is not None and not (ea & eb)
    if a.op is None and not a.globs:
        return not any(b.admits(v) for v in a.literals)
    if b.op is None and not b.globs:
        return not any(a.admits(v) for v in b.literals)
    return False


# -- budgets --------------------------------------------------------------

def _budget_checks(policy: Policy, live: Sequence[CompiledRule]) -> List[Finding]:
    out = []
    producible: Set[str] = set()
    for rule in live:
        if rule.rank == AUTO:
            producible.update(a for a in _actions_of(rule) if _auto_possible(a, rule))
    for budget in policy.budgets:
        never = sorted(a for a in budget.actions if a not in producible)
        if never:
            out.append(Finding(budget.id, "budget-unused-action",
                               "budget %s counts %s, which no auto rule can produce" % (
                                   budget.id, ", ".join(never))))
        if budget.max == 0:
            out.append(Finding(budget.id, "budget-zero",
                               "budget %s has max 0: every auto decision for its actions "
                               "becomes %s" % (budget.id, budget.on_exceed)))
    return out

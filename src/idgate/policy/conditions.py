"""Conditions compiled once at load: dotted path → getter, value → test.

A condition is evaluated against an (alert, recommendation, confidence)
triple. Only structured fields can be named: free text (rationales, rule
names, raw platform fields) is refused at load, so it can never steer a
decision.
"""
import difflib
import fnmatch
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable, FrozenSet, Optional, Tuple

from ..catalog import CATALOG
from ..model import SEVERITY_RANK, IdentityKind

Getter = Callable[[Any, Any, Optional[float]], Any]

_ALERT_FIELDS = {
    "source": ("platform", "instance", "record_id"),
    "rule": ("id",),
    "identity": ("kind", "id", "name", "provider", "tier", "owner", "tags"),
    "ai": ("model", "model_version", "score", "verdict"),
}
_TARGET_FIELDS = ("kind", "id", "provider", "name")
_FREE_TEXT = {"rationale", "ai.rationale", "rule.name", "description"}
# the closed vocabularies, so lint can tell a value that can never occur
ENUMS = {
    "severity": frozenset(SEVERITY_RANK),
    "identity.kind": frozenset(k.value for k in IdentityKind),
    "target.kind": frozenset(k.value for k in IdentityKind),
    "action": frozenset(CATALOG),
}

# every path a condition may name (params.* is open: params.<anything>)
KNOWN_PATHS = (["action", "confidence", "severity", "params.*"]
               + ["target.%s" % f for f in _TARGET_FIELDS]
               + ["%s.%s" % (head, f) for head, fields in _ALERT_FIELDS.items() for f in fields])

_COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$")
_GLOB_CHARS = set("*?[")


class ConditionError(ValueError):
    pass


def _attr_chain(first: str, second: Optional[str]) -> Callable[[Any], Any]:
    if second is None:
        return lambda obj: getattr(obj, first, None)

    def get(obj: Any) -> Any:
        inner = getattr(obj, first, None)
        return None if inner is None else getattr(inner, second, None)
    return get


def resolve_path(path: str, scope: str = "recommendation") -> Getter:
    """A getter for ``path``. ``scope`` is ``recommendation`` (rules),
    ``alert`` (AI sources), or ``target`` (protected identities, read from
    the recommendation's target rather than the alert's identity)."""
    if path in _FREE_TEXT or path.endswith(".rationale") or path.startswith("raw"):
        raise ConditionError("free text and raw platform fields are never read by the gate")
    parts = path.split(".")
    head = parts[0]
    if head in ("action", "confidence", "target", "params"):
        if scope == "alert":
            raise ConditionError("an AI source is matched per alert: %r names a recommendation field" % path)
        if head == "action" and len(parts) == 1:
            return lambda alert, rec, conf: rec.action
        if head == "confidence" and len(parts) == 1:
            return lambda alert, rec, conf: conf
        if head == "target" and len(parts) == 2:
            name = parts[1]
            return lambda alert, rec, conf: getattr(rec.target, name, None)
        if head == "params" and len(parts) >= 2:
            keys = parts[1:]

            def get_param(alert: Any, rec: Any, conf: Any) -> Any:
                value: Any = rec.params
                for key in keys:
                    if not isinstance(value, dict):
                        return None
                    value = value.get(key)
                return value
            return get_param
        raise ConditionError("unknown key" + _closest(path))
    if path == "severity":
        return lambda alert, rec, conf: alert.severity
    if head in _ALERT_FIELDS and len(parts) == 2:
        name = parts[1]
        # identity may carry admin-mapped extra attributes (department, ...)
        if name not in _ALERT_FIELDS[head]:
            close = difflib.get_close_matches(name, _ALERT_FIELDS[head], n=1, cutoff=0.8)
            # identity may carry admin-mapped extra attributes (department,
            # ...), but one a letter away from a known field is a typo that
            # would silently never match
            if head != "identity" or close:
                raise ConditionError("unknown key (did you mean '%s.%s'?)" % (head, close[0]) if close
                                     else "unknown key (known: %s)" % ", ".join(
                                         "%s.%s" % (head, f) for f in _ALERT_FIELDS[head]))
        if head == "identity" and scope == "target":
            return lambda alert, rec, conf: getattr(rec.target, name, None)
        if head in ("identity", "ai", "source") and name in _ALERT_FIELDS[head]:
            # required objects, declared fields: never missing, so C-level attrgetter is safe
            fast = operator.attrgetter(path)
            return lambda alert, rec, conf: fast(alert)
        get = _attr_chain(head, name)
        return lambda alert, rec, conf: get(alert)
    raise ConditionError("unknown key" + _closest(path))


def _closest(path: str) -> str:
    close = difflib.get_close_matches(path, KNOWN_PATHS, n=1, cutoff=0.6)
    return " (did you mean %r?)" % close[0] if close else " (known: action, confidence, severity, " \
        "params.*, target.*, source.*, rule.id, identity.*, ai.*)"


@dataclass(frozen=True)
class Condition:
    """One compiled ``key: value`` pair. The fields other than ``test`` let
    lint reason about what the condition admits."""

    key: str
    getter: Getter
    test: Callable[[Any], bool]
    literals: FrozenSet[Any] = frozenset()
    globs: Tuple[str, ...] = ()
    op: Optional[str] = None
    operand: Any = None
    raw: Any = field(default=None, compare=False)

    def matches(self, alert: Any, rec: Any, conf: Optional[float]) -> bool:
        return self.test(self.getter(alert, rec, conf))

    def admits(self, value: Any) -> bool:
        """Whether a bare value satisfies the condition (used by lint)."""
        return self.test(value)


def _numeric(text: Any) -> Optional[float]:
    if isinstance(text, bool):
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _compare_test(key: str, op: str, operand_text: str) -> Tuple[Callable[[Any], bool], Any]:
    if key == "severity" and operand_text in SEVERITY_RANK:
        rank = SEVERITY_RANK[operand_text]
        cmp = _OPS[op]
        return (lambda v: v is not None and v in SEVERITY_RANK and cmp(SEVERITY_RANK[v], rank)), operand_text
    number = _numeric(operand_text)
    if number is not None:
        cmp = _OPS[op]

        def test_num(v: Any) -> bool:
            if v is None or isinstance(v, bool):
                return False
            if not isinstance(v, (int, float)):
                v = _numeric(v)
                if v is None:
                    return False
            return cmp(v, number)
        return test_num, number
    if op in ("==", "!="):
        want = operand_text.strip("'\"")
        if op == "==":
            return (lambda v: v is not None and str(v) == want), want
        return (lambda v: v is not None and str(v) != want), want
    raise ConditionError("%r compares with %s but %r is not a number%s" % (
        op + " " + operand_text, op, operand_text,
        " or a severity" if key == "severity" else ""))


_OPS = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def _literal_or_glob(values: Tuple[Any, ...]) -> Tuple[FrozenSet[Any], Tuple[str, ...]]:
    literals, globs = set(), []
    for v in values:
        if isinstance(v, str) and _GLOB_CHARS & set(v):
            globs.append(v)
        else:
            literals.add(v)
    return frozenset(literals), tuple(globs)


def compile_condition(key: str, value: Any, scope: str = "recommendation") -> Condition:
    getter = resolve_path(key, scope)
    if isinstance(value, str):
        m = _COMPARISON.match(value)
        if m:
            op, operand_text = m.group(1), m.group(2)
            test, operand = _compare_test(key, op, operand_text)
            return Condition(key, getter, test, op=op, operand=operand, raw=value)
    values = tuple(value) if isinstance(value, list) else (value,)
    if not values:
        raise ConditionError("an empty list matches nothing")
    literals, globs = _literal_or_glob(values)
    regex = re.compile("|".join("(?:%s)" % fnmatch.translate(g) for g in globs)).match if globs else None

    def one(v: Any) -> bool:
        if v in literals:
            return True
        return regex is not None and isinstance(v, str) and regex(v) is not None

    def test(v: Any) -> bool:
        if v is None:
            return False
        if isinstance(v, list):  # multi-valued (tags): any element
            return any(one(x) for x in v)
        return one(v)

    if not globs and len(literals) == 1:
        (only,) = tuple(literals)

        def test(v: Any) -> bool:  # noqa: F811 - the common case, made cheap
            if isinstance(v, list):
                return only in v
            return v == only and v is not None
    return Condition(key, getter, test, literals=literals, globs=globs, raw=value)

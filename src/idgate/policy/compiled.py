"""The policy as the gate uses it: validated, compiled, indexed, versioned."""
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from pydantic import ValidationError

from ..catalog import CATALOG
from ..errors import ConfigError
from ..model import AUTONOMY_RANK
from ..validation import first_error, format_loc
from ..yamlsafe import LocatedYAML, load_yaml, read_config_text
from .conditions import Condition, ConditionError, compile_condition
from .durations import seconds
from .schema import PolicyConfig, Rule

MODE_CAP = {"monitoring_assistant": "advisory", "delegated_operator": "review", "workload": "auto"}


@dataclass(frozen=True)
class CompiledRule:
    id: str
    index: int
    autonomy: str
    rank: int
    conditions: Tuple[Condition, ...]
    allow_irreversible: bool
    confirm_within_s: Optional[int]
    ticket: Optional[str]
    approvals_required: int
    approver_roles: Tuple[str, ...]
    expires_in_s: Optional[int]
    config: Rule

    def condition(self, key: str) -> Optional[Condition]:
        for c in self.conditions:
            if c.key == key:
                return c
        return None


@dataclass(frozen=True)
class CompiledAISource:
    id: str
    conditions: Tuple[Condition, ...]
    max_autonomy: str
    mode: Optional[str]
    # the tighter of max_autonomy and what the mode allows
    cap_rank: int


@dataclass(frozen=True)
class CompiledBudget:
    id: str
    actions: frozenset
    max: int
    per_s: int
    on_exceed: str


@dataclass(frozen=True)
class Protection:
    on_identity: Tuple[Condition, ...]
    on_target: Tuple[Condition, ...]


class Policy:
    """A loaded policy. Build it with :func:`load_policy` or :func:`policy_from_text`."""

    def __init__(self, config: PolicyConfig, located: Optional[LocatedYAML] = None, file: str = ""):
        self.config = config
        self.file = file
        self.version = policy_version(config)
        self.defaults_rank = AUTONOMY_RANK[config.defaults.autonomy]
        self.missing_score_rank = AUTONOMY_RANK[config.defaults.missing_score]
        self.kill_switch = config.kill_switch
        where = _Where(located, file)
        self.rules = tuple(self._compile_rules(where))
        self.ai_sources = tuple(self._compile_ai_sources(where))
        self.protections = tuple(self._compile_protections(where))
        self.budgets = tuple(self._compile_budgets(where))
        breaker = config.circuit_breaker
        self.breaker: Optional[Tuple[int, int]] = (breaker.max, seconds(breaker.per)) if breaker else None
        # restrictive first, then file order: the first match is the winner
        ordered = sorted(self.rules, key=lambda r: (r.rank, r.index))
        self.rules_by_action: Dict[str, Tuple[CompiledRule, ...]] = {
            action: tuple(r for r in ordered if _may_match_action(r, action)) for action in CATALOG
        }
        self.rules_in_order = tuple(ordered)
        self.budgets_by_action: Dict[str, Tuple[CompiledBudget, ...]] = {
            action: tuple(b for b in self.budgets if action in b.actions) for action in CATALOG
        }

    def _compile_rules(self, where: "_Where") -> List[CompiledRule]:
        out, seen = [], {}
        for i, rule in enumerate(self.config.rules):
            if rule.id in seen:
                raise where.error(("rules", i, "id"), "duplicate rule id %r (also rules[%d])" % (rule.id, seen[rule.id]))
            seen[rule.id] = i
            conds = where.conditions(rule.when, ("rules", i, "when"), "recommendation")
            approvals = rule.approvals
            out.append(CompiledRule(
                id=rule.id, index=i, autonomy=rule.autonomy, rank=AUTONOMY_RANK[rule.autonomy],
                conditions=_cheap_first(conds), allow_irreversible=rule.allow_irreversible,
                confirm_within_s=seconds(rule.confirm_within) if rule.confirm_within else None,
                ticket=rule.ticket,
                approvals_required=approvals.count if approvals else (1 if rule.autonomy == "review" else 0),
                approver_roles=tuple(approvals.roles) if approvals else (),
                expires_in_s=seconds(rule.expires_in) if rule.expires_in else None,
                config=rule))
        return out

    def _compile_ai_sources(self, where: "_Where") -> List[CompiledAISource]:
        out, seen = [], set()
        for i, src in enumerate(self.config.ai_sources):
            if src.id in seen:
                raise where.error(("ai_sources", i, "id"), "duplicate AI source id %r" % src.id)
            seen.add(src.id)
            conds = where.conditions(src.match, ("ai_sources", i, "match"), "alert")
            cap = AUTONOMY_RANK[src.max_autonomy]
            if src.mode:
                cap = min(cap, AUTONOMY_RANK[MODE_CAP[src.mode]])
            out.append(CompiledAISource(src.id, conds, src.max_autonomy, src.mode, cap))
        return out

    def _compile_protections(self, where: "_Where") -> List[Protection]:
        out = []
        for i, pattern in enumerate(self.config.protected_identities):
            loc = ("protected_identities", i)
            if not pattern:
                raise where.error(loc, "an empty pattern would protect every identity; "
                                       "name at least one key")
            on_identity = where.conditions(pattern, loc, "alert")
            on_target = tuple(compile_condition(k, v, "target") if k.startswith("identity.") else c
                              for (k, v), c in zip(pattern.items(), on_identity))
            out.append(Protection(on_identity, on_target))
        return out

    def _compile_budgets(self, where: "_Where") -> List[CompiledBudget]:
        out, seen = [], set()
        for i, b in enumerate(self.config.budgets):
            if b.id in seen:
                raise where.error(("budgets", i, "id"), "duplicate budget id %r" % b.id)
            seen.add(b.id)
            for j, action in enumerate(b.actions):
                if action not in CATALOG:
                    raise where.error(("budgets", i, "actions", j),
                                      "%r is not an action of the catalog" % action)
            out.append(CompiledBudget(b.id, frozenset(b.actions), b.max, seconds(b.per), b.on_exceed))
        return out

    def rule(self, rule_id: str) -> Optional[CompiledRule]:
        for r in self.rules:
            if r.id == rule_id:
                return r
        return None


class _Where:
    """Turns a compile problem at a data path into a file:line: key error."""

    def __init__(self, located: Optional[LocatedYAML], file: str):
        self.located, self.file = located, file

    def error(self, path: Tuple[Any, ...], message: str) -> ConfigError:
        if self.located is not None:
            return self.located.error(path, message)
        return ConfigError(message, self.file, 0, format_loc(path))

    def conditions(self, when: Dict[str, Any], loc: Tuple[Any, ...], scope: str) -> Tuple[Condition, ...]:
        out = []
        for key, value in when.items():
            try:
                out.append(compile_condition(key, value, scope))
            except ConditionError as exc:
                raise self.error(loc + (key,), str(exc)) from None
        return tuple(out)


def _may_match_action(rule: CompiledRule, action: str) -> bool:
    cond = rule.condition("action")
    return cond is None or cond.admits(action)


def _cheap_first(conds: Tuple[Condition, ...]) -> Tuple[Condition, ...]:
    # the action is already filtered by the index; test the rest in a stable order
    return tuple(sorted(conds, key=lambda c: c.key == "action"))


def policy_version(config: PolicyConfig) -> str:
    """SHA-256 of the normalised policy: defaults filled in, descriptions
    dropped, keys sorted. Reformatting or commenting the YAML keeps it."""
    body = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def policy_from_data(located: LocatedYAML) -> Policy:
    data = located.data
    if not isinstance(data, dict):
        raise ConfigError("the policy must be a mapping (version:, rules:, ...)", located.file, 1)
    try:
        config = PolicyConfig.model_validate(data)
    except ValidationError as exc:
        loc, message = first_error(exc, data, PolicyConfig)
        if "version" not in data and loc in ((), ("version",)):
            loc, message = ("version",), "required key is missing (write version: 1)"
        raise located.error(loc, message) from None
    return Policy(config, located, located.file)


def policy_from_text(text: str, file: str = "<policy>") -> Policy:
    return policy_from_data(load_yaml(text, file))


def load_policy(path: str) -> Policy:
    return policy_from_text(read_config_text(path), path)

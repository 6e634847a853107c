"""idgate doctor: is this deployment sound, and are idgate's own
credentials no broader than what its executors need?"""
import os
from typing import Any, List, Tuple

from ..audit import verify
from ..errors import IdgateError
from ..executors import build_executor
from ..policy import load_policy
from ..policy.lint import lint
from ..runconfig import load_run_config
from ..sources import get_source_factory
from ..state import open_state
from ..tickets import get_ticket_system
from . import _common

Check = Tuple[str, str, str]  # (what, ok | warn | fail, detail)


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="check a deployment, and idgate's own credential scopes",
                       description="Checks the run config, the policy (and its lint findings), the state "
                                   "and its audit chain, every source, ticket system and executor; for "
                                   "each executor, compares the scopes its actions need with what the "
                                   "configured credentials actually hold (Okta's granted scopes, the "
                                   "roles claim of a Graph token, GitHub App permissions) and warns "
                                   "about anything broader. --offline skips calls to providers.")
    p.add_argument("--config", required=True, metavar="C")
    p.add_argument("--state", default=None, metavar="DIR")
    p.add_argument("--offline", action="store_true", help="do not ask providers what credentials hold")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: Any) -> int:
    config = load_run_config(args.config)
    checks: List[Check] = []
    policy = load_policy(config.policy_path)
    checks.append(("policy", "ok", "%s version %s, %d rules" % (config.policy, policy.version[:12], len(policy.rules))))
    if policy.kill_switch:
        checks.append(("kill switch", "warn", "ON: nothing above advisory, no executions"))
    findings = lint(policy)
    checks.append(("policy lint", "warn" if findings else "ok",
                   "; ".join("%s: %s" % (f.rule_id or "-", f.message) for f in findings[:3])
                   + (" (+%d more: idgate policy lint)" % (len(findings) - 3) if len(findings) > 3 else "")
                   if findings else "no findings"))
    checks.extend(_state_checks(config.state_dir(args.state)))
    for src in config.sources:
        data = dict(src.model_dump(), **(src.model_extra or {}), base_dir=config.base_dir)
        checks.append(_try("source %s (%s)" % (src.id, src.type), lambda: get_source_factory(src.type)(data, None)))
    for name, section in config.tickets.items():
        if name != "default" and isinstance(section, dict):
            checks.append(_try("tickets %s" % name, lambda: get_ticket_system(name, section)))
    for name, section in config.executors.items():
        if name == "default":
            checks.append(("executor default", "warn" if section == "dry_run" else "ok",
                           "dry run: nothing is changed" if section == "dry_run" else str(section)))
            continue
        if isinstance(section, dict):
            checks.extend(_executor_checks(name, section, args.offline))
    if args.json:
        for what, status, detail in checks:
            _common.write_json_line({"check": what, "status": status, "detail": detail})
    else:
        _common.table([list(c) for c in checks], ["check", "status", "detail"])
    return 1 if any(status == "fail" for _, status, _ in checks) else 0


def _try(what: str, build: Any) -> Check:
    try:
        build()
        return (what, "ok", "configured")
    except IdgateError as exc:
        return (what, "fail", str(exc))


def _state_checks(folder: str) -> List[Check]:
    if not os.path.exists(os.path.join(folder, "idgate.db")):
        return [("state", "ok", "%s: new (created on the first run)" % folder)]
    state = open_state(folder)
    out: List[Check] = [("state", "ok", folder)]
    result = verify(state.audit_records(), state.audit_anchor())
    out.append(("audit chain", "ok" if result.ok else "fail",
                "%d records verified" % result.records if result.ok else result.problems[0]))
    failed = state.executions("failed")
    if failed:
        out.append(("executions", "warn", "%d failed (idgate executions --status failed)" % len(failed)))
    gate = state.load_gate_state() or {}
    if gate.get("breaker_tripped"):
        out.append(("circuit breaker", "warn", "tripped at %s" % gate["breaker_tripped"].get("at")))
    return out


def _executor_checks(name: str, section: Any, offline: bool) -> List[Check]:
    what = "executor %s" % name
    try:
        executor = build_executor(name, section)
    except IdgateError as exc:
        return [(what, "fail", str(exc))]
    needed = sorted({s for scopes in executor.scopes.values() for s in scopes})
    out: List[Check] = [(what, "ok", "%d actions; needs %s" % (len(executor.scopes), ", ".join(needed) or "nothing"))]
    if offline:
        return out
    try:
        granted = executor.granted_scopes()
    except IdgateError as exc:
        return out + [(what + " credentials", "fail", str(exc))]
    if granted is None:
        return out + [(what + " credentials", "ok", "the provider cannot tell what the credential holds")]
    missing = sorted(set(needed) - set(granted))
    broader = sorted(set(granted) - set(needed))
    if missing:
        out.append((what + " credentials", "fail", "missing: %s" % ", ".join(missing)))
    if broader:
        out.append((what + " credentials", "warn", "broader than needed: %s" % ", ".join(broader)))
    if not missing and not broader:
        out.append((what + " credentials", "ok", "exactly what the actions need"))
    return out

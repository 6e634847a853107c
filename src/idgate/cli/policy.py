"""idgate policy validate | lint | schema"""
import json
import sys
from typing import Any

from ..policy import PolicyConfig, load_policy
from ._common import table, write_json_line



# _common's helpers bind sys.stdout when imported; pass the current one so
# in-process callers that redirect stdout (tests, the API) get the output
def _emit(obj: Any) -> None:
    write_json_line(obj, sys.stdout)


def _table(rows: Any, headers: Any) -> None:
    table(rows, headers, sys.stdout)


def register(sub: Any) -> None:
    p = sub.add_parser("policy", help="validate, lint or print the schema of a mapping config",
                       description="Work with the mapping config (policy YAML).")
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION")
    v = psub.add_parser("validate", help="check a policy; one line per file, exit 2 on the first error")
    v.add_argument("files", nargs="+", metavar="POLICY")
    v.add_argument("--json", action="store_true")
    v.set_defaults(handler=cmd_validate)
    lint = psub.add_parser("lint", help="rules that never match, are shadowed, or are risky",
                           description="Findings that are legal but probably wrong: rules that can "
                                       "never match, rules shadowed by a more restrictive one, auto "
                                       "rules without a confidence condition or that match humans, "
                                       "budgets naming actions no rule makes auto.")
    lint.add_argument("file", metavar="POLICY")
    lint.add_argument("--json", action="store_true", help="findings as JSON lines")
    lint.add_argument("--strict", action="store_true", help="exit 1 when there are findings")
    lint.set_defaults(handler=cmd_lint)
    s = psub.add_parser("schema", help="the JSON Schema of the mapping config (for editors)")
    s.set_defaults(handler=cmd_schema)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def cmd_validate(args: Any) -> int:
    for path in args.files:
        policy = load_policy(path)
        c = policy.config
        summary = {"file": path, "valid": True, "policy_version": policy.version, "rules": len(c.rules),
                   "ai_sources": len(c.ai_sources), "protected_identities": len(c.protected_identities),
                   "budgets": len(c.budgets), "kill_switch": c.kill_switch}
        if args.json:
            _emit(summary)
        else:
            print("%s: valid  version %s  %d rules, %d AI sources, %d protected patterns, %d budgets%s" % (
                path, policy.version[:12], len(c.rules), len(c.ai_sources), len(c.protected_identities),
                len(c.budgets), "  KILL SWITCH ON" if c.kill_switch else ""))
    return 0


def cmd_lint(args: Any) -> int:
    from ..policy.lint import lint
    findings = lint(load_policy(args.file))
    if args.json:
        for f in findings:
            _emit(f.to_dict())
    elif findings:
        _table([[f.rule_id or "-", f.code, f.message] for f in findings], ["rule", "finding", "why"])
        print("\n%d finding%s" % (len(findings), "" if len(findings) == 1 else "s"))
    else:
        print("%s: no findings" % args.file)
    return 1 if findings and args.strict else 0


def schema() -> dict:
    out = PolicyConfig.model_json_schema()
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "idgate mapping config"
    return out


def cmd_schema(args: Any) -> int:
    json.dump(schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0

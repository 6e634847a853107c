"""normalize, evaluate, explain, replay: decisions without side effects."""
import argparse
import sys
import time
from datetime import datetime, timezone
from typing import Any, List

from .. import jsonfast
from ..gate import Gate, GateState, Trace
from ..ingest import iter_items
from ..model import Alert, Decision
from ..policy import load_policy
from ..replay import LEVELS, replay
from ..sources import platforms
from ._common import Progress, paths_or_stdin, plural, table, write_json_line

FROM_HELP = "platform of the input records (default canonical): %s"



# _common's helpers bind sys.stdout when imported; pass the current one so
# in-process callers that redirect stdout (tests, the API) get the output
def _emit(obj: Any) -> None:
    write_json_line(obj, sys.stdout)


def _table(rows: Any, headers: Any) -> None:
    table(rows, headers, sys.stdout)


def register(sub: Any) -> None:
    plats = ", ".join(platforms())
    p = sub.add_parser("normalize", help="platform records → canonical alerts (JSON lines)",
                       description="Turn records as a platform's API or export returns them into "
                                   "canonical alerts, one JSON object per line. A record that cannot "
                                   "be normalised yields an error line naming it; the rest go on.")
    p.add_argument("--from", dest="platform", required=True, help=FROM_HELP % plats)
    p.add_argument("files", nargs="*", metavar="FILE", help="input files, or - for stdin (default)")
    p.set_defaults(handler=cmd_normalize)

    p = sub.add_parser("evaluate", help="decide each recommendation (JSON lines)",
                       description="Decide every recommendation of every alert under a policy and print "
                                   "one decision per line. Budgets are simulated from empty over the "
                                   "alerts' detected_at, in input order. Nothing is executed or stored.")
    _policy_and_inputs(p, plats)
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("explain", help="why each decision came out as it did",
                       description="A readable trace per recommendation: the AI source, every rule "
                                   "that matched, the winning rule, each invariant that capped it.")
    _policy_and_inputs(p, plats)
    p.add_argument("--json", action="store_true", help="the trace as JSON lines")
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("replay", help="what-if over history: counts, and what changes from P to Q",
                       description="Decide historical alerts under --policy P (and --against Q) and "
                                   "report counts per autonomy level and rule, and every "
                                   "recommendation whose autonomy changes between P and Q.")
    _policy_and_inputs(p, plats)
    p.add_argument("--against", metavar="Q", help="the candidate policy to compare with P")
    p.add_argument("--json", action="store_true", help="one JSON summary for machines")
    p.add_argument("--changes", metavar="FILE", help="write every change (JSON lines) to FILE")
    p.add_argument("--show", type=int, default=20, metavar="N", help="changes listed in the table (20)")
    p.add_argument("--progress", action="store_true", default=None, help="force the progress bar")
    p.set_defaults(handler=cmd_replay)


def _policy_and_inputs(p: argparse.ArgumentParser, plats: str) -> None:
    p.add_argument("--policy", required=True, metavar="P", help="the mapping config (YAML)")
    p.add_argument("--from", dest="platform", default="canonical", help=FROM_HELP % plats)
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="alerts: JSON lines or a JSON array; - or nothing for stdin")


def cmd_normalize(args: Any) -> int:
    bad = 0
    for item in iter_items(paths_or_stdin(args.files), args.platform):
        if item.alert is not None:
            sys.stdout.write(item.alert.model_dump_json(exclude_none=False))
            sys.stdout.write("\n")
        else:
            bad += 1
            _emit(item.error_line(args.platform))
    return _finish(bad)


def cmd_evaluate(args: Any) -> int:
    gate, state = Gate(load_policy(args.policy)), GateState()
    now = datetime.now(timezone.utc)
    bad = 0
    out = sys.stdout
    for item in iter_items(paths_or_stdin(args.files), args.platform):
        if item.alert is None:
            bad += 1
            _emit(item.error_line(args.platform))
            continue
        for decision in gate.decide(item.alert, state, now):
            out.write(decision.model_dump_json())
            out.write("\n")
    return _finish(bad)


def _finish(bad: int) -> int:
    if bad:
        print("idgate: %s could not be used (see the error lines)" % plural(bad, "record"), file=sys.stderr)
        return 2
    return 0


def cmd_explain(args: Any) -> int:
    policy = load_policy(args.policy)
    gate, state = Gate(policy), GateState()
    now = datetime.now(timezone.utc)
    bad = 0
    for item in iter_items(paths_or_stdin(args.files), args.platform):
        if item.alert is None:
            bad += 1
            if args.json:
                _emit(item.error_line(args.platform))
            else:
                print("%s: cannot decide: %s\n" % (item.where(), item.error.message))  # type: ignore[union-attr]
            continue
        traces: List[Trace] = []
        decisions = gate.decide(item.alert, state, now, traces)
        if args.json:
            for d, t in zip(decisions, traces):
                _emit({"decision": d.model_dump(mode="json"), "ai_source": t.ai_source,
                                 "matched_rules": [r.id for r in t.matched], "steps": t.steps})
        else:
            sys.stdout.write(explain_text(item.alert, decisions, traces, policy.version))
    return _finish(bad)


def explain_text(alert: Alert, decisions: List[Decision], traces: List[Trace], version: str) -> str:
    ident = alert.identity
    lines = ["alert %s  (%s, severity %s)" % (alert.id, alert.source.platform, alert.severity or "unknown"),
             "  identity  %s %s%s%s" % (ident.kind, ident.name or ident.id,
                                         " [%s]" % ident.tier if ident.tier else "",
                                         " owner %s" % ident.owner if ident.owner else ""),
             "  AI        model %s, score %s → AI source %s" % (
                 alert.ai.model or "unknown", _num(alert.ai.score),
                 traces[0].ai_source if traces and traces[0].ai_source else "(not listed)")]
    if not decisions:
        lines.append("  no recommendations: nothing to decide")
    for d, t in zip(decisions, traces):
        lines.append("  [%d] %s on %s  confidence %s" % (d.recommendation_index, d.action,
                                                        d.target.get("id"), _num(d.confidence)))
        matched = ", ".join("%s (%s)" % (r.id, r.autonomy) for r in t.matched) or "none"
        lines.append("      rules matched: %s" % matched)
        for step in t.steps:
            lines.append("      %s" % step)
        lines.append("      → %s%s" % (d.autonomy.upper(), "  (rule %s)" % d.rule_id if d.rule_id else ""))
    lines.append("  policy %s\n" % version[:12])
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    return "none" if value is None else "%.2f" % value


def cmd_replay(args: Any) -> int:
    policy = load_policy(args.policy)
    against = load_policy(args.against) if args.against else None
    paths = paths_or_stdin(args.files)
    progress = Progress(paths, enabled=args.progress, label="replaying")
    changes_fh = open(args.changes, "w", encoding="utf-8") if args.changes else None
    started = time.monotonic()
    try:
        report = replay(iter_items(paths, args.platform, progress=progress.bytes_read), policy, against,
                        on_change=(lambda c: changes_fh.write(jsonfast.dumps(c) + "\n")) if changes_fh else None,
                        tick=progress.item)
    finally:
        progress.close()
        if changes_fh:
            changes_fh.close()
    elapsed = time.monotonic() - started
    if args.json:
        out = report.to_dict()
        out["seconds"] = round(elapsed, 3)
        _emit(out)
        return 0
    print("replayed %s, %s (%s bad) in %.1fs" % (plural(report.alerts, "alert"),
                                                 plural(report.recommendations, "recommendation"),
                                                 format(report.bad_records, ","), elapsed))
    print()
    p, q = report.p, report.q
    assert p is not None
    rows = []
    for level in LEVELS:
        row = [level, p.autonomy.get(level, 0)]
        if q is not None:
            row += [q.autonomy.get(level, 0), "%+d" % (q.autonomy.get(level, 0) - p.autonomy.get(level, 0))]
        rows.append(row)
    headers = ["autonomy", "P %s" % p.version[:8]] + (["Q %s" % q.version[:8], "change"] if q else [])
    _table(rows, headers)
    print()
    rule_rows = [[rule, n, q.rules.get(rule, 0) if q else ""] for rule, n in p.rules.most_common()]
    if q is not None:
        rule_rows += [[rule, 0, n] for rule, n in q.rules.most_common() if rule not in p.rules]
    _table([r if q else r[:2] for r in rule_rows], ["rule", "P"] + (["Q"] if q else []))
    if p.caps or (q is not None and q.caps):
        print()
        cap_rows = [[c, n, q.caps.get(c, 0) if q else ""] for c, n in p.caps.most_common()]
        if q is not None:  # caps only Q applies (a new budget, ...) matter most
            cap_rows += [[c, 0, n] for c, n in q.caps.most_common() if c not in p.caps]
        _table([r if q else r[:2] for r in cap_rows], ["cap (invariant)", "P"] + (["Q"] if q else []))
    if q is not None:
        print()
        print("%s change autonomy from P to Q" % plural(report.changed, "recommendation"))
        if report.transitions:
            _table([[a, b, n] for (a, b), n in report.transitions.most_common()], ["from", "to", "count"])
        shown = report.changes[:args.show]
        if shown:
            print()
            _table([[c["alert_id"], c["recommendation_index"], c["action"], c["target"],
                    "%s → %s" % (c["from"], c["to"]), c["rule_to"] or "-"] for c in shown],
                  ["alert", "#", "action", "target", "autonomy", "rule under Q"])
            if report.changed > len(shown):
                print("... %s more%s" % (format(report.changed - len(shown), ","),
                                         "" if args.changes else " (write them all with --changes FILE)"))
    if report.bad_records:
        print("\n%s could not be used; first: %s" % (plural(report.bad_records, "record"),
                                                      report.errors[0]["error"] if report.errors else ""))
    return 0

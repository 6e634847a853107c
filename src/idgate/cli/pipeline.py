"""run, demo, queue, approve, deny, confirm, rollback, audit, config, breaker."""
import os
import shutil
import signal
import sys
from typing import Any, Dict, List, Optional

from .. import jsonfast
from ..audit import matches, verify
from ..engine import Engine
from ..errors import IdgateError
from ..inputs import read_records
from ..pipeline import Pipeline
from ..policy.durations import seconds
from ..runconfig import load_run_config
from ..state import open_state
from ._common import add_state_arg, plural, state_dir, table, write_json_line

CONFIG_HELP = "run config (default $IDGATE_CONFIG, or the one the state folder was last run with)"


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="the pipeline: pull, decide, record, act",
                       description="Pull alerts from the configured sources, decide every recommendation, "
                                   "record each decision durably, then annotate, open review requests or "
                                   "execute. --once processes what is there and exits.")
    _config_args(p)
    p.add_argument("--once", action="store_true", help="one pass over the sources, then exit")
    p.add_argument("--poll", default=None, help="seconds between passes (default: the sources' poll, or 60s)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("demo", help="run the pipeline on samples/ (fresh state, dry-run executors)",
                       description="Runs samples/run.yaml over the sample alerts with a fresh state folder "
                                   "and dry-run executors, then shows what was decided, what ran, what "
                                   "waits for review, and how to go on.")
    p.add_argument("--samples", default=None, help="samples folder (default: ./samples or the package's)")
    p.add_argument("--state", default=".idgate-demo", help="state folder, wiped first (default .idgate-demo)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_demo)

    q = sub.add_parser("queue", help="review requests waiting for a human")
    qsub = q.add_subparsers(dest="queue_command", metavar="ACTION")
    ql = qsub.add_parser("list", help="review requests (open by default)")
    _config_args(ql)
    ql.add_argument("--status", default="open", choices=["open", "approved", "denied", "expired", "all"])
    ql.add_argument("--json", action="store_true")
    ql.set_defaults(handler=cmd_queue_list)
    qs = qsub.add_parser("show", help="one review request in full")
    _config_args(qs)
    qs.add_argument("request_id", metavar="ID")
    qs.add_argument("--json", action="store_true")
    qs.set_defaults(handler=cmd_queue_show)
    q.set_defaults(handler=lambda args: (q.print_help(), 2)[1])

    for name, helptext in (("approve", "approve a review request"), ("deny", "deny a review request")):
        p = sub.add_parser(name, help=helptext,
                           description="%s. The approver may not be the requester (the AI), must hold one "
                                       "of the rule's roles (run config approvers:), and votes once; "
                                       "when enough distinct approvers agree, the action runs." % helptext)
        _config_args(p)
        p.add_argument("request_id", metavar="ID")
        p.add_argument("--as", dest="who", required=True, metavar="WHO", help="who you are")
        p.add_argument("--comment", default="")
        if name == "approve":
            p.add_argument("--digest", default=None,
                           help="the digest you reviewed (queue show); refused if what would run changed")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=cmd_vote, verdict=name)

    p = sub.add_parser("confirm", help="keep a provisional action (no rollback)")
    _config_args(p)
    p.add_argument("execution_id", metavar="EXECUTION_ID")
    p.add_argument("--as", dest="who", required=True, metavar="WHO")
    p.set_defaults(handler=cmd_confirm)

    p = sub.add_parser("rollback", help="undo an executed, reversible action with its inverse")
    _config_args(p)
    p.add_argument("execution_id", metavar="EXECUTION_ID")
    p.add_argument("--as", dest="who", required=True, metavar="WHO")
    p.add_argument("--reason", default="")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_rollback)

    p = sub.add_parser("executions", help="what ran, what is pending or provisional")
    _config_args(p)
    p.add_argument("--status", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_executions)

    p = sub.add_parser("deadletters", help="records that could not be used, with the reason")
    add_state_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_deadletters)

    a = sub.add_parser("audit", help="verify or export the tamper-evident audit trail")
    asub = a.add_subparsers(dest="audit_command", metavar="ACTION")
    av = asub.add_parser("verify", help="check the hash chain (the store, or --file an export)")
    add_state_arg(av)
    av.add_argument("--file", default=None, help="an exported trail (JSON lines) to verify instead")
    av.add_argument("--json", action="store_true")
    av.set_defaults(handler=cmd_audit_verify)
    ae = asub.add_parser("export", help="the trail as JSON lines")
    add_state_arg(ae)
    ae.add_argument("--since", default=None, help="ISO time")
    ae.add_argument("--until", default=None, help="ISO time")
    ae.add_argument("--alert", default=None, help="one alert id")
    ae.add_argument("--identity", default=None, help="one identity or target id")
    ae.set_defaults(handler=cmd_audit_export)
    a.set_defaults(handler=lambda args: (a.print_help(), 2)[1])

    c = sub.add_parser("config", help="check a run config")
    csub = c.add_subparsers(dest="config_command", metavar="ACTION")
    cv = csub.add_parser("validate", help="the run config and the policy it names")
    cv.add_argument("file", metavar="CONFIG")
    cv.set_defaults(handler=cmd_config_validate)
    c.set_defaults(handler=lambda args: (c.print_help(), 2)[1])

    b = sub.add_parser("breaker", help="the circuit breaker that trips auto to review on a burst")
    bsub = b.add_subparsers(dest="breaker_command", metavar="ACTION")
    bs = bsub.add_parser("status")
    _config_args(bs)
    bs.set_defaults(handler=cmd_breaker_status)
    br = bsub.add_parser("reset", help="a human resets it after looking at the burst")
    _config_args(br)
    br.add_argument("--as", dest="who", required=True, metavar="WHO")
    br.set_defaults(handler=cmd_breaker_reset)
    b.set_defaults(handler=lambda args: (b.print_help(), 2)[1])


def _config_args(p: Any) -> None:
    p.add_argument("--config", default=None, metavar="C", help=CONFIG_HELP)
    add_state_arg(p)


def engine_from_args(args: Any) -> Engine:
    folder = state_dir(args) if (getattr(args, "state", None) or os.environ.get("IDGATE_STATE")) else None
    path = args.config or os.environ.get("IDGATE_CONFIG")
    if not path:
        probe = folder or ".idgate"
        if os.path.exists(os.path.join(probe, "idgate.db")):
            remembered = open_state(probe).get_meta("config")
            path = remembered.get("path") if remembered else None
    if not path:
        raise IdgateError("which run config? pass --config C (or set IDGATE_CONFIG)")
    config = load_run_config(path)
    engine = Engine(config, state_dir=folder)
    with engine.state.transaction():
        engine.state.set_meta("config", {"path": os.path.abspath(path)})
    return engine


def cmd_run(args: Any) -> int:
    engine = engine_from_args(args)
    pipeline = Pipeline(engine)
    if args.once:
        summary = pipeline.run_once()
        if args.json:
            write_json_line(summary.to_dict())
        else:
            _print_summary(summary)
        return 2 if summary.source_errors and not summary.alerts else 0
    polls = [seconds(s.poll) for s in engine.config.sources if s.poll]
    poll = float(args.poll) if args.poll else float(min(polls) if polls else 60)
    stopping: List[bool] = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(True))
    print("idgate run: %s, polling every %gs (Ctrl-C to stop)" % (plural(len(pipeline.sources), "source"), poll),
          file=sys.stderr)
    try:
        pipeline.run_forever(poll, lambda: bool(stopping))
    except KeyboardInterrupt:
        pass
    return 0


def _print_summary(summary: Any) -> None:
    d = summary.decisions
    print("alerts %d (%d already decided), dead letters %d" % (summary.alerts, summary.duplicates,
                                                                summary.dead_letters))
    print("decisions  auto %d  review %d  advisory %d  blocked %d" % tuple(
        d.get(k, 0) for k in ("auto", "review", "advisory", "blocked")))
    print("executed %d, review tickets opened %d" % (summary.executed, summary.tickets_opened))
    for err in summary.source_errors:
        print("source error: %s" % err)


def _find_samples(explicit: Optional[str]) -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [explicit] if explicit else ["samples", os.path.join(here, "..", "..", "..", "samples")]
    for c in candidates:
        if c and os.path.exists(os.path.join(c, "run.yaml")):
            return os.path.normpath(c)
    raise IdgateError("no samples folder with run.yaml found (pass --samples DIR)")


def cmd_demo(args: Any) -> int:
    samples = _find_samples(args.samples)
    folder = args.state
    if os.path.exists(os.path.join(folder, "idgate.db")) or (os.path.isdir(folder) and not os.listdir(folder)):
        shutil.rmtree(folder)
    elif os.path.exists(folder):
        raise IdgateError("%s exists and is not an idgate state folder; pass --state DIR" % folder)
    config_path = os.path.join(samples, "run.yaml")
    config = load_run_config(config_path)
    config.executors = {"default": "dry_run"}  # the demo never touches a real identity
    engine = Engine(config, state_dir=folder)
    with engine.state.transaction():
        engine.state.set_meta("config", {"path": os.path.abspath(config_path)})
    summary = Pipeline(engine).run_once()
    if summary.source_errors and not summary.alerts:
        raise IdgateError("demo: %s" % summary.source_errors[0])
    check = engine.audit.verify()
    if args.json:
        out = summary.to_dict()
        out.update({"state": folder, "audit": check.to_dict(), "open_requests": len(engine.queue("open"))})
        write_json_line(out)
        return 0
    d = summary.decisions
    print("idgate demo: %s from %s through policy %s (%s)\n" % (
        plural(summary.alerts, "alert"), samples, engine.policy.version[:12], engine.config.policy))
    table([[k, d.get(k, 0), MEANING[k]] for k in ("auto", "review", "advisory", "blocked")],
          ["autonomy", "decisions", "what happens"])
    executions = engine.state.executions()
    if executions:
        print("\nexecuted (dry run: nothing was changed), first 8 of %d:" % len(executions))
        table([[e["execution_id"], e["action"], e["target"].get("id"), e["status"],
                "confirm by %s" % e["provisional_until"][:16] if e.get("provisional_until") else ""]
               for e in executions[:8]], ["execution", "action", "target", "status", "provisional"])
    requests = engine.queue("open")
    if requests:
        print("\nwaiting for review, first 8 of %d:" % len(requests))
        _request_table(requests[:8])
    if summary.dead_letters:
        print("\ndead letters: %d record(s) could not be used (idgate deadletters --state %s)" % (
            summary.dead_letters, folder))
    print("\naudit trail: %s, chain %s" % (plural(check.records, "record"),
                                          "verified" if check.ok else "BROKEN: %s" % check.problems[0]))
    print("\nnext steps:")
    s = "--state %s" % folder
    print("  idgate queue list %s" % s)
    if requests:
        r = requests[0]
        who = _demo_approver(engine, r)
        print("  idgate queue show %s %s" % (r["request_id"], s))
        print("  idgate approve %s --as %s %s" % (r["request_id"], who, s))
    if executions:
        print("  idgate rollback %s --as alice %s" % (executions[0]["execution_id"], s))
    print("  idgate audit verify %s" % s)
    print("  idgate explain --policy %s %s" % (engine.config.policy_path, os.path.join(samples, "alerts", "canonical.jsonl")))
    return 0


MEANING = {"auto": "executed now (scoped, reversible where possible)",
           "review": "a review request waits for a human",
           "advisory": "annotated on the alert, nothing else",
           "blocked": "recorded only"}


def _demo_approver(engine: Engine, request: Dict[str, Any]) -> str:
    needed = set(request.get("approver_roles") or [])
    for who, roles in engine.config.approvers.items():
        if not needed or needed & set(roles):
            return who
    return "alice"


def _request_table(requests: List[Dict[str, Any]]) -> None:
    table([[r["request_id"], r["action"], r["target"].get("id"), r.get("rule_id") or "-",
            "%d of %s" % (r.get("votes", 0), r["approvals_required"]) if "votes" in r else r["approvals_required"],
            r.get("expires_at", "")[:16], r["status"]] for r in requests],
          ["request", "action", "target", "rule", "approvals", "expires", "status"])


def cmd_queue_list(args: Any) -> int:
    engine = engine_from_args(args)
    requests = engine.queue(None if args.status == "all" else args.status)
    if args.json:
        for r in requests:
            write_json_line(r)
        return 0
    if not requests:
        print("no %s review requests" % ("" if args.status == "all" else args.status))
        return 0
    for r in requests:
        r["votes"] = len([a for a in engine.state.approvals(r["request_id"]) if a["verdict"] == "approve"])
    _request_table(requests)
    return 0


def cmd_queue_show(args: Any) -> int:
    engine = engine_from_args(args)
    r = engine.request(args.request_id)
    if args.json:
        write_json_line(r)
        return 0
    alert = r.get("alert") or {}
    ai = alert.get("ai") or {}
    lines = [
        "request   %s  (%s)" % (r["request_id"], r["status"]),
        "will run  %s" % r["will_run"],
        "digest    %s" % r["digest"],
        "rule      %s   policy %s" % (r.get("rule_id") or "(defaults)", r["policy_version"][:12]),
        "caps      %s" % ("; ".join("%s: %s" % (c["invariant"], c["reason"]) for c in r.get("caps") or []) or "none"),
        "alert     %s  severity %s" % (alert.get("id"), alert.get("severity")),
        "identity  %s %s" % ((r.get("identity") or {}).get("kind"), (r.get("identity") or {}).get("name") or
                             (r.get("identity") or {}).get("id")),
        "AI        %s score %s, confidence %s" % (ai.get("model"), ai.get("score"), r.get("confidence")),
        "          rationale (untrusted, from the AI): %r" % (ai.get("rationale") or "")[:300],
        "needs     %d approver(s)%s, not %s" % (r["approvals_required"],
                                                " with a role of %s" % ", ".join(r["approver_roles"])
                                                if r.get("approver_roles") else "", r.get("requester")),
        "expires   %s" % r.get("expires_at"),
        "ticket    %s" % ("%s %s" % (r["ticket"]["system"], r["ticket"]["key"]) if r.get("ticket") else "none yet"),
    ]
    for a in r.get("approvals") or []:
        lines.append("vote      %s %s at %s %s" % (a["approver"], a["verdict"], a["at"][:19], a.get("comment") or ""))
    print("\n".join(lines))
    return 0


def cmd_vote(args: Any) -> int:
    engine = engine_from_args(args)
    if args.verdict == "approve":
        r = engine.approve(args.request_id, args.who, digest=args.digest, comment=args.comment)
    else:
        r = engine.deny(args.request_id, args.who, comment=args.comment)
    if args.json:
        write_json_line(r)
        return 0
    votes = len([a for a in r.get("approvals") or [] if a["verdict"] == "approve"])
    print("%s: %s (%d of %d approvals)" % (r["request_id"], r["status"], votes, r["approvals_required"]))
    if r["status"] == "approved":
        for e in engine.state.executions():
            if e.get("request_id") == r["request_id"]:
                print("executed %s: %s %s on %s (%s)" % (e["execution_id"], e["status"], e["action"],
                                                         e["target"].get("id"), e.get("detail") or e.get("error") or ""))
    return 0


def cmd_confirm(args: Any) -> int:
    e = engine_from_args(args).confirm(args.execution_id, args.who)
    print("%s confirmed by %s: it will not be rolled back" % (e["execution_id"], e["confirmed_by"]))
    return 0


def cmd_rollback(args: Any) -> int:
    e = engine_from_args(args).rollback(args.execution_id, args.who, args.reason)
    if args.json:
        write_json_line(e)
    else:
        print("rollback %s: %s %s on %s (%s)" % (e["execution_id"], e["status"], e["action"],
                                                 e["target"].get("id"), e.get("detail") or e.get("error") or ""))
    return 0 if e["status"] in ("done", "noop") else 1


def cmd_executions(args: Any) -> int:
    engine = engine_from_args(args)
    rows = engine.state.executions(args.status)
    if args.json:
        for e in rows:
            write_json_line(e)
        return 0
    table([[e["execution_id"], e["kind"], e["action"], e["target"].get("id"), e["provider"], e["status"],
            (e.get("provisional_until") or "")[:16], e.get("confirmed_by") or ""] for e in rows],
          ["execution", "kind", "action", "target", "provider", "status", "provisional until", "confirmed"])
    return 0


def _state_only(args: Any) -> Any:
    folder = state_dir(args)
    if not os.path.exists(os.path.join(folder, "idgate.db")):
        raise IdgateError("no idgate state in %s (pass --state DIR)" % folder)
    return open_state(folder)


def cmd_deadletters(args: Any) -> int:
    letters = _state_only(args).dead_letters()
    if args.json:
        for letter in letters:
            write_json_line(letter)
        return 0
    if not letters:
        print("no dead letters")
        return 0
    table([[l["at"][:19], l.get("source_id"), l.get("record_id") or "-", l.get("where"), l["reason"][:100]]
           for l in letters], ["at", "source", "record id", "where", "reason"])
    return 0


def cmd_audit_verify(args: Any) -> int:
    if args.file:
        result = verify(_file_records(args.file))
    else:
        state = _state_only(args)
        result = verify(state.audit_records(), state.audit_anchor())
    if args.json:
        write_json_line(result.to_dict())
    elif result.ok:
        print("audit trail verified: %s, head %s" % (plural(result.records, "record"), (result.head or "-")[:16]))
    else:
        print("audit trail BROKEN (%s read):" % plural(result.records, "record"))
        for p in result.problems:
            print("  %s" % p)
    return 0 if result.ok else 1


def _file_records(path: str) -> Any:
    for rec in read_records(path):
        if not rec.ok:
            yield {"seq": None, "error": rec.value.message}
        else:
            yield rec.value


def cmd_audit_export(args: Any) -> int:
    state = _state_only(args)
    out = sys.stdout
    for record in state.audit_records():
        if matches(record, args.since, args.until, args.alert, args.identity):
            out.write(jsonfast.dumps(record))
            out.write("\n")
    return 0


def cmd_config_validate(args: Any) -> int:
    from ..policy import load_policy
    from ..sources import get_source_factory
    config = load_run_config(args.file)
    policy = load_policy(config.policy_path)
    for src in config.sources:
        get_source_factory(src.type)  # names a known platform
    print("%s: valid  policy %s (%s), %s, executors default %s, tickets default %s" % (
        args.file, config.policy, policy.version[:12], plural(len(config.sources), "source"),
        config.executors.get("default"), config.tickets.get("default")))
    return 0


def cmd_breaker_status(args: Any) -> int:
    engine = engine_from_args(args)
    tripped = engine.gate_state.breaker_tripped
    print("circuit breaker: %s" % ("TRIPPED at %s (%s)" % (tripped["at"], tripped["reason"]) if tripped else "closed"))
    return 0


def cmd_breaker_reset(args: Any) -> int:
    engine_from_args(args).reset_breaker(args.who)
    print("circuit breaker reset by %s" % args.who)
    return 0

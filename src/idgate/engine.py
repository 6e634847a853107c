"""The engine: decisions become durable records, then (and only then) side
effects. The CLI, the HTTP API and the Splunk app all call this one class.

Order of every transition: state + audit record committed → side effect →
completion committed. A crash between two steps leaves a record that says
what was about to happen; recovery finishes it, and executors make a repeat
harmless (they check the target's state first).
"""
import hashlib
import json
import os
import signal
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

from .audit import AuditTrail
from .catalog import CATALOG, inverse_of
from .errors import IdgateError
from .executors import ExecutionRequest, Executor, ExecutorError, build_executor
from .gate import Gate, GateState
from .model import Alert, Decision
from .policy import Policy, load_policy
from .policy.durations import seconds
from .runconfig import RunConfig
from .secrets import redact
from .state import StateStore, open_state
from .tickets import TicketRef, TicketSystem, get_ticket_system

MAX_ATTEMPTS = 5


class Refused(IdgateError):
    """A human action that the rules refuse (recorded in the audit trail).
    ``kind``: "forbidden" (this person may not) or "conflict" (the request
    is not in a state where this can happen)."""

    def __init__(self, message: str, kind: str = "conflict"):
        super().__init__(message)
        self.kind = kind


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def _short_hash(*parts: str, n: int = 20) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:n]


def approval_digest(action: str, target: Dict[str, Any], params: Dict[str, Any], policy_version: str) -> str:
    """What an approval binds to: change any of these and it no longer counts."""
    body = json.dumps({"action": action, "target": target, "params": params, "policy_version": policy_version},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def request_id_for(decision_id: str) -> str:
    return "rr-" + _short_hash(decision_id, n=16)


def idempotency_key_for(origin: str, kind: str, action: str) -> str:
    """``origin`` is the decision id (an action) or the execution id (its rollback)."""
    return "idg-" + _short_hash(origin, kind, action, n=32)


def execution_id_for(idempotency_key: str) -> str:
    return "ex-" + _short_hash(idempotency_key, n=16)


def crashpoint(name: str) -> None:
    """Fault injection for the crash-safety tests: IDGATE_CRASHPOINT=name:n
    kills this process with SIGKILL the n-th time ``name`` is reached."""
    spec = os.environ.get("IDGATE_CRASHPOINT")
    if not spec or not spec.startswith(name + ":"):
        return
    _CRASH_COUNTS[name] = _CRASH_COUNTS.get(name, 0) + 1
    if _CRASH_COUNTS[name] >= int(spec.rsplit(":", 1)[1]):
        os.kill(os.getpid(), signal.SIGKILL)


_CRASH_COUNTS: Dict[str, int] = {}


class Engine:
    def __init__(self, config: RunConfig, state: Optional[StateStore] = None,
                 policy: Optional[Policy] = None, clock: Callable[[], datetime] = utcnow,
                 state_dir: Optional[str] = None):
        self.config = config
        self.policy = policy or load_policy(config.policy_path)
        self.gate = Gate(self.policy)
        self.state = state or open_state(config.state_dir(state_dir))
        self.audit = AuditTrail(self.state)
        self.clock = clock
        self.gate_state = GateState.from_dict(self.state.load_gate_state())
        self._executors: Dict[str, Executor] = {}
        self._tickets: Dict[str, TicketSystem] = {}
        # requests still without a ticket; None: not known yet (look once, after a restart)
        self._unticketed: Optional[set] = None

    # -- deciding ------------------------------------------------------------
    def ingest(self, alert: Alert, source_id: str, delegate: bool = False) -> Optional[List[Decision]]:
        """Record and decide one alert, inside the caller's transaction.
        None when this alert was decided before (a re-read after a crash,
        an overlapping pull window): nothing is decided twice.

        ``delegate``: the caller (a SOAR) executes with its own tools; idgate
        records the decision and a *delegated* execution that the caller
        completes with ``report_outcome``."""
        if self.state.alert_seen(alert.id):
            return None
        now = self.clock()
        identity = alert.identity
        summary = {"id": alert.id, "source": alert.source.model_dump(), "severity": alert.severity,
                   "detected_at": iso(alert.detected_at),
                   "rule": alert.rule.model_dump() if alert.rule else None,
                   "identity": identity.model_dump(), "ai": alert.ai.model_dump()}
        self.state.mark_alert(alert.id, source_id, iso(now), summary)
        self.audit.append("alert.received", alert_id=alert.id, identity_id=identity.id,
                          data={"source_id": source_id, "platform": alert.source.platform,
                                "record_id": alert.source.record_id,
                                "recommendations": len(alert.recommendations)})
        tripped_before = self.gate_state.breaker_tripped
        decisions = self.gate.decide(alert, self.gate_state, now)
        if self.gate_state.breaker_tripped and not tripped_before:
            self.audit.append("breaker.tripped", alert_id=alert.id, data=self.gate_state.breaker_tripped)
        for decision in decisions:
            self._record_decision(decision, summary, delegate)
        return decisions

    def submit(self, alert: Alert, source_id: str = "api", delegate: bool = False) -> List[Dict[str, Any]]:
        """One alert through the whole pipeline (the HTTP API, the Splunk
        alert action). Idempotent: a re-submitted alert returns the
        decisions recorded the first time."""
        with self.state.transaction():
            decisions = self.ingest(alert, source_id, delegate)
            self.save_gate_state()
        if decisions is None:
            return self.state.decisions(alert.id)
        self.run_pending()
        self.open_tickets()
        return [d.model_dump(mode="json") for d in decisions]

    def report_outcome(self, execution_id: str, status: str, by: str, detail: str = "") -> Dict[str, Any]:
        """A delegated execution ran elsewhere (a SOAR's own Okta/Entra
        action): record what happened."""
        if status not in ("done", "failed", "noop"):
            raise IdgateError("outcome status must be done, noop or failed, not %r" % status)
        execution = self.execution(execution_id)
        if execution["status"] != "delegated":
            raise IdgateError("execution %s is %s, not waiting for an outcome" % (execution_id, execution["status"]))
        with self.state.transaction():
            self.state.update_execution(execution_id, status=status, detail=redact(detail),
                                        finished_at=iso(self.clock()), reported_by=by)
            self.audit.append("outcome.reported", actor=by, execution_id=execution_id,
                              alert_id=execution.get("alert_id"), decision_id=execution.get("decision_id"),
                              target_id=execution["target"].get("id"), data={"status": status, "detail": detail})
        return self.execution(execution_id)

    def _record_decision(self, decision: Decision, alert_summary: Dict[str, Any], delegate: bool = False) -> None:
        d = decision.model_dump(mode="json")
        self.state.put_decision(d)
        self.audit.append("decision.made", alert_id=d["alert_id"], decision_id=d["decision_id"],
                          identity_id=d["identity"].get("id"), target_id=d["target"].get("id"),
                          data={k: d[k] for k in ("recommendation_index", "action", "autonomy", "rule_id",
                                                  "caps", "policy_version", "confidence", "ai_source")})
        if d["autonomy"] == "review":
            self._open_request(d, alert_summary, delegate)
        elif d["autonomy"] == "auto":
            self._plan_execution(d, kind="action", action=d["action"], params=d["params"], delegated=delegate)

    def links(self, decision_id: str) -> Dict[str, Any]:
        """What a decision led to: its review request and its execution."""
        decision = self.state.get_decision(decision_id)
        if decision is None:
            return {}
        out: Dict[str, Any] = {}
        request_id = request_id_for(decision_id)
        if self.state.get_request(request_id) is not None:
            out["request_id"] = request_id
        execution_id = execution_id_for(idempotency_key_for(decision_id, "action", decision["action"]))
        if self.state.get_execution(execution_id) is not None:
            out["executions"] = [execution_id]
        return out

    def save_gate_state(self) -> None:
        self.state.save_gate_state(self.gate_state.to_dict())

    def reject(self, source_id: str, platform: str, reason: str, record_id: Optional[str],
               where: str, raw: Any) -> None:
        """A record that cannot be used: a dead letter with its reason."""
        letter = {"at": iso(self.clock()), "source_id": source_id, "platform": platform,
                  "record_id": record_id, "where": where, "reason": redact(reason),
                  "raw": json.loads(redact(json.dumps(raw, default=str))) if raw is not None else None}
        self.state.add_dead_letter(letter)
        self.audit.append("alert.rejected", data={k: letter[k] for k in
                                                  ("source_id", "platform", "record_id", "where", "reason")})

    # -- review requests ---------------------------------------------------------
    def _open_request(self, d: Dict[str, Any], alert: Dict[str, Any], delegate: bool = False) -> Dict[str, Any]:
        now = self.clock()
        expires = now + timedelta(seconds=d.get("expires_in_s") or seconds(self.config.default_expiry))
        request = {
            "request_id": request_id_for(d["decision_id"]),
            "decision_id": d["decision_id"], "alert_id": d["alert_id"], "status": "open",
            "created_at": iso(now), "expires_at": iso(expires),
            "digest": approval_digest(d["action"], d["target"], d["params"], d["policy_version"]),
            "requester": d.get("requester"), "approvals_required": max(1, d.get("approvals_required") or 1),
            "approver_roles": d.get("approver_roles") or [],
            "action": d["action"], "target": d["target"], "params": d["params"],
            "policy_version": d["policy_version"], "rule_id": d.get("rule_id"), "caps": d.get("caps"),
            "confidence": d.get("confidence"), "identity": d.get("identity"),
            "ticket_system": d.get("ticket") or self.config.tickets.get("default", "local"),
            "ticket": None, "will_run": self.describe(d["action"], d["target"], d["params"]),
            "alert": alert, "delegated": delegate,
        }
        if request["ticket_system"] == "local":
            # the local queue's ticket is the request itself: nothing to open
            request["ticket"] = {"system": "local", "key": request["request_id"], "url": None}
        self.state.put_request(request)
        if request["ticket"] is None and self._unticketed is not None:
            self._unticketed.add(request["request_id"])
        self.audit.append("review.requested", alert_id=d["alert_id"], decision_id=d["decision_id"],
                          request_id=request["request_id"], identity_id=(d.get("identity") or {}).get("id"),
                          data={"digest": request["digest"], "expires_at": request["expires_at"],
                                "approvals_required": request["approvals_required"],
                                "approver_roles": request["approver_roles"],
                                "ticket_system": request["ticket_system"]})
        return request

    def describe(self, action: str, target: Dict[str, Any], params: Dict[str, Any]) -> str:
        provider = self._provider_name(target)
        text = "%s: %s on %s %s" % (provider, action, target.get("kind") or "identity", target.get("id"))
        if params:
            text += " with " + json.dumps(params, sort_keys=True, default=str)
        return redact(text)

    def queue(self, status: Optional[str] = "open") -> List[Dict[str, Any]]:
        self.expire_due()
        return self.state.requests(status)

    def request(self, request_id: str) -> Dict[str, Any]:
        request = self.state.get_request(request_id)
        if request is None:
            raise IdgateError("no review request %s (see idgate queue list)" % request_id)
        request = dict(request)
        request["approvals"] = self.state.approvals(request_id)
        return request

    def approve(self, request_id: str, approver: str, roles: Optional[List[str]] = None,
                digest: Optional[str] = None, comment: str = "", via: str = "cli") -> Dict[str, Any]:
        """One approver's vote. Refusals are recorded, then raised."""
        return self._vote(request_id, approver, "approve", roles, digest, comment, via)

    def deny(self, request_id: str, approver: str, comment: str = "", via: str = "cli",
             roles: Optional[List[str]] = None) -> Dict[str, Any]:
        return self._vote(request_id, approver, "deny", roles, None, comment, via)

    def _vote(self, request_id: str, approver: str, verdict: str, roles: Optional[List[str]],
              digest: Optional[str], comment: str, via: str) -> Dict[str, Any]:
        approver = (approver or "").strip()
        if not approver:
            raise IdgateError("an approver is needed (--as WHO)")
        self._expire_if_due(request_id)
        refusal = None
        with self.state.transaction():
            request = self.state.get_request(request_id)
            if request is None:
                raise IdgateError("no review request %s (see idgate queue list)" % request_id)
            refusal, kind = self._refusal(request, approver, verdict, roles, digest)
            base = {"alert_id": request["alert_id"], "decision_id": request["decision_id"],
                    "request_id": request_id, "actor": approver}
            if refusal is None and not self.state.add_approval({
                    "request_id": request_id, "approver": approver, "verdict": verdict,
                    "digest": request["digest"], "at": iso(self.clock()), "comment": comment, "via": via}):
                refusal, kind = "%s has already voted on %s" % (approver, request_id), "conflict"
            if refusal is not None:
                self.audit.append("approval.refused", data={"verdict": verdict, "reason": refusal, "via": via},
                                  **base)
            else:
                self.audit.append("approval.recorded", data={"verdict": verdict, "comment": comment, "via": via},
                                  **base)
                if verdict == "deny":
                    self.state.update_request(request_id, status="denied", closed_at=iso(self.clock()))
                    self.audit.append("review.denied", **base)
                else:
                    votes = [a for a in self.state.approvals(request_id)
                             if a["verdict"] == "approve" and a["digest"] == request["digest"]]
                    if len({a["approver"] for a in votes}) >= request["approvals_required"]:
                        self.state.update_request(request_id, status="approved", closed_at=iso(self.clock()),
                                                  approved_by=sorted({a["approver"] for a in votes}))
                        self.audit.append("review.approved", data={"approvers": sorted(a["approver"] for a in votes)},
                                          **base)
                        decision = self.state.get_decision(request["decision_id"]) or {}
                        self._plan_execution(decision, kind="action", action=request["action"],
                                             params=request["params"], request_id=request_id,
                                             delegated=bool(request.get("delegated")))
        if refusal is not None:
            raise Refused("refused: %s" % refusal, kind)
        request = self.request(request_id)
        if request["status"] in ("approved", "denied"):
            self._close_ticket(request, request["status"])
        if request["status"] == "approved":
            self.run_pending()
            request = self.request(request_id)
        return request

    def _refusal(self, request: Dict[str, Any], approver: str, verdict: str,
                 roles: Optional[List[str]], digest: Optional[str]) -> Tuple[Optional[str], str]:
        """(why this vote is refused, "forbidden" | "conflict"), or (None, "")."""
        if request["status"] != "open":
            return "request %s is %s" % (request["request_id"], request["status"]), "conflict"
        requester = request.get("requester") or ""
        if approver == requester or approver.startswith("ai:"):
            return "the requester (%s) may not approve its own recommendation" % requester, "forbidden"
        if verdict == "approve" and digest is not None and digest != request["digest"]:
            return "the approval is for digest %s but the request is %s: what would run has changed" % (
                digest[:12], request["digest"][:12]), "conflict"
        needed = request.get("approver_roles") or []
        if needed:
            held = roles if roles is not None else self.config.approvers.get(approver, [])
            if not set(held) & set(needed):
                return "%s holds none of the roles %s" % (approver, ", ".join(needed)), "forbidden"
        return None, ""

    def expire_due(self) -> int:
        return sum(self._expire(r) for r in self.state.requests("open"))

    def _expire_if_due(self, request_id: str) -> None:
        request = self.state.get_request(request_id)
        if request is not None and request["status"] == "open":
            self._expire(request)

    def _expire(self, request: Dict[str, Any]) -> bool:
        """Mark an open request past its expiry as expired; nothing runs."""
        now = iso(self.clock())
        if not request.get("expires_at") or request["expires_at"] >= now:
            return False
        with self.state.transaction():
            self.state.update_request(request["request_id"], status="expired", closed_at=now)
            self.audit.append("review.expired", alert_id=request["alert_id"],
                              decision_id=request["decision_id"], request_id=request["request_id"])
        self._close_ticket(self.state.get_request(request["request_id"]) or request, "expired")
        return True

    # -- tickets -------------------------------------------------------------------
    def _ticket_system(self, name: str) -> TicketSystem:
        if name not in self._tickets:
            section = self.config.tickets.get(name)
            self._tickets[name] = get_ticket_system(name, section if isinstance(section, dict) else {})
        return self._tickets[name]

    def open_tickets(self) -> int:
        """Open a ticket for each review request that has none (idempotent:
        the ticket system finds an existing ticket by the request id)."""
        opened = 0
        if self._unticketed is None:
            self._unticketed = {r["request_id"] for r in self.state.requests("open") if not r.get("ticket")}
        for request_id in sorted(self._unticketed):
            request = self.state.get_request(request_id)
            if request is None or request.get("ticket") or request["status"] != "open":
                self._unticketed.discard(request_id)
                continue
            base = {"alert_id": request["alert_id"], "request_id": request["request_id"]}
            self.audit.append("ticket.opening", data={"system": request["ticket_system"]}, **base)
            try:
                ref = self._ticket_system(request["ticket_system"]).open(request)
            except IdgateError as exc:
                self.audit.append("ticket.failed", data={"system": request["ticket_system"],
                                                         "error": str(exc)}, **base)
                continue
            with self.state.transaction():
                self.state.update_request(request["request_id"], ticket=ref.__dict__)
                self.audit.append("ticket.opened", data=ref.__dict__, **base)
            self._unticketed.discard(request_id)
            opened += 1
        return opened

    def poll_tickets(self) -> int:
        """Approvals and denials made in ticket systems go through the same rules."""
        by_system: Dict[str, List[TicketRef]] = {}
        for request in self.state.requests("open"):
            ticket = request.get("ticket")
            if ticket and ticket.get("system") != "local":
                by_system.setdefault(ticket["system"], []).append(TicketRef(**ticket))
        handled = 0
        for system, refs in by_system.items():
            for event in self._ticket_system(system).poll(refs):
                try:
                    self._vote(event.request_id, event.actor, event.verdict, None, None, event.comment,
                               via=system)
                    handled += 1
                except Refused:
                    pass  # recorded in the audit trail
        return handled

    def _close_ticket(self, request: Dict[str, Any], outcome: str) -> None:
        ticket = request.get("ticket")
        if not ticket or ticket.get("system") == "local":
            return
        try:
            self._ticket_system(ticket["system"]).close(TicketRef(**ticket), outcome)
        except IdgateError as exc:
            self.audit.append("ticket.failed", request_id=request["request_id"],
                              data={"system": ticket["system"], "error": str(exc), "closing": outcome})

    # -- executions ------------------------------------------------------------------
    def _provider_name(self, target: Dict[str, Any]) -> str:
        provider = target.get("provider")
        if provider and isinstance(self.config.executors.get(provider), dict):
            return provider
        default = self.config.executors.get("default", "dry_run")
        return default if isinstance(default, str) else "dry_run"

    def _executor(self, name: str) -> Executor:
        if name not in self._executors:
            section = self.config.executors.get(name)
            self._executors[name] = build_executor(name, section if isinstance(section, dict) else {})
        return self._executors[name]

    def _plan_execution(self, decision: Dict[str, Any], kind: str, action: str, params: Dict[str, Any],
                        request_id: Optional[str] = None, rollback_of: Optional[Dict[str, Any]] = None,
                        actor: str = "idgate", delegated: bool = False) -> Optional[Dict[str, Any]]:
        """A pending execution, keyed so that a second plan for the same
        thing (a replayed approval, a re-run) finds the first."""
        origin = rollback_of["execution_id"] if rollback_of else decision["decision_id"]
        key = idempotency_key_for(origin, kind, action)
        target = rollback_of["target"] if rollback_of else decision["target"]
        execution = {
            "execution_id": execution_id_for(key), "idempotency_key": key, "kind": kind,
            "decision_id": decision.get("decision_id"), "alert_id": decision.get("alert_id"),
            "request_id": request_id, "action": action, "target": target, "params": params,
            "provider": "external" if delegated else self._provider_name(target),
            "status": "delegated" if delegated else "pending", "attempts": 0,
            "created_at": iso(self.clock()), "requested_by": actor,
            "confirm_within_s": decision.get("confirm_within_s") if kind == "action" else None,
            "rollback_of": rollback_of["execution_id"] if rollback_of else None,
            "pre_state": rollback_of.get("pre_state") if rollback_of else {},
        }
        if not self.state.put_execution(execution):
            return None
        return execution

    def run_pending(self) -> int:
        """Run every execution that is planned but not finished, including
        ones a crash interrupted. Held entirely while the kill switch is on."""
        if self.policy.kill_switch:
            return 0
        ran = 0
        for execution in self.state.executions("pending") + self.state.executions("running"):
            self._execute(execution)
            ran += 1
        return ran

    def _execute(self, execution: Dict[str, Any]) -> Dict[str, Any]:
        eid = execution["execution_id"]
        rollback = execution["kind"] == "rollback"
        started, completed, failed = (("rollback.started", "rollback.completed", "rollback.failed") if rollback
                                      else ("execution.started", "execution.completed", "execution.failed"))
        base = {"alert_id": execution.get("alert_id"), "decision_id": execution.get("decision_id"),
                "execution_id": eid, "target_id": execution["target"].get("id")}
        with self.state.transaction():
            self.state.update_execution(eid, status="running", attempts=execution.get("attempts", 0) + 1,
                                        started_at=iso(self.clock()))
            self.audit.append(started, data={"action": execution["action"], "provider": execution["provider"],
                                             "attempt": execution.get("attempts", 0) + 1,
                                             "idempotency_key": execution["idempotency_key"]}, **base)
        crashpoint("before_execute")
        request = ExecutionRequest(execution_id=eid, decision_id=execution.get("decision_id") or "",
                                   action=execution["action"], target=execution["target"],
                                   params=execution.get("params") or {},
                                   idempotency_key=execution["idempotency_key"],
                                   pre_state=execution.get("pre_state") or {})
        try:
            result = self._executor(execution["provider"]).execute(request)
        except ExecutorError as exc:
            crashpoint("after_execute")
            attempts = execution.get("attempts", 0) + 1
            final = not exc.retryable or attempts >= MAX_ATTEMPTS
            with self.state.transaction():
                self.state.update_execution(eid, status="failed" if final else "pending", error=redact(str(exc)),
                                            finished_at=iso(self.clock()) if final else None)
                self.audit.append(failed, data={"error": str(exc), "final": final, "attempt": attempts}, **base)
            return self.state.get_execution(eid) or execution
        except IdgateError as exc:
            with self.state.transaction():
                self.state.update_execution(eid, status="failed", error=redact(str(exc)),
                                            finished_at=iso(self.clock()))
                self.audit.append(failed, data={"error": str(exc), "final": True}, **base)
            return self.state.get_execution(eid) or execution
        crashpoint("after_execute")
        now = self.clock()
        fields: Dict[str, Any] = {"status": result.status, "finished_at": iso(now), "detail": redact(result.detail),
                                  "calls": json.loads(redact(json.dumps(result.calls, default=str)))}
        if not rollback:
            fields["pre_state"] = json.loads(redact(json.dumps(result.pre_state, default=str)))
            if execution.get("confirm_within_s") and result.status == "done":
                fields["provisional_until"] = iso(now + timedelta(seconds=execution["confirm_within_s"]))
        with self.state.transaction():
            self.state.update_execution(eid, **fields)
            self.audit.append(completed, data={"status": result.status, "calls": fields["calls"],
                                               "provisional_until": fields.get("provisional_until")}, **base)
            if rollback and execution.get("rollback_of"):
                self.state.update_execution(execution["rollback_of"], status="rolled_back", rolled_back_by=eid)
        return self.state.get_execution(eid) or execution

    def confirm(self, execution_id: str, who: str) -> Dict[str, Any]:
        """A human keeps a provisional action: it will not be rolled back."""
        execution = self.execution(execution_id)
        if not execution.get("provisional_until") or execution.get("confirmed_by"):
            raise IdgateError("execution %s is not awaiting confirmation" % execution_id)
        if execution["status"] != "done":
            raise IdgateError("execution %s is %s" % (execution_id, execution["status"]))
        with self.state.transaction():
            self.state.update_execution(execution_id, confirmed_by=who, confirmed_at=iso(self.clock()))
            self.audit.append("execution.confirmed", actor=who, execution_id=execution_id,
                              decision_id=execution.get("decision_id"), alert_id=execution.get("alert_id"))
        return self.execution(execution_id)

    def execution(self, execution_id: str) -> Dict[str, Any]:
        execution = self.state.get_execution(execution_id)
        if execution is None:
            raise IdgateError("no execution %s" % execution_id)
        return execution

    def rollback(self, execution_id: str, who: str, reason: str = "") -> Dict[str, Any]:
        """Undo a done, reversible action with the catalog's inverse,
        recorded like any other action (and never run twice)."""
        original = self.execution(execution_id)
        if original["kind"] != "action":
            raise IdgateError("%s is itself a rollback" % execution_id)
        if original["status"] == "rolled_back":
            raise IdgateError("execution %s was already rolled back (%s)" % (execution_id, original.get("rolled_back_by")))
        if original["status"] not in ("done", "noop"):
            raise IdgateError("execution %s is %s: only done actions can be rolled back" % (
                execution_id, original["status"]))
        inverse = inverse_of(original["action"])
        if inverse is None:
            spec = CATALOG.get(original["action"])
            why = "heals itself" if spec and spec.self_healing else "cannot be undone"
            raise IdgateError("%s %s: there is no inverse to run" % (original["action"], why))
        decision = self.state.get_decision(original.get("decision_id") or "") or {
            "decision_id": original.get("decision_id"), "alert_id": original.get("alert_id")}
        with self.state.transaction():
            planned = self._plan_execution(decision, kind="rollback", action=inverse, params=original.get("params") or {},
                                           rollback_of=original, actor=who)
            if planned is not None:
                self.audit.append("rollback.started", actor=who, execution_id=planned["execution_id"],
                                  alert_id=original.get("alert_id"), decision_id=original.get("decision_id"),
                                  data={"rollback_of": execution_id, "inverse": inverse, "reason": reason,
                                        "planned": True})
        key_owner = planned or next((e for e in self.state.executions() if e.get("rollback_of") == execution_id), None)
        if key_owner is None:
            raise IdgateError("rollback of %s could not be planned" % execution_id)
        if not self.policy.kill_switch and key_owner["status"] in ("pending", "running"):
            return self._execute(self.state.get_execution(key_owner["execution_id"]) or key_owner)
        return key_owner

    def rollback_unconfirmed(self) -> int:
        """Provisional actions nobody confirmed in time are rolled back."""
        now = iso(self.clock())
        count = 0
        for execution in self.state.executions("done"):
            until = execution.get("provisional_until")
            if not until or execution.get("confirmed_by") or until >= now:
                continue
            if inverse_of(execution["action"]) is None:
                with self.state.transaction():
                    self.state.update_execution(execution["execution_id"], provisional_until=None,
                                                lapsed=True)
                    self.audit.append("execution.confirmed", actor="idgate", execution_id=execution["execution_id"],
                                      data={"note": "not confirmed in time; %s has no inverse" % execution["action"]})
                continue
            self.rollback(execution["execution_id"], "idgate", "not confirmed within the confirm_within window")
            count += 1
        return count

    # -- circuit breaker -------------------------------------------------------------
    def reset_breaker(self, who: str) -> None:
        with self.state.transaction():
            was = self.gate_state.breaker_tripped
            self.gate_state.reset_breaker()
            self.save_gate_state()
            self.audit.append("breaker.reset", actor=who, data={"was": was})

    # -- housekeeping ------------------------------------------------------------------
    def tick(self) -> Dict[str, int]:
        """Everything time or the outside world moves: expiry, provisional
        rollbacks, ticket decisions, pending executions, new tickets."""
        return {"expired": self.expire_due(), "rolled_back": self.rollback_unconfirmed(),
                "ticket_votes": self.poll_tickets(), "executed": self.run_pending(),
                "tickets_opened": self.open_tickets()}

    def close(self) -> None:
        self.state.close()

"""idgate's HTTP API as plain code, with no web framework in it.

``Api.call`` takes what any HTTP server hands over (operation name, the
Authorization header, path and query parameters, the body bytes, the
Idempotency-Key header) and returns a ``Result`` (status, JSON body,
headers). ``idgate serve`` (Starlette, ``app.py``) and the Splunk app's
persistent REST handlers both serve these same operations; the Splunk app,
which authenticates its users itself, calls ``Api.call_as`` with the caller.

Each operation is one entry of ``OPERATIONS``: its route, the roles that may
call it, the models of its input and output. The OpenAPI document is built
from the same table (``openapi.py``), so it cannot drift from the code.
"""
import functools
import hashlib
import hmac
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Tuple, Type

from pydantic import BaseModel, ValidationError

from .. import jsonfast
from ..audit import matches
from ..engine import Engine, Refused
from ..errors import IdgateError
from ..model import Alert
from ..secrets import redact, resolve
from ..validation import first_error, format_loc
from . import models as m
from .config import ApiConfig

log = logging.getLogger("idgate.api")

READ = frozenset({"evaluator", "approver", "admin"})
MAX_KEY_LENGTH = 200
ID_RE = re.compile(m.ID_PATTERN)


@dataclass(frozen=True)
class Caller:
    name: str
    roles: FrozenSet[str]
    # SPEC approval roles (soc-l2, ...); None: the run config's approvers entry
    approval_roles: Optional[Tuple[str, ...]] = None


@dataclass
class Result:
    status: int
    body: Any
    headers: Dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field_name: Optional[str] = None,
                 location: Optional[str] = None, headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.location, self.headers = field_name, location, headers or {}

    def result(self) -> Result:
        error: Dict[str, Any] = {"code": self.code, "message": redact(self.message)}
        if self.field is not None:
            error["field"] = self.field
        if self.location is not None:
            error["location"] = self.location
        return Result(self.status, {"error": error}, dict(self.headers))


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    roles: FrozenSet[str]
    run: Callable[["Call"], Tuple[int, Any]]
    summary: str
    response: Type[BaseModel]
    body: Optional[Type[BaseModel]] = None
    query: Optional[Type[BaseModel]] = None
    # path parameter → what it names, for 404s
    path_params: Tuple[str, ...] = ()
    tag: str = "decisions"

    @property
    def mutating(self) -> bool:
        return self.method != "GET"


@dataclass
class Call:
    """One validated call, as an operation sees it."""
    api: "Api"
    caller: Caller
    path: Dict[str, str]
    query: Any
    body: Any

    @property
    def engine(self) -> Engine:
        return self.api.engine


# -- authentication -----------------------------------------------------------------
class Tokens:
    """Bearer token → caller. Tokens are resolved once from their secret
    references; only their SHA-256 is kept, and a presented token is compared
    with every known one in constant time."""

    def __init__(self, config: ApiConfig):
        self._entries: List[Tuple[bytes, Caller]] = []
        for t in config.tokens:
            value = resolve(t.token, "api token for %s" % t.caller) or ""
            if len(value) < 16:
                raise IdgateError("api token for %s is shorter than 16 characters: use a random token" % t.caller)
            caller = Caller(t.caller, frozenset(t.roles),
                            tuple(t.approval_roles) if t.approval_roles is not None else None)
            self._entries.append((hashlib.sha256(value.encode()).digest(), caller))

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, authorization: Optional[str]) -> Caller:
        challenge = {"WWW-Authenticate": 'Bearer realm="idgate"'}
        if not authorization:
            raise ApiError(401, "unauthenticated", "Authorization: a 'Bearer <token>' header is needed",
                           "Authorization", "header", challenge)
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthenticated", "Authorization: the header must be 'Bearer <token>'",
                           "Authorization", "header", challenge)
        presented = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        found: Optional[Caller] = None
        for digest, caller in self._entries:  # no early exit: time does not tell which entry matched
            if hmac.compare_digest(digest, presented):
                found = caller
        if found is None:
            raise ApiError(401, "unauthenticated", "Authorization: the bearer token is not valid", "Authorization", "header",
                           challenge)
        return found


def link_of(engine: Engine, decision_id: Optional[str]) -> Dict[str, Any]:
    return engine.links(decision_id) if decision_id else {}


# -- the operations -----------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _version() -> str:
    try:
        from importlib.metadata import version
        return version("idgate")
    except Exception:
        return "0+unknown"


def op_whoami(c: Call) -> Tuple[int, Any]:
    return 200, {"caller": c.caller.name, "roles": sorted(c.caller.roles), "version": _version(),
                 "policy_version": c.engine.policy.version}


def _decide(c: Call, delegate: bool) -> Tuple[int, Any]:
    alert: Alert = c.body
    duplicate = c.engine.state.alert_seen(alert.id)
    decisions = c.engine.submit(alert, source_id="api:" + c.caller.name, delegate=delegate)
    out = []
    for d in decisions:
        link = link_of(c.engine, d.get("decision_id"))
        executions = link.get("executions") or []
        current = c.engine.state.get_execution(executions[0]) if executions else None
        out.append(dict(d, request_id=link.get("request_id"),
                        execution_id=current["execution_id"] if current else None,
                        execution_status=current["status"] if current else None))
    return 200, {"alert_id": alert.id, "duplicate": duplicate, "decisions": out}


def op_evaluate(c: Call) -> Tuple[int, Any]:
    return _decide(c, delegate=True)


def op_submit(c: Call) -> Tuple[int, Any]:
    return _decide(c, delegate=False)


def _executions_of(engine: Engine, request: Dict[str, Any]) -> List[Dict[str, Any]]:
    ids = link_of(engine, request.get("decision_id")).get("executions") or []
    return [e for e in (engine.state.get_execution(i) for i in ids) if e is not None]


def _request_view(c: Call, request_id: str) -> Dict[str, Any]:
    request = c.engine.request(request_id)
    request["executions"] = _executions_of(c.engine, request)
    return request


def op_list_requests(c: Call) -> Tuple[int, Any]:
    q: m.RequestsQuery = c.query
    rows = c.engine.queue(None if q.status == "all" else q.status)[:q.limit]
    for r in rows:
        r["approvals"] = c.engine.state.approvals(r["request_id"])
    return 200, {"requests": rows}


def op_show_request(c: Call) -> Tuple[int, Any]:
    c.engine.expire_due()
    return 200, _request_view(c, c.path["request_id"])


def op_approve(c: Call) -> Tuple[int, Any]:
    b: m.ApproveBody = c.body
    roles = list(c.caller.approval_roles) if c.caller.approval_roles is not None else None
    c.engine.approve(c.path["request_id"], c.caller.name, roles=roles, digest=b.digest, comment=b.comment,
                     via="api")
    return 200, _request_view(c, c.path["request_id"])


def op_deny(c: Call) -> Tuple[int, Any]:
    b: m.DenyBody = c.body
    roles = list(c.caller.approval_roles) if c.caller.approval_roles is not None else None
    c.engine.deny(c.path["request_id"], c.caller.name, comment=b.comment, via="api", roles=roles)
    return 200, _request_view(c, c.path["request_id"])


def op_execute_approved(c: Call) -> Tuple[int, Any]:
    request = c.engine.request(c.path["request_id"])
    if request["status"] != "approved":
        raise ApiError(409, "conflict", "request %s is %s: only an approved request runs" % (
            request["request_id"], request["status"]))
    if c.engine.policy.kill_switch:
        raise ApiError(409, "kill_switch", "the kill switch is on: nothing is executed")
    c.engine.run_pending()  # idempotent: runs what is planned and not finished, nothing twice
    return 200, {"request_id": request["request_id"], "executions": _executions_of(c.engine, request)}


def op_show_execution(c: Call) -> Tuple[int, Any]:
    return 200, c.engine.execution(c.path["execution_id"])


def op_confirm(c: Call) -> Tuple[int, Any]:
    return 200, c.engine.confirm(c.path["execution_id"], c.caller.name)


def op_rollback(c: Call) -> Tuple[int, Any]:
    b: m.RollbackBody = c.body
    return 200, c.engine.rollback(c.path["execution_id"], c.caller.name, b.reason)


def op_outcome(c: Call) -> Tuple[int, Any]:
    b: m.OutcomeBody = c.body
    return 200, c.engine.report_outcome(c.path["execution_id"], b.status, c.caller.name, b.detail)


def op_audit(c: Call) -> Tuple[int, Any]:
    q: m.AuditQuery = c.query
    records: List[Dict[str, Any]] = []
    more: Optional[int] = None
    for record in c.engine.state.audit_records(q.after_seq):
        if not matches(record, q.since, q.until, q.alert_id, q.identity):
            continue
        if len(records) == q.limit:
            more = records[-1]["seq"]
            break
        records.append(record)
    return 200, {"records": records, "next_after_seq": more}


def op_audit_verify(c: Call) -> Tuple[int, Any]:
    return 200, c.engine.audit.verify().to_dict()


def op_breaker_reset(c: Call) -> Tuple[int, Any]:
    c.engine.reset_breaker(c.caller.name)
    return 200, {"tripped": bool(c.engine.gate_state.breaker_tripped), "reset_by": c.caller.name}


APPROVER = frozenset({"approver"})
ACTOR = frozenset({"approver", "admin"})
EVALUATOR = frozenset({"evaluator", "admin"})

OPERATIONS: List[Operation] = [
    Operation("whoami", "GET", "/v1/whoami", READ, op_whoami,
              "Who the token belongs to and which roles it has (connectivity test)", m.WhoAmI, tag="service"),
    Operation("evaluate", "POST", "/v1/evaluate", EVALUATOR, op_evaluate,
              "Decide an AI-scored alert; the caller executes auto decisions itself and reports the outcome",
              m.DecideResponse, body=Alert),
    Operation("submit", "POST", "/v1/alerts", EVALUATOR, op_submit,
              "Submit an alert to the full pipeline: idgate executes auto decisions and opens review requests",
              m.DecideResponse, body=Alert),
    Operation("list_requests", "GET", "/v1/requests", READ, op_list_requests,
              "Review requests, by status", m.RequestList, query=m.RequestsQuery, tag="review"),
    Operation("show_request", "GET", "/v1/requests/{request_id}", READ, op_show_request,
              "One review request: what will run, its digest, votes, executions", m.ReviewRequest,
              path_params=("request_id",), tag="review"),
    Operation("approve", "POST", "/v1/requests/{request_id}/approve", APPROVER, op_approve,
              "Approve as the authenticated caller; binds to the digest", m.ReviewRequest, body=m.ApproveBody,
              path_params=("request_id",), tag="review"),
    Operation("deny", "POST", "/v1/requests/{request_id}/deny", APPROVER, op_deny,
              "Deny as the authenticated caller", m.ReviewRequest, body=m.DenyBody,
              path_params=("request_id",), tag="review"),
    Operation("execute_approved", "POST", "/v1/requests/{request_id}/execute", ACTOR, op_execute_approved,
              "Run (or re-run after a failure) what an approved request planned; never twice",
              m.ExecutionList, body=m.EmptyBody, path_params=("request_id",), tag="review"),
    Operation("show_execution", "GET", "/v1/executions/{execution_id}", READ, op_show_execution,
              "One execution", m.Execution, path_params=("execution_id",), tag="executions"),
    Operation("confirm", "POST", "/v1/executions/{execution_id}/confirm", ACTOR, op_confirm,
              "Keep a provisional action: it will not be rolled back", m.Execution, body=m.ConfirmBody,
              path_params=("execution_id",), tag="executions"),
    Operation("rollback", "POST", "/v1/executions/{execution_id}/rollback", ACTOR, op_rollback,
              "Undo a done, reversible action with its inverse", m.Execution, body=m.RollbackBody,
              path_params=("execution_id",), tag="executions"),
    Operation("outcome", "POST", "/v1/executions/{execution_id}/outcome", EVALUATOR, op_outcome,
              "Record the outcome of a delegated execution the caller ran with its own tools", m.Execution,
              body=m.OutcomeBody, path_params=("execution_id",), tag="executions"),
    Operation("audit", "GET", "/v1/audit", ACTOR, op_audit,
              "Audit records, filtered, in pages", m.AuditPage, query=m.AuditQuery, tag="audit"),
    Operation("audit_verify", "GET", "/v1/audit/verify", ACTOR, op_audit_verify,
              "Verify the audit trail's hash chain", m.AuditVerification, tag="audit"),
    Operation("breaker_reset", "POST", "/v1/breaker/reset", frozenset({"admin"}), op_breaker_reset,
              "Reset the circuit breaker after a human looked at the burst", m.BreakerState, body=m.EmptyBody,
              tag="service"),
]
BY_NAME = {op.name: op for op in OPERATIONS}


# -- the dispatcher ---------------------------------------------------------------------------
def _validation_error(err: ValidationError, data: Any, model: Type[BaseModel], where: str) -> ApiError:
    loc, message = first_error(err, data, model)
    name = format_loc(loc) or None
    return ApiError(422, "invalid", "%s: %s" % (name, message) if name else message, name, where)


def _refusal_status(exc: Refused) -> int:
    # who may vote is a permission (403); the request's state is a conflict (409)
    return 403 if exc.kind == "forbidden" else 409


class Api:
    def __init__(self, engine: Engine, config: ApiConfig):
        self.engine = engine
        self.config = config
        self.tokens = Tokens(config)
        # the engine and its store are used by one call at a time
        self.lock = threading.RLock()

    def call(self, op_name: str, authorization: Optional[str], path: Optional[Mapping[str, str]] = None,
             query: Optional[Mapping[str, str]] = None, body: Optional[bytes] = None,
             idempotency_key: Optional[str] = None) -> Result:
        try:
            caller = self.tokens.authenticate(authorization)
        except ApiError as err:
            return err.result()
        return self.call_as(op_name, caller, path, query, body, idempotency_key)

    def call_as(self, op_name: str, caller: Caller, path: Optional[Mapping[str, str]] = None,
                query: Optional[Mapping[str, str]] = None, body: Optional[bytes] = None,
                idempotency_key: Optional[str] = None) -> Result:
        op = BY_NAME.get(op_name)
        if op is None:
            return ApiError(404, "not_found", "no operation %s" % op_name).result()
        try:
            if not op.roles & caller.roles:
                raise ApiError(403, "forbidden", "%s needs one of the roles %s; %s has %s" % (
                    op.name, ", ".join(sorted(op.roles)), caller.name, ", ".join(sorted(caller.roles))))
            call, fingerprint = self._parse(op, caller, path or {}, query or {}, body)
            key = self._idempotency_key(op, idempotency_key)
            with self.lock:
                if key is not None:
                    stored = self.engine.state.get_meta("idem:%s:%s" % (caller.name, key))
                    if stored is not None:
                        if stored["fingerprint"] != fingerprint:
                            raise ApiError(422, "idempotency_key_reused",
                                           "Idempotency-Key: this key was used for a different request",
                                           "Idempotency-Key", "header")
                        return Result(stored["status"], stored["body"], {"Idempotent-Replayed": "true"})
                try:
                    result = self._run(op, call)
                except ApiError as err:  # a refusal is an answer too: a retry gets it again
                    result = err.result()
                if key is not None and result.status < 500:
                    with self.engine.state.transaction():
                        self.engine.state.set_meta("idem:%s:%s" % (caller.name, key), {
                            "fingerprint": fingerprint, "status": result.status, "body": result.body})
            log.info("%s %s by %s: %d", op.method, op.name, caller.name, result.status)
            return result
        except ApiError as err:
            log.info("%s %s by %s: %d %s", op.method, op.name, caller.name, err.status, err.code)
            return err.result()
        except Exception as exc:  # a bug of ours: the caller gets a plain 500, the log the detail
            log.error("%s %s by %s failed: %s: %s", op.method, op.name, caller.name, type(exc).__name__,
                      redact(str(exc)), exc_info=log.isEnabledFor(logging.DEBUG))
            return ApiError(500, "internal", "internal error (see the idgate server log)").result()

    def _idempotency_key(self, op: Operation, key: Optional[str]) -> Optional[str]:
        if key is None or not op.mutating:
            return None
        if not (1 <= len(key) <= MAX_KEY_LENGTH) or not key.isprintable() or not key.isascii():
            raise ApiError(400, "invalid", "Idempotency-Key must be 1 to %d printable ASCII characters" %
                           MAX_KEY_LENGTH, "Idempotency-Key", "header")
        return key

    def _parse(self, op: Operation, caller: Caller, path: Mapping[str, str], query: Mapping[str, str],
               body: Optional[bytes]) -> Tuple[Call, str]:
        for name in op.path_params:
            value = path.get(name, "")
            if not ID_RE.fullmatch(value):
                raise ApiError(422, "invalid", "%s: must be 1 to 128 of A-Z a-z 0-9 _ . : @ -" % name, name, "path")
        q = None
        if op.query is not None:
            q = self._validate(op.query, dict(query), "query")
        elif query:
            name = sorted(query)[0]
            raise ApiError(422, "invalid", "%s: unknown query parameter" % name, name, "query")
        data: Any = None
        b = None
        if op.body is not None:
            if body is not None and len(body) > self.config.max_body_bytes:
                raise ApiError(413, "too_large", "the body is larger than %d bytes" % self.config.max_body_bytes,
                               "body", "body")
            if body is None or not body.strip():
                data = {}
            else:
                try:
                    data = jsonfast.loads(body)
                except jsonfast.DecodeError:
                    raise ApiError(400, "invalid_json", "the body is not valid JSON", "body", "body") from None
            if not isinstance(data, dict):
                raise ApiError(422, "invalid", "the body must be a JSON object", "body", "body")
            b = self._validate(op.body, data, "body")
        elif body is not None and body.strip():
            raise ApiError(400, "invalid", "%s takes no body" % op.name, "body", "body")
        fingerprint = hashlib.sha256(jsonfast.dumpb(
            [op.name, sorted(path.items()), sorted((query or {}).items()), data])).hexdigest()
        return Call(self, caller, dict(path), q, b), fingerprint

    @staticmethod
    def _validate(model: Type[BaseModel], data: Dict[str, Any], where: str) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as err:
            raise _validation_error(err, data, model, where) from None

    def _run(self, op: Operation, call: Call) -> Result:
        state = self.engine.state
        if "request_id" in op.path_params and state.get_request(call.path["request_id"]) is None:
            raise ApiError(404, "not_found", "request_id: no review request %s" % call.path["request_id"], "request_id", "path")
        if "execution_id" in op.path_params and state.get_execution(call.path["execution_id"]) is None:
            raise ApiError(404, "not_found", "execution_id: no execution %s" % call.path["execution_id"], "execution_id", "path")
        try:
            status, body = op.run(call)
        except Refused as exc:
            message = str(exc)
            raise ApiError(_refusal_status(exc), "refused", message) from None
        except IdgateError as exc:
            # the engine's one-line errors are about the state of what was named
            raise ApiError(409 if op.path_params else 422, "conflict" if op.path_params else "invalid",
                           str(exc)) from None
        return Result(status, body)

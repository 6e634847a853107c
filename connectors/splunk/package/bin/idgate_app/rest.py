"""idgate's JSON API inside splunkd: a persistent REST handler that routes
``/services/idgate/v1/...`` to the very handlers ``idgate serve`` uses
(``idgate.api.handlers``). splunkd has authenticated the user; the caller's
API roles come from their Splunk capabilities and the approver is the Splunk
user (approval roles: their Splunk roles)."""
import json
import logging
import re
from typing import Any, Dict, List, Optional, Tuple

from idgate.api.config import ApiConfig
from idgate.api.handlers import OPERATIONS, Api, ApiError, Caller, Operation
from idgate.errors import IdgateError
from idgate.secrets import redact

from .context import SplunkContext

log = logging.getLogger("idgate.rest")

# Splunk capability → API role
CAPABILITY_ROLES = {"idgate_evaluate": "evaluator", "idgate_approve": "approver", "idgate_admin": "admin"}
PREFIX = "/idgate"


def _route(op: Operation) -> "re.Pattern[str]":
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", op.path)
    return re.compile("^" + pattern + "/?$")


ROUTES: List[Tuple[Operation, "re.Pattern[str]"]] = [(op, _route(op)) for op in OPERATIONS]


def match(method: str, path: str) -> Tuple[Optional[Operation], Dict[str, str], bool]:
    """(operation, path parameters, whether the path exists for another method)."""
    other = False
    for op, regex in ROUTES:
        m = regex.match(path)
        if m:
            if op.method == method:
                return op, m.groupdict(), False
            other = True
    return None, {}, other


def caller_for(ctx: SplunkContext, user: str) -> Caller:
    """The Splunk user as an API caller: roles from capabilities (what the
    user may do), approval roles from their Splunk roles (what policy rules
    name in ``approvals.roles``)."""
    response = ctx.service.get("authentication/current-context", output_mode="json")
    content = (json.loads(response.body.read().decode("utf-8")).get("entry") or [{}])[0].get("content") or {}
    if content.get("username") and content["username"] != user:
        raise IdgateError("the session belongs to %s, not %s" % (content["username"], user))
    capabilities = set(content.get("capabilities") or [])
    roles = frozenset(role for cap, role in CAPABILITY_ROLES.items() if cap in capabilities)
    return Caller(user, roles, tuple(sorted(content.get("roles") or [])))


def _pairs(value: Any) -> Dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(k): str(v) for k, v in (value or [])}


def handle(request: Dict[str, Any], context: Optional[SplunkContext] = None) -> Dict[str, Any]:
    """One splunkd persistent request → ``{"status", "payload", "headers"}``."""
    method = str(request.get("method") or "GET").upper()
    rest_path = str(request.get("rest_path") or "")
    path = rest_path[len(PREFIX):] if rest_path.startswith(PREFIX + "/") else rest_path
    op, params, other = match(method, path)
    if op is None:
        error = ApiError(405 if other else 404, "method_not_allowed" if other else "not_found",
                         "%s %s is not an idgate operation" % (method, rest_path))
        return _reply(error.result())
    session = request.get("session") or {}
    user, token = session.get("user"), session.get("authtoken")
    if not user or not token:
        return _reply(ApiError(401, "unauthenticated", "no Splunk session (passSession = true in restmap.conf)").result())
    server = request.get("server") or {}
    try:
        ctx = context or SplunkContext(server.get("rest_uri") or "https://127.0.0.1:8089", token, user)
        caller = caller_for(ctx, user)
        api = Api(ctx.engine(), ApiConfig())
    except IdgateError as exc:
        return _reply(ApiError(503, "unavailable", str(exc)).result())
    query = _pairs(request.get("query"))
    query.pop("output_mode", None)  # splunkd's own parameter
    body = request.get("payload")
    headers = _pairs(request.get("headers"))
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    result = api.call_as(op.name, caller, params, query,
                         body.encode("utf-8") if isinstance(body, str) else body, key)
    return _reply(result)


def _reply(result: Any) -> Dict[str, Any]:
    return {"status": result.status, "payload": result.body,
            "headers": dict(result.headers, **{"Content-Type": "application/json"})}


try:  # only inside splunkd
    from splunk.persistconn.application import PersistentServerConnectionApplication  # type: ignore
except ImportError:  # tests and tools outside Splunk
    PersistentServerConnectionApplication = object  # type: ignore


class IdgateRestHandler(PersistentServerConnectionApplication):  # type: ignore[misc,valid-type]
    def __init__(self, command_line: Any = None, command_arg: Any = None) -> None:
        if PersistentServerConnectionApplication is not object:
            super().__init__()

    def handle(self, in_string: Any) -> Dict[str, Any]:
        try:
            request = json.loads(in_string.decode("utf-8") if isinstance(in_string, bytes) else in_string)
        except ValueError:
            return {"status": 400, "payload": {"error": {"code": "invalid_json", "message": "bad request"}}}
        try:
            return handle(request)
        except Exception as exc:  # never a traceback to the caller; the log has the detail
            log.error("idgate REST: %s: %s", type(exc).__name__, redact(str(exc)))
            return {"status": 500, "payload": {"error": {"code": "internal",
                                                          "message": "internal error (see idgate logs)"}}}

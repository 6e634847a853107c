"""Declarative remediation playbooks (``playbooks/<provider>.yaml``) and the
engine that runs them.

A playbook says, per catalog action a provider supports: the least scopes,
the inverse, the parameters it accepts, how the current state is read
(precondition and pre-state capture), when the action is already in effect
(noop) or cannot apply (refuse), and the API calls. Executors take their
allow-list and scopes from it, so adding a provider is one module (auth and
error mapping) plus one playbook file.

Template values come from the recommendation (target, params) and so are
untrusted: each is checked against the playbook's pattern/enum and URL-quoted
where it lands in a path.
"""
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..catalog import CATALOG, inverse_of
from ..errors import ConfigError
from ..http import HttpClient, HttpError
from ..secrets import redact
from .base import ExecutionRequest, ExecutionResult, Executor, ExecutorError

PLAYBOOKS_ENV = "IDGATE_PLAYBOOKS"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParamSpec(_Strict):
    required: bool = False
    enum: Optional[List[Any]] = None
    pattern: Optional[str] = None
    default: Any = None
    secret: bool = False        # e.g. a leaked token to revoke: registered for redaction, never echoed


class ReadSpec(_Strict):
    method: str = "GET"
    path: str
    query: Dict[str, Any] = Field(default_factory=dict)
    json_body: Optional[Any] = Field(default=None, alias="json")
    # statuses meaning "the target does not exist"
    absent_statuses: List[int] = Field(default_factory=lambda: [404])
    absent: str = "error"        # error | noop
    capture: Dict[str, str] = Field(default_factory=dict)   # pre_state key → dotted path
    items: Optional[str] = None  # dotted path to a list to search
    match: Dict[str, Any] = Field(default_factory=dict)     # item field → template
    limiter: str = "default"

    @field_validator("absent")
    @classmethod
    def _absent(cls, value: str) -> str:
        if value not in ("error", "noop"):
            raise ValueError("absent must be error or noop")
        return value


class StepSpec(_Strict):
    method: str
    path: str
    query: Dict[str, Any] = Field(default_factory=dict)
    json_body: Optional[Any] = Field(default=None, alias="json")
    form: Optional[Dict[str, Any]] = None
    ok: List[int] = Field(default_factory=list)
    # a repeat is harmless (the provider treats it as a no-op): let the
    # shared retry policy repeat it on 5xx/timeouts
    idempotent: Optional[bool] = None
    auth: bool = True
    limiter: str = "default"


class ActionPlaybook(_Strict):
    summary: str = ""
    scopes: List[str] = Field(default_factory=list)
    inverse: Optional[str] = None
    target: str = "identity"               # what the target id names, for humans
    target_pattern: Optional[str] = None   # when set, inserted unquoted (may hold '/')
    params: Dict[str, ParamSpec] = Field(default_factory=dict)
    read: Optional[ReadSpec] = None
    noop_when: Dict[str, List[Any]] = Field(default_factory=dict)
    noop_unless: Dict[str, List[Any]] = Field(default_factory=dict)
    refuse_when: Dict[str, List[Any]] = Field(default_factory=dict)
    # an inverse runs only when the captured pre-state says the target was
    # in this state before (else rollback leaves it alone)
    requires_pre_state: Dict[str, List[Any]] = Field(default_factory=dict)
    steps: List[StepSpec] = Field(default_factory=list)
    handler: Optional[str] = None          # provider code instead of HTTP steps (boto3)
    irreversible: bool = False
    notes: str = ""


class RateSpec(_Strict):
    rate: Any = None
    burst: Optional[float] = None


class Playbook(_Strict):
    provider: str
    description: str = ""
    auth: Dict[str, Any] = Field(default_factory=dict)
    rate_limits: Dict[str, RateSpec] = Field(default_factory=dict)
    actions: Dict[str, ActionPlaybook]
    source: str = ""

    def scopes(self) -> Dict[str, List[str]]:
        return {name: list(a.scopes) for name, a in self.actions.items()}


def playbook_dirs() -> List[Path]:
    """Where playbooks are looked up: $IDGATE_PLAYBOOKS, the source checkout's
    ``playbooks/``, then the copy packaged as ``idgate/data/playbooks``."""
    dirs = []
    if os.environ.get(PLAYBOOKS_ENV):
        dirs.append(Path(os.environ[PLAYBOOKS_ENV]))
    here = Path(__file__).resolve()
    dirs.append(here.parents[3] / "playbooks")
    dirs.append(here.parents[1] / "data" / "playbooks")
    return dirs


_cache: Dict[str, Playbook] = {}


def load_playbook(provider: str, path: Optional[str] = None) -> Playbook:
    if path is None and provider in _cache:
        return _cache[provider]
    if path is None:
        for folder in playbook_dirs():
            candidate = folder / ("%s.yaml" % provider)
            if candidate.is_file():
                path = str(candidate)
                break
        else:
            raise ConfigError("no playbook for provider %r (looked in %s)"
                              % (provider, ", ".join(str(d) for d in playbook_dirs())))
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ConfigError("cannot read playbook (%s)" % exc.strerror, path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError("invalid YAML: %s" % getattr(exc, "problem", exc), path,
                          mark.line + 1 if mark else 0) from None
    try:
        book = Playbook.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(err["msg"], path, 0, ".".join(str(p) for p in err["loc"])) from None
    for name, action in book.actions.items():
        _check_action(book, name, action, path)
    book.source = path
    if provider != book.provider:
        raise ConfigError("playbook is for provider %r, not %r" % (book.provider, provider), path)
    _cache[provider] = book
    return book


def _check_action(book: Playbook, name: str, action: ActionPlaybook, path: str) -> None:
    if not action.steps and not action.handler:
        raise ConfigError("an action needs steps or a handler", path, 0, "actions.%s" % name)
    if name in CATALOG and action.inverse is not None and inverse_of(name) not in (None, action.inverse):
        raise ConfigError("inverse %r disagrees with the catalog (%r)" % (action.inverse, inverse_of(name)),
                          path, 0, "actions.%s.inverse" % name)
    if action.inverse and action.inverse not in book.actions:
        raise ConfigError("inverse %r has no playbook entry" % action.inverse, path, 0,
                          "actions.%s.inverse" % name)


# ---------------------------------------------------------------- templates

_FIELD = re.compile(r"\{([a-zA-Z_][\w.]*)\}")


def dig(data: Any, dotted: str) -> Any:
    if dotted == ".":
        return data
    for part in dotted.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


class Context:
    """The values a playbook template may use."""

    def __init__(self, target: str, params: Dict[str, Any], pre_state: Dict[str, Any],
                 state: Optional[Dict[str, Any]] = None, target_raw: bool = False,
                 extra: Optional[Dict[str, Any]] = None):
        self.values = {"target": target, "params": params, "pre_state": pre_state,
                       "state": state or {}}
        self.values.update(extra or {})
        self.target_raw = target_raw

    def lookup(self, name: str) -> Any:
        return dig(self.values, name)

    def path(self, template: str) -> str:
        def one(m: "re.Match") -> str:
            name = m.group(1)
            value = self.lookup(name)
            if value is None:
                raise ExecutorError("playbook needs %s, which is not set" % name)
            if name == "target" and self.target_raw:
                return str(value)
            return quote(str(value), safe="")
        return _FIELD.sub(one, template)

    def value(self, template: Any) -> Any:
        if isinstance(template, dict):
            return {k: self.value(v) for k, v in template.items()}
        if isinstance(template, list):
            return [self.value(v) for v in template]
        if isinstance(template, str):
            whole = _FIELD.fullmatch(template)
            if whole:          # keep the type (bool, list, null)
                return self.lookup(whole.group(1))
            return _FIELD.sub(lambda m: str(self._required(m.group(1))), template)
        return template

    def _required(self, name: str) -> Any:
        value = self.lookup(name)
        if value is None:
            raise ExecutorError("playbook needs %s, which is not set" % name)
        return value


# ---------------------------------------------------------------- engine

def provider_id(target_id: str, provider: str) -> str:
    """``okta:00u1`` → ``00u1``."""
    prefix = provider + ":"
    return target_id[len(prefix):] if target_id.startswith(prefix) else target_id


class PlaybookExecutor(Executor):
    """Runs a provider's playbook. A provider module subclasses it for auth,
    error wording and any ``handler`` actions."""

    playbook_name = ""

    def __init__(self, config: Dict[str, Any], playbook: Optional[Playbook] = None):
        self.config = dict(config or {})
        self.playbook = playbook or load_playbook(self.playbook_name or self.provider,
                                                  self.config.get("playbook"))
        allowed = self.config.get("allow")
        actions = self.playbook.actions
        if allowed is not None:
            unknown = sorted(set(allowed) - set(actions))
            if unknown:
                raise ConfigError("executors.%s.allow: %s not in the %s playbook (%s)"
                                  % (self.provider, ", ".join(unknown), self.provider, ", ".join(sorted(actions))))
            actions = {k: v for k, v in actions.items() if k in allowed}
        self.allowed = actions
        # instance attribute: the declared least scopes, read by `idgate doctor`
        self.scopes = {name: list(a.scopes) for name, a in actions.items()}
        self.clients: Dict[str, HttpClient] = {}

    # -- HTTP plumbing, shared by the HTTP providers
    base_url = ""
    auth_scheme = "Bearer"
    token_source: Any = None
    default_headers: Dict[str, str] = {"Accept": "application/json"}

    def authorize(self, headers: Dict[str, str]) -> None:
        if self.token_source is not None:
            headers["Authorization"] = "%s %s" % (self.auth_scheme, self.token_source.token())

    def reauth(self) -> None:
        if self.token_source is not None:
            self.token_source.invalidate()

    def http_options(self) -> Dict[str, Any]:
        """Timeouts, TLS, proxies and retry bounds from the executor config.
        ``sleep``/``clock`` are injected by tests (and then the limiters are
        private to this executor, not shared process-wide)."""
        from ..http import RetryPolicy
        cfg = self.config
        retry = cfg.get("retry") or {}
        options: Dict[str, Any] = {
            "timeout": tuple(cfg["timeout"]) if isinstance(cfg.get("timeout"), list) else cfg.get("timeout", (5.0, 30.0)),
            "verify": cfg.get("verify", True),
            "proxies": cfg.get("proxies"),
            "retry": RetryPolicy(**retry) if retry else RetryPolicy(),
        }
        if cfg.get("sleep"):
            options["sleep"] = cfg["sleep"]
        if cfg.get("session") is not None:
            options["session"] = cfg["session"]
        return options

    def limiter(self, group: str) -> Any:
        from .. import ratelimit
        limits = rate_limits(self.playbook, self.config)
        rate, burst = limits.get(group) or limits.get("default") or (None, None)
        if self.config.get("sleep") or self.config.get("clock"):
            kwargs: Dict[str, Any] = {"name": group}
            if self.config.get("sleep"):
                kwargs["sleep"] = self.config["sleep"]
            if self.config.get("clock"):
                kwargs["clock"] = self.config["clock"]
            return ratelimit.RateLimiter(rate, burst, **kwargs)
        return ratelimit.shared("%s:%s:%s" % (self.provider, self.base_url, group), rate, burst)

    def client(self, limiter: str = "default", auth: bool = True) -> HttpClient:
        key = "%s:%s" % (limiter, auth)
        if key not in self.clients:
            options = self.http_options()
            if "session" not in options and self.clients:
                options["session"] = next(iter(self.clients.values())).session
            self.clients[key] = HttpClient(
                self.provider, self.base_url, headers=self.default_headers,
                auth=self.authorize if auth else None,
                reauth=self.reauth if auth and self.token_source is not None else None,
                rate_limiter=self.limiter(limiter), **options)
        return self.clients[key]

    def describe_http_error(self, error: HttpError, action: str) -> str:
        """Provider wording for a failed call. 403 names the scopes."""
        scopes = ", ".join(self.scopes.get(action, [])) or "(none declared)"
        if error.status == 401:
            return "%s (the credentials were rejected: expired or revoked?)" % error
        if error.status == 403:
            return "%s (missing permission: %s needs %s)" % (error, action, scopes)
        if error.status == 404:
            return "%s (the target is gone)" % error
        if error.status == 429:
            return "%s (rate limited; retry later)" % error
        return str(error)

    def is_retryable(self, error: HttpError) -> bool:
        return error.retryable

    # -- the engine
    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        action = self.allowed.get(request.action)
        if action is None:
            raise ExecutorError("%s: action %r is not allowed (allowed: %s)"
                                % (self.provider, request.action, ", ".join(sorted(self.allowed)) or "none"))
        target = provider_id(str((request.target or {}).get("id") or ""), self.provider)
        if not target:
            raise ExecutorError("%s: %s needs a target id" % (self.provider, request.action))
        if action.target_pattern and not re.fullmatch(action.target_pattern, target):
            raise ExecutorError("%s: %s target %r is not a valid %s" % (
                self.provider, request.action, redact(target)[:120], action.target))
        params = self._params(request, action)
        pre = dict(request.pre_state or {})
        for key, allowed in action.requires_pre_state.items():
            if pre and key in pre and pre.get(key) not in allowed:
                return ExecutionResult(status="noop", pre_state={}, detail=(
                    "%s was %r before the original action, not %s: left as is"
                    % (key, pre.get(key), "/".join(map(str, allowed)))))
        ctx = Context(target, params, pre, target_raw=bool(action.target_pattern),
                      extra={"request": {"execution_id": request.execution_id,
                                         "idempotency_key": request.idempotency_key}})
        if action.handler:
            return getattr(self, action.handler)(request, action, ctx)
        return self.run_steps(request, action, ctx)

    def _params(self, request: ExecutionRequest, action: ActionPlaybook) -> Dict[str, Any]:
        given = dict(request.params or {})
        unknown = sorted(set(given) - set(action.params))
        if unknown:
            raise ExecutorError("%s: %s does not take parameter(s) %s" % (
                self.provider, request.action, ", ".join(unknown)))
        params: Dict[str, Any] = {}
        for name, spec in action.params.items():
            value = given.get(name, spec.default)
            if value is None:
                if spec.required:
                    raise ExecutorError("%s: %s needs parameter %r" % (self.provider, request.action, name))
                continue
            if spec.secret:
                from .. import secrets
                secrets.register(str(value))
            if spec.enum is not None and value not in spec.enum:
                raise ExecutorError("%s: %s parameter %r must be one of %s" % (
                    self.provider, request.action, name, ", ".join(map(str, spec.enum))))
            if spec.pattern and not re.fullmatch(spec.pattern, str(value)):
                shown = "***" if spec.secret else redact(str(value))[:80]
                raise ExecutorError("%s: %s parameter %r: %r is not valid" % (
                    self.provider, request.action, name, shown))
            params[name] = value
        return params

    def run_steps(self, request: ExecutionRequest, action: ActionPlaybook, ctx: Context) -> ExecutionResult:
        calls: List[Dict[str, Any]] = []
        state: Dict[str, Any] = {}
        if action.read is not None:
            state = self._read(request.action, action.read, ctx, calls)
            ctx.values["state"] = state
            if not state.get("exists", True):
                if action.read.absent == "noop":
                    return ExecutionResult(status="noop", calls=calls, pre_state=_public(state),
                                           detail="the target is already gone")
                raise ExecutorError("%s: cannot %s %s: the target is gone (HTTP %s)" % (
                    self.provider, request.action, redact(ctx.values["target"])[:120],
                    calls[-1]["status"]), status=404)
            for key, values in action.refuse_when.items():
                if state.get(key) in values:
                    raise ExecutorError("%s: cannot %s: %s is %r" % (
                        self.provider, request.action, key, state.get(key)))
            if _any_in(state, action.noop_when) or (
                    action.noop_unless and not _all_in(state, action.noop_unless)):
                return ExecutionResult(status="noop", calls=calls, pre_state=_public(state),
                                       detail="already in effect")
        for step in action.steps:
            self._call(request.action, step.method, step.path, ctx, calls, query=step.query,
                       json_body=step.json_body, form=step.form, ok=step.ok,
                       idempotent=step.idempotent, limiter=step.limiter, auth=step.auth,
                       idempotency_key=request.idempotency_key or None)
        return ExecutionResult(status="done", calls=calls, pre_state=_public(state),
                               detail=action.summary)

    def _read(self, action_name: str, read: ReadSpec, ctx: Context, calls: List[Dict[str, Any]]) -> Dict[str, Any]:
        response = self._call(action_name, read.method, read.path, ctx, calls, query=read.query,
                              json_body=read.json_body, ok=read.absent_statuses, idempotent=True,
                              limiter=read.limiter)
        if response.status_code in read.absent_statuses:
            return {"exists": False}
        body = _json(response)
        state: Dict[str, Any] = {"exists": True}
        if read.items is not None:
            wanted = {k: ctx.value(v) for k, v in read.match.items()}
            items = dig(body, read.items) or []
            found = next((i for i in items if isinstance(i, dict)
                          and all(i.get(k) == v for k, v in wanted.items())), None)
            state["found"] = found is not None
            body = {"response": body, "item": found}
        for key, dotted in read.capture.items():
            state[key] = dig(body, dotted)
        return state

    def _call(self, action_name: str, method: str, path: str, ctx: Context, calls: List[Dict[str, Any]],
              query: Optional[Dict[str, Any]] = None, json_body: Any = None, form: Any = None,
              ok: List[int] = (), idempotent: Optional[bool] = None, limiter: str = "default",
              auth: bool = True, idempotency_key: Optional[str] = None) -> Any:
        url_path = ctx.path(path)
        kwargs: Dict[str, Any] = {"ok": ok, "idempotent": idempotent}
        if query:
            kwargs["params"] = {k: ctx.value(v) for k, v in query.items()}
        if json_body is not None:
            kwargs["json"] = ctx.value(json_body)
        if form is not None:
            kwargs["data"] = ctx.value(form)
        try:
            response = self.client(limiter, auth).request(method, url_path, **kwargs)
        except HttpError as exc:
            calls.append({"method": method, "path": redact(url_path), "status": exc.status})
            raise ExecutorError(redact(self.describe_http_error(exc, action_name)),
                                retryable=self.is_retryable(exc), status=exc.status) from None
        calls.append({"method": method, "path": redact(url_path), "status": response.status_code})
        return response


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _any_in(state: Dict[str, Any], conditions: Dict[str, List[Any]]) -> bool:
    return any(key in state and state[key] in values for key, values in conditions.items())


def _all_in(state: Dict[str, Any], conditions: Dict[str, List[Any]]) -> bool:
    return all(state.get(key) in values for key, values in conditions.items())


def _public(state: Dict[str, Any]) -> Dict[str, Any]:
    """The pre-state as recorded: plain data, secrets scrubbed."""
    import json
    return json.loads(redact(json.dumps(state, default=str)))


def rate_limits(book: Playbook, config: Dict[str, Any]) -> Dict[str, Tuple[Optional[float], Optional[float]]]:
    """Limiter group → (calls/s, burst), from the playbook, overridable in
    config (``rate_limits: {default: {rate: 100/s}}``)."""
    from ..ratelimit import parse_rate
    merged: Dict[str, Dict[str, Any]] = {k: v.model_dump() for k, v in book.rate_limits.items()}
    for key, value in (config.get("rate_limits") or {}).items():
        merged.setdefault(key, {}).update(value or {})
    out = {}
    for key, spec in merged.items():
        try:
            rate = parse_rate(spec["rate"]) if spec.get("rate") is not None else None
        except ValueError as exc:
            raise ConfigError(str(exc), key="rate_limits.%s.rate" % key) from None
        out[key] = (rate, spec.get("burst"))
    return out

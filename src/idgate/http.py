"""One HTTP stack for every adapter: requests + one tenacity retry policy.

- Timeouts on every call.
- Retries only where a repeat is safe: idempotent methods, or a call that
  carries an idempotency key. 429, 502/503/504 and connection errors retry;
  other statuses do not.
- Waits honour ``Retry-After`` (seconds or HTTP date) and the reset headers
  (``X-Rate-Limit-Reset``/``X-RateLimit-Reset`` epoch seconds,
  ``RateLimit-Reset`` delta), else exponential backoff with jitter; the
  total time is bounded.
- One 401 triggers a re-authentication (``reauth``) and one more attempt.
- Errors never carry secrets: URLs lose their query, text passes ``redact``.
"""
import email.utils
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Optional, Tuple, Union
from urllib.parse import urljoin, urlsplit

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_random_exponential

from .errors import IdgateError
from .secrets import redact

DEFAULT_TIMEOUT: Tuple[float, float] = (5.0, 30.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class HttpError(IdgateError):
    def __init__(self, provider: str, method: str, url: str, status: Optional[int], message: str,
                 response: Optional[requests.Response] = None):
        self.provider, self.method, self.status = provider, method, status
        self.url = safe_url(url)
        self.response = response
        self.retryable = status is None or status in RETRY_STATUSES
        where = "%s %s %s" % (provider, method, self.url)
        super().__init__(redact("%s: %s%s" % (where, "HTTP %d: " % status if status else "", message)))


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    total_seconds: float = 120.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    # never wait longer than this for one Retry-After; longer → give up now
    max_server_wait: float = 300.0


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    # no userinfo, no query: either may carry a credential
    return "%s://%s%s" % (parts.scheme, host, parts.path) if parts.scheme else parts.path


def server_wait_seconds(response: requests.Response, now: Optional[float] = None) -> Optional[float]:
    """How long the server asked us to wait, from its rate-limit headers."""
    headers = response.headers
    now = time.time() if now is None else now
    retry_after = headers.get("Retry-After")
    if retry_after:
        retry_after = retry_after.strip()
        if retry_after.isdigit():
            return float(retry_after)
        try:
            when = email.utils.parsedate_to_datetime(retry_after)
            return max(0.0, when.timestamp() - now)
        except (TypeError, ValueError):
            pass
    for name in ("X-Rate-Limit-Reset", "X-RateLimit-Reset"):
        reset = headers.get(name)
        if reset and reset.strip().replace(".", "", 1).isdigit():
            value = float(reset)
            # epoch seconds (Okta, GitHub); small numbers are deltas
            return max(0.0, value - now) if value > 1e9 else value
    reset = headers.get("RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return float(reset)
    return None


class _Retry(Exception):
    def __init__(self, error: HttpError, wait: Optional[float] = None):
        super().__init__(str(error))
        self.error, self.wait = error, wait


def error_message(response: requests.Response) -> str:
    """The provider's own error text, short (Okta errorSummary, Graph
    error.message, GitHub message, AWS Error.Message, ...)."""
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip().replace("\n", " ")
        kind = response.headers.get("Content-Type", "")
        if "html" in kind or text.startswith("<"):
            return "the server answered with an HTML page, not JSON"
        return text[:200] or (response.reason or "")
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("code") or err)[:200]
        for key in ("errorSummary", "message", "error_description", "error", "detail", "messages"):
            if body.get(key):
                return str(body[key])[:200]
        errors = body.get("errors")      # Vault/OpenBao: {"errors": ["permission denied"]}
        if isinstance(errors, list) and errors:
            return "; ".join(" ".join(str(e).split()) for e in errors)[:200]
    return str(body)[:200]


class HttpClient:
    """A provider's HTTP client. Adapters own one each."""

    def __init__(self, provider: str, base_url: str = "", *, session: Optional[requests.Session] = None,
                 headers: Optional[Dict[str, str]] = None,
                 auth: Optional[Callable[[Dict[str, str]], None]] = None,
                 reauth: Optional[Callable[[], None]] = None,
                 timeout: Union[float, Tuple[float, float]] = DEFAULT_TIMEOUT,
                 retry: RetryPolicy = RetryPolicy(), verify: Union[bool, str] = True,
                 proxies: Optional[Dict[str, str]] = None, rate_limiter: Any = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.provider = provider
        self.base_url = base_url.rstrip("/") + "/" if base_url else ""
        self.session = session or requests.Session()
        self.session.verify = verify
        if proxies:
            self.session.proxies.update(proxies)
        self.headers = dict(headers or {})
        self.auth, self.reauth = auth, reauth
        self.timeout, self.retry, self.rate_limiter, self.sleep = timeout, retry, rate_limiter, sleep

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def request(self, method: str, path: str, *, idempotent: Optional[bool] = None,
                idempotency_key: Optional[str] = None, ok: Iterable[int] = (),
                **kwargs: Any) -> requests.Response:
        """Send with the retry policy. Returns the response for 2xx and for
        statuses in ``ok`` (e.g. 404 when "already gone" is fine); raises
        ``HttpError`` otherwise."""
        method = method.upper()
        url = self.url(path)
        safe_to_repeat = idempotent if idempotent is not None else (
            method in IDEMPOTENT_METHODS or bool(idempotency_key))
        ok = frozenset(ok)
        kwargs.setdefault("timeout", self.timeout)
        reauthed = [False]
        extra_headers = kwargs.pop("headers", None) or {}

        def attempt() -> requests.Response:
            headers = dict(self.headers)
            headers.update(extra_headers)
            if idempotency_key:
                headers.setdefault("Idempotency-Key", idempotency_key)
            if self.auth:
                self.auth(headers)
            if self.rate_limiter is not None:
                self.rate_limiter.acquire()
            try:
                response = self.session.request(method, url, headers=headers, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if self.rate_limiter is not None and hasattr(self.rate_limiter, "observe"):
                    self.rate_limiter.observe(None)
                error = HttpError(self.provider, method, url, None,
                                  "%s: %s" % (type(exc).__name__, _first_line(exc)))
                if safe_to_repeat:
                    raise _Retry(error) from None
                raise error from None
            except requests.RequestException as exc:
                # invalid URL, too many redirects, ...: repeating cannot help
                if self.rate_limiter is not None and hasattr(self.rate_limiter, "observe"):
                    self.rate_limiter.observe(None)
                error = HttpError(self.provider, method, url, None,
                                  "%s: %s" % (type(exc).__name__, _first_line(exc)))
                error.retryable = False
                raise error from None
            if self.rate_limiter is not None and hasattr(self.rate_limiter, "observe"):
                self.rate_limiter.observe(response)
            status = response.status_code
            if 200 <= status < 300 or status in ok:
                return response
            if status == 401 and self.reauth is not None and not reauthed[0]:
                reauthed[0] = True
                self.reauth()
                raise _Retry(HttpError(self.provider, method, url, status, error_message(response), response), 0.0)
            error = HttpError(self.provider, method, url, status, error_message(response), response)
            if status in RETRY_STATUSES and (safe_to_repeat or status == 429):
                # a 429 means the call was not processed: repeating is safe
                wait = server_wait_seconds(response)
                if wait is not None and wait > self.retry.max_server_wait:
                    raise error
                raise _Retry(error, wait)
            raise error

        policy = self.retry
        backoff = wait_random_exponential(multiplier=policy.backoff_base, max=policy.backoff_max)

        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hint = getattr(exc, "wait", None)
            return float(hint) if hint is not None else backoff(state)

        retrying = Retrying(stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.total_seconds),
                            wait=wait, retry=retry_if_exception_type(_Retry), sleep=self.sleep, reraise=True)
        try:
            return retrying(attempt)
        except _Retry as final:
            raise final.error from None

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__

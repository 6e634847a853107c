"""A per-provider rate limiter shared by every thread that calls the provider.

A token bucket paces calls at the provider's documented rate. On top of it
the limiter learns from what the provider says:

- ``X-Rate-Limit-Remaining`` + ``X-Rate-Limit-Reset`` (Okta, GitHub): the
  calls still allowed in the current window. The limiter spends that budget
  (less the calls already in flight) and then waits for the reset, so a mass
  containment does not run into the wall and bounce off it in a 429 storm.
- a 429 (``Retry-After``, a reset header, or nothing, as Graph's risky-user
  API): every thread pauses until the server's time, not just the one that
  was refused; with no hint, for a short backoff that doubles per 429.

``HttpClient`` calls ``acquire()`` before and ``observe(response)`` after
each call (``observe(None)`` when no response came back).
"""
import threading
import time
from typing import Any, Callable, Optional

# a reset header is read with 1 s resolution: start the next window a bit late
# rather than early, or the first calls of every window are refused
RESET_MARGIN = 0.05
NO_HINT_PAUSE = 1.0
HEADROOM = 0.03
NO_HINT_PAUSE_MAX = 30.0


def parse_rate(value: Any) -> float:
    """``50``, ``"50/s"``, ``"600/min"``, ``"60/h"`` → calls per second."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().lower()
    count, _, unit = text.partition("/")
    per = {"": 1.0, "s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0,
           "h": 3600.0, "hour": 3600.0}.get(unit.strip())
    if per is None:
        raise ValueError("rate %r: use N/s, N/min or N/h" % value)
    return float(count) / per


class RateLimiter:
    def __init__(self, rate: Optional[float] = None, burst: Optional[float] = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 name: str = "", headroom: float = HEADROOM):
        """``rate`` calls per second, the provider's documented limit (None:
        unbounded, paced only by what the provider reports); ``burst`` calls
        may go at once (default: one second's worth, at least 1). The pace
        keeps ``headroom`` below the limit: requests that leave evenly may
        arrive bunched, and one 429 costs a whole Retry-After second."""
        self.name = name
        self.rate = float(rate) * (1.0 - headroom) if rate else None
        self.burst = float(burst) if burst else max(1.0, self.rate or 1.0)
        self._clock, self._wall, self._sleep = clock, wall_clock, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()
        self._paused_until = 0.0
        self._in_flight = 0
        # the provider's own window: calls we may still start before it resets
        self._window_end: Optional[float] = None   # monotonic time
        self._window_reset_epoch: Optional[float] = None
        self._window_budget = 0
        self._no_hint_pause = NO_HINT_PAUSE
        self.throttled = 0        # 429s observed
        self.waited = 0.0         # seconds spent waiting in acquire

    def acquire(self) -> None:
        """Block until a call may be sent."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._take(now)
                    return
                self.waited += wait
            self._sleep(wait)

    def _wait_needed(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
        if self._window_end is not None:
            if now >= self._window_end:
                self._window_end = None      # a new window: learn it again
                self._window_reset_epoch = None
            elif self._window_budget <= 0:
                return self._window_end - now
        if self.rate is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            # tolerance: float refill may stop a hair short of a whole token
            if self._tokens < 1.0 - 1e-9:
                return max(1e-6, (1.0 - self._tokens) / self.rate)
        return 0.0

    def _take(self, now: float) -> None:
        if self.rate is not None:
            self._tokens -= 1.0
        if self._window_end is not None:
            self._window_budget -= 1
        self._in_flight += 1

    def observe(self, response: Any) -> None:
        """Learn from a response (or ``None`` when the call failed)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if response is None:
                return
            now, wall = self._clock(), self._wall()
            headers = response.headers
            if response.status_code == 429:
                self.throttled += 1
                self._tokens = min(self._tokens, 0.0)
                wait = _server_wait(response, wall)
                if wait is None:
                    wait = self._no_hint_pause
                    self._no_hint_pause = min(NO_HINT_PAUSE_MAX, self._no_hint_pause * 2)
                self._paused_until = max(self._paused_until, now + wait)
                return
            self._no_hint_pause = NO_HINT_PAUSE
            remaining = _number(headers.get("X-Rate-Limit-Remaining") or headers.get("X-RateLimit-Remaining"))
            reset = _number(headers.get("X-Rate-Limit-Reset") or headers.get("X-RateLimit-Reset"))
            if remaining is None or reset is None:
                return
            if reset < 1e9:      # a delta, not an epoch
                reset += wall
            budget = int(remaining) - self._in_flight
            if self._window_reset_epoch is None or reset > self._window_reset_epoch:
                self._window_reset_epoch = reset
                self._window_end = now + max(0.0, reset - wall) + RESET_MARGIN
                self._window_budget = budget
            elif reset == self._window_reset_epoch:
                self._window_budget = min(self._window_budget, budget)

    def stats(self) -> dict:
        return {"throttled": self.throttled, "waited_seconds": round(self.waited, 3)}


def _number(value: Optional[str]) -> Optional[float]:
    if value is None:
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _server_wait(response: Any, now: float) -> Optional[float]:
    from .http import server_wait_seconds   # one parser of rate-limit headers
    return server_wait_seconds(response, now)


_registry_lock = threading.Lock()
_registry = {}  # type: dict


def shared(key: str, rate: Optional[float] = None, burst: Optional[float] = None) -> RateLimiter:
    """One limiter per provider account (e.g. ``okta:https://acme.okta.com``),
    shared by every executor and ticket adapter of this process."""
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = RateLimiter(rate, burst, name=key)
        return limiter

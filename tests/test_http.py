"""The shared HTTP client and the per-provider rate limiter."""
import email.utils

import pytest
import requests
import responses

from idgate.http import HttpClient, HttpError, RetryPolicy, server_wait_seconds
from idgate.ratelimit import RateLimiter, parse_rate

URL = "https://api.example.test"


class Clock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def response(status=200, **headers):
    r = requests.Response()
    r.status_code = status
    r.headers.update(headers)
    return r


def test_parse_rate():
    assert parse_rate("60/h") == pytest.approx(1 / 60)
    assert parse_rate("600/min") == 10 and parse_rate(5) == 5
    with pytest.raises(ValueError):
        parse_rate("5/fortnight")


def test_token_bucket_paces_to_the_rate():
    clock = Clock()
    limiter = RateLimiter(5, burst=1, clock=clock, sleep=clock.sleep, headroom=0)
    for _ in range(11):
        limiter.acquire()
        limiter.observe(response())
    assert clock.now - 100.0 == pytest.approx(2.0)


def test_429_pauses_every_caller_until_retry_after():
    clock = Clock()
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.observe(response(429, **{"Retry-After": "3"}))
    limiter.acquire()
    assert clock.now - 100.0 == pytest.approx(3.0)
    assert limiter.throttled == 1


def test_429_without_hint_backs_off_and_doubles():
    clock = Clock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(2):
        limiter.acquire()
        limiter.observe(response(429))
    limiter.acquire()
    assert clock.slept == [1.0, 2.0]    # no hint: 1 s, then doubled
    assert limiter.throttled == 2


def test_remaining_budget_is_spent_then_waits_for_the_reset():
    clock = Clock()
    wall = [1_700_000_000.0]
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep, wall_clock=lambda: wall[0])
    limiter.acquire()
    limiter.observe(response(200, **{"X-Rate-Limit-Remaining": "2", "X-Rate-Limit-Reset": str(int(wall[0]) + 10)}))
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == []
    limiter.acquire()              # budget spent: waits for the window to reset
    assert sum(clock.slept) == pytest.approx(10.05)


def test_server_wait_header_styles():
    now = 1_700_000_000.0
    assert server_wait_seconds(response(429, **{"Retry-After": "12"}), now) == 12
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert server_wait_seconds(response(429, **{"Retry-After": date}), now) == pytest.approx(30, abs=1)
    assert server_wait_seconds(response(429, **{"X-Rate-Limit-Reset": str(int(now) + 5)}), now) == 5
    assert server_wait_seconds(response(429, **{"RateLimit-Reset": "4"}), now) == 4
    assert server_wait_seconds(response(429), now) is None


def client(**kw):
    clock = Clock()
    kw.setdefault("retry", RetryPolicy(attempts=3, total_seconds=60))
    return HttpClient("test", URL, sleep=clock.sleep, **kw), clock


@responses.activate
def test_post_is_not_repeated_on_5xx_but_idempotency_keyed_post_is():
    call = responses.post(URL + "/x", status=503, json={"message": "down"})
    c, _ = client()
    with pytest.raises(HttpError) as err:
        c.post("/x")
    assert call.call_count == 1 and err.value.retryable
    with pytest.raises(HttpError):
        c.post("/x", idempotency_key="k1")
    assert call.call_count == 4
    assert call.calls[-1].request.headers["Idempotency-Key"] == "k1"


@responses.activate
def test_429_on_post_is_retried_with_the_server_wait():
    responses.post(URL + "/x", status=429, headers={"Retry-After": "2"})
    responses.post(URL + "/x", json={"ok": True})
    c, clock = client()
    assert c.post("/x").json() == {"ok": True}
    assert clock.slept == [2.0]


@responses.activate
def test_a_wait_longer_than_allowed_gives_up_at_once():
    responses.get(URL + "/x", status=429, headers={"Retry-After": "9999"})
    c, clock = client(retry=RetryPolicy(attempts=3, max_server_wait=60))
    with pytest.raises(HttpError) as err:
        c.get("/x")
    assert err.value.status == 429 and clock.slept == []


@responses.activate
def test_timeouts_retry_a_get_and_errors_drop_the_query_string():
    responses.get(URL + "/x", body=requests.exceptions.ConnectTimeout("no route"))
    c, clock = client()
    with pytest.raises(HttpError) as err:
        c.get("/x?token=supersecret")
    assert len(responses.calls) == 3 and len(clock.slept) == 2
    assert "supersecret" not in str(err.value) and err.value.status is None


@responses.activate
def test_401_reauthenticates_once():
    responses.get(URL + "/x", status=401)
    responses.get(URL + "/x", json={"ok": 1})
    tokens = iter(["old", "new"])
    state = {"token": next(tokens)}
    c, _ = client(auth=lambda h: h.update(Authorization="Bearer " + state["token"]),
                  reauth=lambda: state.update(token=next(tokens)))
    assert c.get("/x").json() == {"ok": 1}
    assert responses.calls[1].request.headers["Authorization"] == "Bearer new"


@responses.activate
def test_client_feeds_the_rate_limiter_even_when_the_call_fails():
    responses.get(URL + "/x", body=requests.exceptions.ConnectionError("refused"))
    limiter = RateLimiter(None)
    c, _ = client(rate_limiter=limiter, retry=RetryPolicy(attempts=1))
    with pytest.raises(HttpError):
        c.get("/x")
    assert limiter._in_flight == 0

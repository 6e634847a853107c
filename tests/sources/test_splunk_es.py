"""Splunk ES source over HTTP (responses replaying Splunk's real shapes)."""
import json
import socket
import threading
from urllib.parse import parse_qs

import pytest
import responses

from idgate import secrets
from idgate.errors import IdgateError
from idgate.http import HttpError
from idgate.sources._readers import SplunkStream, split_lines
from idgate.sources.splunk_es import SplunkESSource, normalizer

BASE = "https://es.example:8089"
EXPORT = BASE + "/services/search/v2/jobs/export"


def notable(event_id, indextime, user="svc-backup", **extra):
    row = {"event_id": event_id, "_time": "2026-11-28T10:00:00.000+00:00", "_indextime": str(indextime),
           "rule_title": "Identity - Leaked API key used from new ASN", "search_name": "Leaked key - Rule",
           "user": user, "user_category": ["service_account", "prod"], "user_priority": "critical",
           "urgency": "high", "ai_score": "0.93", "ai_model": "es-ai-triage"}
    row.update(extra)
    return row


def export_body(rows, previews=2, bom=True, messages=True):
    lines = []
    for i in range(previews):
        lines.append({"preview": True, "offset": 0, "lastrow": True, "result": {"user": "preview-%d" % i}})
    if messages:
        lines.append({"messages": [{"type": "INFO", "text": "Your timerange was substituted"}]})
    for i, row in enumerate(rows):
        line = {"preview": False, "offset": i, "result": row}
        if i == len(rows) - 1:
            line["lastrow"] = True
        lines.append(line)
    text = "\n".join(json.dumps(x) for x in lines) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("SPLUNK_TOKEN", "tok-0123456789-secret")
    monkeypatch.setenv("SPLUNK_PASSWORD", "pw-0123456789-secret")


def form_of(call):
    body = call.request.body
    return parse_qs(body.decode() if isinstance(body, bytes) else body)


def make(config=None, sleeps=None):
    cfg = {"id": "es-prod", "type": "splunk_es", "url": BASE, "token": "env:SPLUNK_TOKEN",
           "overlap": "300s", "batch_size": 2}
    cfg.update(config or {})
    return SplunkESSource(cfg, secrets, sleep=(sleeps.append if sleeps is not None else (lambda s: None)))


# ---------------------------------------------------------------- the stream reader

def test_stream_reader_bom_previews_lastrow_messages():
    body = export_body([notable("a", 1), notable("b", 2)], previews=3)
    stream = SplunkStream(split_lines([body[:7], body[7:50], body[50:]]), "test")
    rows = list(stream)
    assert [r["event_id"] for r in rows] == ["a", "b"]
    assert stream.previews == 3 and stream.complete
    assert stream.messages == [("INFO", "Your timerange was substituted")]
    assert rows[0]["user_category"] == ["service_account", "prod"]  # multivalue


def test_stream_reader_html_is_a_clear_error():
    stream = SplunkStream(split_lines([b"<html><body>502 Bad Gateway</body></html>\n"]), "splunk_es source x")
    with pytest.raises(IdgateError, match="splunk_es source x: line 1 .*HTML"):
        list(stream)


def test_normalised_notable_from_export():
    alert = normalizer().normalize(notable("ev-1", 100))
    assert alert.identity.kind == "service_account" and alert.identity.tier == "tier0"
    assert alert.ai.score == 0.93 and alert.ai.model == "es-ai-triage"
    assert [r.action for r in alert.recommendations] == ["disable_access_key"]


def test_bad_score_is_a_record_error_with_id():
    from idgate.errors import RecordError
    with pytest.raises(RecordError) as err:
        normalizer().normalize(notable("ev-9", 100, ai_score="7"))
    assert err.value.record_id == "ev-9" and "splunk_es record ev-9" in str(err.value)


def test_mapping_override_from_run_config():
    n = normalizer({"mapping": {"ai": {"score": [{"field": "my_score", "scale": 100}]}}})
    assert n.normalize(notable("e", 1, my_score="80")).ai.score == 0.8


# ---------------------------------------------------------------- pull

@responses.activate
def test_pull_checkpoint_overlap_and_dedup(env, monkeypatch):
    import idgate.sources.splunk_es as mod
    monkeypatch.setattr(mod, "now", lambda: 10_000.0)
    responses.add(responses.POST, EXPORT, body=export_body([notable("a", 9_000), notable("b", 9_800),
                                                             notable("c", 9_900)]))
    src = make()
    batches = list(src.pull(None))
    assert [[r["event_id"] for r in b.records] for b in batches] == [["a", "b"], ["c"]]
    # an intermediate batch keeps the old window start and the ids seen so far
    assert set(batches[0].checkpoint["seen"]) == {"a", "b"}
    final = batches[-1].checkpoint
    assert final["index_time"] == 10_000.0 and set(final["seen"]) == {"b", "c"}  # a is older than the overlap
    sent = form_of(responses.calls[0])
    assert sent["output_mode"] == ["json"] and sent["search"] == ["search `notable`"]
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok-0123456789-secret"

    monkeypatch.setattr(mod, "now", lambda: 11_000.0)
    responses.replace(responses.POST, EXPORT, body=export_body([notable("c", 9_900), notable("d", 10_500)]))
    again = list(src.pull(final))
    assert [r["event_id"] for b in again for r in b.records] == ["d"]  # c was decided already
    sent = form_of(responses.calls[1])
    assert float(sent["index_earliest"][0]) == 10_000.0 - 300
    assert float(sent["index_latest"][0]) == 11_000.0


@responses.activate
def test_429_retry_after_then_ok(env):
    responses.add(responses.POST, EXPORT, status=429, headers={"Retry-After": "3"}, body="slow down")
    responses.add(responses.POST, EXPORT, body=export_body([notable("a", 1)]))
    sleeps = []
    rows = [r for b in make(sleeps=sleeps).pull(None) for r in b.records]
    assert [r["event_id"] for r in rows] == ["a"] and sleeps == [3.0]


@responses.activate
def test_5xx_retried_then_gives_up_with_clear_error(env):
    for _ in range(8):
        responses.add(responses.POST, EXPORT, status=503, body="<html>maintenance</html>",
                      headers={"Content-Type": "text/html"})
    with pytest.raises(HttpError) as err:
        list(make().pull(None))
    assert "splunk_es" in str(err.value) and "503" in str(err.value)
    assert "tok-0123456789" not in str(err.value)
    assert len(responses.calls) == 5  # the retry policy's attempts, then stop


@responses.activate
def test_html_instead_of_results(env):
    responses.add(responses.POST, EXPORT, body="<!DOCTYPE html><html><body>Login</body></html>\n",
                  headers={"Content-Type": "text/html"})
    with pytest.raises(IdgateError, match="splunk_es source es-prod: line 1 of the results stream is not JSON"):
        list(make().pull(None))


@responses.activate
def test_search_error_message_is_reported(env):
    body = json.dumps({"messages": [{"type": "FATAL", "text": "Unknown search command 'notabel'"}]}) + "\n"
    responses.add(responses.POST, EXPORT, body=body)
    with pytest.raises(IdgateError, match="the search failed: Unknown search command"):
        list(make().pull(None))


@responses.activate
def test_session_auth_logs_in_again_on_401(env):
    login = BASE + "/services/auth/login"
    responses.add(responses.POST, login, body="<response><sessionKey>sess-1</sessionKey></response>")
    responses.add(responses.POST, EXPORT, status=401, body='{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}')
    responses.add(responses.POST, login, body="<response><sessionKey>sess-2</sessionKey></response>")
    responses.add(responses.POST, EXPORT, body=export_body([notable("a", 1)]))
    src = make({"token": None, "username": "idgate", "password": "env:SPLUNK_PASSWORD"})
    rows = [r for b in src.pull(None) for r in b.records]
    assert [r["event_id"] for r in rows] == ["a"]
    assert responses.calls[-1].request.headers["Authorization"] == "Splunk sess-2"


@responses.activate
def test_token_401_is_a_clear_error(env):
    responses.add(responses.POST, EXPORT, status=401,
                  body='{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}')
    with pytest.raises(HttpError, match="401.*call not properly authenticated"):
        list(make().pull(None))


class _DroppingServer:
    """Serves an export that promises more bytes than it sends, then closes."""

    def __init__(self, body):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.body = body
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(10)
        conn, _ = self.sock.accept()
        conn.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")]
        while length and len(rest) < length[0]:
            rest += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % (len(self.body) + 100000) + self.body)
        conn.close()
        self.sock.close()


def test_connection_drop_mid_stream_keeps_what_was_read(env):
    body = export_body([notable("a", 1), notable("b", 2), notable("c", 3)], previews=0)
    server = _DroppingServer(body)
    src = make({"url": "http://127.0.0.1:%d" % server.port})
    got = []
    with pytest.raises(IdgateError, match="the export stream broke after 3 rows"):
        for batch in src.pull(None):
            got.append(batch)
    assert [r["event_id"] for b in got for r in b.records] == ["a", "b", "c"]
    # the partial batch's checkpoint does not move the window: a restart re-reads it
    assert set(got[-1].checkpoint["seen"]) == {"a", "b", "c"}
    server.thread.join(5)


# ---------------------------------------------------------------- write back

DECISION = {"decision_id": "d-1", "action": "disable_access_key", "target": {"id": "svc-backup"},
            "autonomy": "review", "rule_id": "contain-nhi", "policy_version": "ab" * 32, "ticket": "LOCAL-7",
            "caps": [{"invariant": "protected_identity", "reason": "tier0"}]}


@responses.activate
def test_write_back_es7_notable_update(env):
    url = BASE + "/services/notable_update"
    responses.add(responses.POST, url, json={"success": True, "message": "1 event updated", "failure_count": 0})
    src = make({"write_back": {"status": {"review": "2"}, "owner": "idgate"}})
    alert = normalizer().normalize(notable("ev-1", 1))
    src.write_back(alert, [DECISION])
    form = form_of(responses.calls[0])
    assert form["ruleUIDs"] == ["ev-1"] and form["status"] == ["2"] and form["newOwner"] == ["idgate"]
    comment = form["comment"][0]
    assert "disable_access_key on svc-backup: REVIEW" in comment and "rule contain-nhi" in comment
    assert "ticket LOCAL-7" in comment and "protected_identity" in comment


@responses.activate
def test_write_back_es7_refusal_is_an_error(env):
    responses.add(responses.POST, BASE + "/services/notable_update", json={"success": False, "message": "no rights"})
    with pytest.raises(IdgateError, match="notable_update refused ev-1: no rights"):
        make().write_back(normalizer().normalize(notable("ev-1", 1)), [DECISION])


@responses.activate
def test_write_back_es8_mission_control(env):
    base = BASE + "/servicesNS/nobody/missioncontrol/public/v2/investigations/ev-1"
    responses.add(responses.POST, base + "/notes", json={"id": "n1"})
    responses.add(responses.POST, base, json={"id": "ev-1"})
    src = make({"es_version": 8, "write_back": {"status": {"review": "in_progress"}}})
    src.write_back(normalizer().normalize(notable("ev-1", 1)), [DECISION])
    note = json.loads(responses.calls[0].request.body)
    assert "REVIEW" in note["content"]
    assert json.loads(responses.calls[1].request.body) == {"status": "in_progress"}

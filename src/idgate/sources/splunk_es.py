"""Splunk Enterprise Security: notables (ES 7) and findings (ES 8).

Pull: one export search per poll (``search/v2/jobs/export``,
``output_mode=json``) through splunklib on idgate's HTTP stack, read line by
line as it arrives. The window is on index time (``index_earliest`` /
``index_latest``), so a notable written late for an old ``_time`` is still
seen; each window starts ``overlap`` before the last one ended and rows whose
``event_id`` was already seen in that overlap are dropped, so nothing is
missed or decided twice. Intermediate batches carry the old window start with
every id seen so far: a crash mid-window re-reads the window, and the
de-duplication skips what was already decided.

Write-back: ``notable_update`` (comment, status, owner, urgency) on ES 7;
Mission Control investigation notes and update on ES 8.
"""
import json
from typing import Any, Dict, Iterator, List, Optional

import requests

from ..errors import ConfigError, IdgateError
from ..http import HttpClient, HttpError
from ..model import Alert
from ._common import decision_comment, host_port, now, required, secret, seconds, strongest, tls_verify
from ._readers import SplunkStream, file_records, sniff, split_lines
from ._splunk_http import StreamBody, make_handler
from .base import AlertSource, Batch
from .mapping import MappedNormalizer

PLATFORM = "splunk_es"
DEFAULT_SEARCH = "search `notable`"
ES8_API = "/servicesNS/nobody/missioncontrol/public/v2/investigations"


def splunk_rows(value: Any) -> Iterator[Dict[str, Any]]:
    """Result rows inside one parsed JSON value: an export line, a results
    body, a ``json_rows`` body, a bare array, or a notable as is."""
    if isinstance(value, list):
        for item in value:
            yield from splunk_rows(item)
        return
    if isinstance(value, dict):
        yield from SplunkStream((), PLATFORM)._value(value)


class SplunkESNormalizer(MappedNormalizer):
    platform = PLATFORM

    def records(self, value: Any) -> Iterator[Any]:
        return splunk_rows(value)

    def read_file(self, path: str, progress: Any = None) -> Optional[Iterator[Any]]:
        if sniff(path) != "xml":
            return None
        return file_records(path, "xml", lambda row, i: row, progress)


def normalizer(overrides: Optional[Dict[str, Any]] = None) -> SplunkESNormalizer:
    return SplunkESNormalizer(overrides)


class SplunkESSource(AlertSource):
    def __init__(self, config: Dict[str, Any], secrets_module: Any,
                 session: Optional[requests.Session] = None, sleep: Any = None):
        source_id = str(config.get("id") or PLATFORM)
        super().__init__(source_id, SplunkESNormalizer(config, instance=source_id))
        self.url = str(required(config, "url", source_id)).rstrip("/")
        scheme, host, port = host_port(self.url, 8089)
        token = secret(config, "token", secrets_module, source_id)
        username = config.get("username")
        password = secret(config, "password", secrets_module, source_id)
        if not token and not (username and password):
            raise ConfigError("source %s: give token: (a Splunk auth token) or username: and password:"
                              % source_id, key="token")
        search = str(config.get("search") or DEFAULT_SEARCH).strip()
        if not (search.startswith("search ") or search.startswith("|")):
            search = "search " + search
        self.search = search
        self.overlap = seconds(config, "overlap", 300)
        self.start = seconds(config, "start", 86400)
        self.max_event_lag = seconds(config, "max_event_lag", 7 * 86400)
        self.batch_size = int(config.get("batch_size", 500))
        self.es_version = int(config.get("es_version", 7))
        self.write_back_config = dict(config.get("write_back") or {})
        self.es8_api = str(config.get("es8_api") or ES8_API).rstrip("/")
        kwargs = {"session": session} if session is not None else {}
        if sleep is not None:
            kwargs["sleep"] = sleep
        self.http = HttpClient(PLATFORM, self.url, verify=tls_verify(config),
                               proxies=config.get("proxies"), **kwargs)
        from splunklib import client as splunk_client
        auth: Dict[str, Any] = {"splunkToken": token} if token else {
            "username": username, "password": password, "autologin": True}
        self.service = splunk_client.Service(handler=make_handler(self.http), scheme=scheme, host=host,
                                             port=port, owner="nobody", app="search", **auth)
        self._logged_in = bool(token)

    # -- pull
    def _login(self) -> None:
        if not self._logged_in:
            self._call(self.service.login)
            self._logged_in = True

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A splunklib call with its errors as one clear line."""
        from splunklib.binding import AuthenticationError, HTTPError as SplunkHTTPError
        try:
            return fn(*args, **kwargs)
        except HttpError:
            raise
        except (SplunkHTTPError, AuthenticationError) as exc:
            status = getattr(exc, "status", None)
            body = ""
            try:
                body = exc.body.decode("utf-8", "replace") if isinstance(getattr(exc, "body", None), bytes) else ""
            except Exception:
                body = ""
            raise HttpError(PLATFORM, "POST" if args else "GET", self.url, status,
                            _splunk_message(body) or str(exc).splitlines()[0][:200]) from None

    def export(self, params: Dict[str, Any]) -> SplunkStream:
        """The export stream of one search, read as it arrives."""
        self._login()
        response = self._call(self.service.post, "/services/search/v2/jobs/export",
                              search=self.search, output_mode="json", **params)
        body = response.body
        chunks = body.iter_chunks() if isinstance(body, StreamBody) else iter(lambda: body.read(256 * 1024), b"")
        return SplunkStream(split_lines(chunks), "%s source %s" % (PLATFORM, self.id))

    def pull(self, checkpoint: Optional[Dict[str, Any]]) -> Iterator[Batch]:
        current = now()
        if checkpoint and checkpoint.get("index_time") is not None:
            window_start = float(checkpoint["index_time"]) - self.overlap
            seen: Dict[str, float] = {str(k): float(v) for k, v in (checkpoint.get("seen") or {}).items()}
        else:
            window_start, seen = current - self.start, {}
        window_end = current
        old_index_time = checkpoint.get("index_time") if checkpoint else None
        params = {"index_earliest": "%.3f" % window_start, "index_latest": "%.3f" % window_end,
                  "earliest_time": "%.3f" % (window_start - self.max_event_lag), "latest_time": "now"}
        stream = self.export(params)
        batch: List[Any] = []

        def partial() -> Dict[str, Any]:
            # a restart re-reads this window; every id seen so far is skipped
            return {"index_time": old_index_time if old_index_time is not None else window_start + self.overlap,
                    "seen": dict(seen), "window_end": window_end}
        try:
            for row in stream:
                event_id = self.normalizer.record_id(row)
                if event_id is not None:
                    if event_id in seen:
                        continue
                    seen[event_id] = _index_time(row, window_end)
                batch.append(row)
                if len(batch) >= self.batch_size:
                    yield Batch(batch, partial())
                    batch = []
        except (requests.RequestException, OSError) as exc:
            if batch:
                yield Batch(batch, partial())
            raise IdgateError("%s source %s: the export stream broke after %d rows (%s); the next pull "
                              "re-reads the window and skips what was seen"
                              % (PLATFORM, self.id, stream.rows, type(exc).__name__)) from None
        errors = stream.errors()
        if errors:
            if batch:
                yield Batch(batch, partial())
            raise IdgateError("%s source %s: the search failed: %s" % (PLATFORM, self.id, errors[0][:200]))
        keep_after = window_end - self.overlap
        final = {"index_time": window_end,
                 "seen": {k: v for k, v in seen.items() if v >= keep_after}}
        yield Batch(batch, final)

    # -- write back
    def write_back(self, alert: Alert, decisions: List[Dict[str, Any]]) -> None:
        if not decisions or self.write_back_config.get("enabled") is False:
            return
        record_id = alert.source.record_id
        if not record_id:
            return
        comment = decision_comment(decisions)
        level = strongest(decisions)
        cfg = self.write_back_config
        status = (cfg.get("status") or {}).get(level) if level else None
        urgency = (cfg.get("urgency") or {}).get(level) if level else None
        owner = cfg.get("owner")
        self._login()
        if self.es_version >= 8:
            self._es8_update(record_id, comment, status, urgency, owner)
        else:
            self._es7_update(record_id, comment, status, urgency, owner)

    def _es7_update(self, event_id: str, comment: str, status: Any, urgency: Any, owner: Any) -> None:
        form: Dict[str, Any] = {"ruleUIDs": event_id, "comment": comment, "output_mode": "json"}
        if status is not None:
            form["status"] = str(status)
        if urgency is not None:
            form["urgency"] = str(urgency)
        if owner:
            form["newOwner"] = str(owner)
        response = self._call(self.service.post, "/services/notable_update", **form)
        answer = _json_body(response, "notable_update")
        if isinstance(answer, dict) and answer.get("success") is False:
            raise IdgateError("%s source %s: notable_update refused %s: %s"
                              % (PLATFORM, self.id, event_id, str(answer.get("message"))[:200]))

    def _es8_update(self, finding_id: str, comment: str, status: Any, urgency: Any, owner: Any) -> None:
        base = "%s/%s" % (self.es8_api, finding_id)
        headers = [("Content-Type", "application/json")]
        self._call(self.service.post, base + "/notes", headers=headers, body=json.dumps({"content": comment}))
        update = {k: v for k, v in (("status", status), ("urgency", urgency), ("owner", owner)) if v is not None}
        if update:
            self._call(self.service.post, base, headers=headers, body=json.dumps(update))


def _index_time(row: Dict[str, Any], default: float) -> float:
    for key in ("_indextime", "idgate_indextime"):
        value = row.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    return default


def _json_body(response: Any, what: str) -> Any:
    data = response.body.read()
    try:
        return json.loads(data.decode("utf-8", "replace")) if data else None
    except ValueError:
        raise IdgateError("%s: %s answered with something that is not JSON" % (PLATFORM, what)) from None


def _splunk_message(body: str) -> str:
    if not body:
        return ""
    try:
        data = json.loads(body)
        msgs = data.get("messages") if isinstance(data, dict) else None
        if msgs:
            return str(msgs[0].get("text", ""))[:200]
    except ValueError:
        pass
    if "<msg" in body:
        start = body.find(">", body.find("<msg")) + 1
        return body[start:body.find("</msg>", start)].strip()[:200]
    if "<html" in body.lower():
        return "the server answered with an HTML page, not Splunk's API"
    return body.strip().splitlines()[0][:200] if body.strip() else ""


def source(config: Dict[str, Any], secrets_module: Any) -> SplunkESSource:
    return SplunkESSource(config, secrets_module)

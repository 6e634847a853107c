"""A splunkd stand-in for ``responses``: the KV store data API
(``storage/collections/data``), ``receivers/simple``, ``storage/passwords``,
conf endpoints and ES ``notable_update``, with the wire shapes of the real
REST API (JSON arrays of documents with ``_key``/``_user``, ``{"_key": ..}``
on insert, 404/409 with a ``messages`` body)."""
import json
import re
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, unquote, urlsplit

import responses

BASE = "https://127.0.0.1:8089"
DATA = re.compile(r"^/servicesNS/[^/]+/[^/]+/storage/collections/data/([^/?]+)(?:/([^?]+))?$")


def _error(status: int, text: str) -> Any:
    return (status, {"Content-Type": "application/json"},
            json.dumps({"messages": [{"type": "ERROR", "text": text}]}))


def _ok(body: Any, status: int = 200) -> Any:
    return (status, {"Content-Type": "application/json"}, json.dumps(body))


def _matches(doc: Dict[str, Any], query: Dict[str, Any]) -> bool:
    for key, cond in query.items():
        value = doc.get(key)
        if isinstance(cond, dict):
            for op, arg in cond.items():
                if value is None:
                    return False
                if op == "$gt" and not value > arg:
                    return False
                if op == "$gte" and not value >= arg:
                    return False
                if op == "$lt" and not value < arg:
                    return False
        elif value != cond:
            return False
    return True


class FakeSplunkd:
    def __init__(self, rsps: responses.RequestsMock, base: str = BASE):
        self.base = base
        self.collections: Dict[str, Dict[str, Dict[str, Any]]] = {}
        self.indexed: List[Dict[str, Any]] = []      # receivers/simple events
        self.passwords: List[Dict[str, Any]] = []    # storage/passwords entries
        self.confs: Dict[str, Dict[str, Dict[str, str]]] = {}
        self.notable_updates: List[Dict[str, Any]] = []
        self.fail_index = False
        # session key → authentication/current-context content
        self.sessions: Dict[str, Dict[str, Any]] = {}
        self.calls: List[str] = []
        self.export_rows: List[Dict[str, Any]] = []  # what search/v2/jobs/export streams
        self.exports: List[Dict[str, str]] = []
        pattern = re.compile(re.escape(base) + r"/.*")
        for method in ("GET", "POST", "DELETE"):
            rsps.add_callback(method, pattern, callback=self._handle)

    # -- dispatch
    def _handle(self, request: Any) -> Any:
        parts = urlsplit(request.url)
        path, qs = unquote(parts.path), parse_qs(parts.query)
        self.calls.append("%s %s" % (request.method, path))
        m = DATA.match(path)
        if m:
            return self._data(request, m.group(1), m.group(2), qs)
        if path.endswith("/receivers/simple"):
            if self.fail_index:
                return _error(503, "indexer unavailable")
            body = request.body.decode("utf-8") if isinstance(request.body, bytes) else request.body
            for line in body.splitlines():
                self.indexed.append({"index": qs.get("index", [""])[0], "sourcetype": qs.get("sourcetype", [""])[0],
                                     "_raw": line})
            return _ok({"index": qs.get("index", [""])[0], "bytes": len(body)})
        if path.endswith("/storage/passwords"):
            return _ok({"entry": [{"name": p["name"], "content": p} for p in self.passwords]})
        m = re.match(r"^/servicesNS/[^/]+/[^/]+/configs/conf-([^/]+)$", path)
        if m:
            stanzas = self.confs.get(m.group(1), {})
            return _ok({"entry": [{"name": n, "content": c} for n, c in stanzas.items()]})
        if path.endswith("/search/v2/jobs/export"):
            form = parse_qs(request.body if isinstance(request.body, str) else request.body.decode())
            self.exports.append({k: v[0] for k, v in form.items()})
            lines = [json.dumps({"preview": False, "offset": i, "result": row})
                     for i, row in enumerate(self.export_rows)]
            if lines:
                last = json.loads(lines[-1])
                last["lastrow"] = True
                lines[-1] = json.dumps(last)
            return (200, {"Content-Type": "application/json"}, "\n".join(lines) + "\n")
        if path.endswith("/notable_update"):
            form = parse_qs(request.body if isinstance(request.body, str) else request.body.decode())
            self.notable_updates.append({k: v[0] for k, v in form.items()})
            return _ok({"success": True, "success_count": 1, "message": "1 event updated successfully"})
        if path.endswith("/authentication/current-context"):
            key = (request.headers.get("Authorization") or "").replace("Splunk ", "", 1)
            content = self.sessions.get(key)
            if content is None:
                return _error(401, "call not properly authenticated")
            return _ok({"entry": [{"name": "tokens", "content": content}]})
        return _error(404, "fake splunkd: no endpoint %s" % path)

    def _data(self, request: Any, name: str, key: Optional[str], qs: Dict[str, List[str]]) -> Any:
        coll = self.collections.setdefault(name, {})
        if request.method == "GET":
            if key:
                doc = coll.get(key)
                return _ok(doc) if doc is not None else _error(404, "Could not find object.")
            query = json.loads(qs["query"][0]) if "query" in qs else {}
            docs = [d for d in coll.values() if _matches(d, query)]
            for spec in reversed(qs.get("sort", [""])[0].split(",")):
                if spec:
                    field, _, direction = spec.partition(":")
                    docs.sort(key=lambda d: (d.get(field) is not None, d.get(field) if d.get(field) is not None
                                             else 0), reverse=direction == "-1")
            skip = int(qs.get("skip", ["0"])[0])
            limit = int(qs.get("limit", ["0"])[0])
            docs = docs[skip:skip + limit] if limit else docs[skip:]
            return _ok(docs)
        if request.method == "DELETE":
            if key:
                if key not in coll:
                    return _error(404, "Could not find object.")
                del coll[key]
            else:
                coll.clear()
            return (200, {}, "")
        body = json.loads(request.body)
        if key == "batch_save":
            keys = []
            for doc in body:
                doc = dict(doc, _user="nobody")
                coll[doc["_key"]] = doc
                keys.append(doc["_key"])
            return _ok(keys)
        if key:
            coll[key] = dict(body, _key=key, _user="nobody")
            return _ok({"_key": key})
        new_key = body.get("_key") or "%024x" % (len(coll) + 1)
        if new_key in coll:
            return _error(409, "A document with the same key and user already exists.")
        coll[new_key] = dict(body, _key=new_key, _user="nobody")
        return _ok({"_key": new_key}, 201)

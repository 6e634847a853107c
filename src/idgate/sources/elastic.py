"""Elastic Security: detection alerts from ``.alerts-security.alerts-*``.

Pull: ``_search`` sorted on (``@timestamp``, ``kibana.alert.uuid``) and paged
with ``search_after``; the checkpoint is the last sort key, so the next poll
goes on exactly after the last alert read. Only ``workflow_status: open``
alerts are pulled unless configured otherwise. Write-back through Kibana's
detection engine: tags (``idgate:<autonomy>``, ``idgate:rule:<id>``) and,
when configured, the workflow status.
"""
from typing import Any, Dict, Iterator, List, Optional

import requests

from ..errors import IdgateError
from ..http import HttpClient
from ..model import Alert
from ._common import json_object, required, secret, strongest, tls_verify
from .base import AlertSource, Batch
from .mapping import MappedNormalizer

PLATFORM = "elastic"
ALERTS_INDEX = ".alerts-security.alerts-*"


class ElasticNormalizer(MappedNormalizer):
    platform = PLATFORM

    def unwrap(self, value: Dict[str, Any]) -> Iterator[Any]:
        hits = value.get("hits")
        if isinstance(hits, dict) and isinstance(hits.get("hits"), list):  # a _search answer
            for hit in hits["hits"]:
                yield _with_meta(hit.get("_source"), hit.get("_id"), hit.get("_index"))
            return
        if value.get("type") == "doc" and isinstance(value.get("value"), dict):  # es_archiver
            doc = value["value"]
            yield _with_meta(doc.get("source"), doc.get("id"), doc.get("index"))
            return
        if "_source" in value:
            yield _with_meta(value["_source"], value.get("_id"), value.get("_index"))
            return
        yield value


def _with_meta(source: Any, doc_id: Any, index: Any) -> Any:
    if not isinstance(source, dict):
        return source
    record = dict(source)
    if doc_id is not None:
        record["_id"] = doc_id
    if index is not None:
        record["_index"] = index
    return record


def normalizer(overrides: Optional[Dict[str, Any]] = None) -> ElasticNormalizer:
    return ElasticNormalizer(overrides)


class ElasticSource(AlertSource):
    def __init__(self, config: Dict[str, Any], secrets_module: Any,
                 session: Optional[requests.Session] = None, sleep: Any = None):
        source_id = str(config.get("id") or PLATFORM)
        super().__init__(source_id, ElasticNormalizer(config, instance=source_id))
        self.index = str(config.get("index") or ALERTS_INDEX)
        self.page_size = int(config.get("page_size", 500))
        self.statuses = list(config.get("workflow_status") or ["open"])
        self.write_back_config = dict(config.get("write_back") or {})
        api_key = secret(config, "api_key", secrets_module, source_id)
        if not api_key:
            raise IdgateError("source %s: api_key is required (env:NAME or file:PATH)" % source_id)
        headers = {"Authorization": "ApiKey " + api_key}
        kwargs: Dict[str, Any] = {"session": session} if session is not None else {}
        if sleep is not None:
            kwargs["sleep"] = sleep
        common = dict(verify=tls_verify(config), proxies=config.get("proxies"), **kwargs)
        self.es = HttpClient(PLATFORM, str(required(config, "url", source_id)), headers=headers, **common)
        kibana = config.get("kibana_url")
        self.kibana = HttpClient("kibana", str(kibana), headers=dict(headers, **{"kbn-xsrf": "idgate"}),
                                 **common) if kibana else None
        self.start = str(config.get("start") or "now-24h")

    def pull(self, checkpoint: Optional[Dict[str, Any]]) -> Iterator[Batch]:
        after = (checkpoint or {}).get("search_after")
        while True:
            query: Dict[str, Any] = {
                "size": self.page_size,
                "sort": [{"@timestamp": "asc"}, {"kibana.alert.uuid": "asc"}],
                "query": {"bool": {"filter": [{"terms": {"kibana.alert.workflow_status": self.statuses}}]}},
            }
            if after:
                query["search_after"] = after
            else:
                query["query"]["bool"]["filter"].append({"range": {"@timestamp": {"gte": self.start}}})
            # a search only reads: safe to repeat
            response = self.es.post("/%s/_search" % self.index, json=query, idempotent=True)
            page = _json(response, "_search")
            hits = (page.get("hits") or {}).get("hits")
            if not isinstance(hits, list):
                raise IdgateError("elastic source %s: the _search answer has no hits" % self.id)
            if not hits:
                return
            records = list(self.normalizer.records(page))
            after = hits[-1].get("sort") or after
            yield Batch(records, {"search_after": after})
            if len(hits) < self.page_size:
                return

    def write_back(self, alert: Alert, decisions: List[Dict[str, Any]]) -> None:
        if not decisions or self.kibana is None or self.write_back_config.get("enabled") is False:
            return
        alert_id = alert.source.record_id
        level = strongest(decisions)
        tags = sorted({"idgate:%s" % level} | {"idgate:rule:%s" % d.get("rule_id") for d in decisions
                                                if d.get("rule_id")}) if level else []
        if tags:
            self.kibana.post("/api/detection_engine/signals/tags", idempotent=True, json={
                "ids": [alert_id], "tags": {"tags_to_add": tags, "tags_to_remove": []}})
        status = (self.write_back_config.get("status") or {}).get(level) if level else None
        if status:
            self.kibana.post("/api/detection_engine/signals/status", idempotent=True,
                             json={"signal_ids": [alert_id], "status": status})


def _json(response: requests.Response, what: str) -> Dict[str, Any]:
    return json_object(response, "elastic", what)


def source(config: Dict[str, Any], secrets_module: Any) -> ElasticSource:
    return ElasticSource(config, secrets_module)

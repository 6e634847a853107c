"""Sentinel and Elastic sources over HTTP (responses)."""
import json
import re

import pytest
import responses

from idgate import secrets
from idgate.errors import IdgateError
from idgate.sources.elastic import ElasticSource
from idgate.sources.sentinel import SentinelSource

WS = ("https://management.azure.com/subscriptions/s1/resourceGroups/rg/providers/"
      "Microsoft.OperationalInsights/workspaces/ws/providers/Microsoft.SecurityInsights")
TOKEN = "https://login.microsoftonline.com/t1/oauth2/v2.0/token"


def incident(name, modified):
    return {"id": WS + "/incidents/" + name, "name": name, "etag": '"e1"', "type": "Microsoft.SecurityInsights/incidents",
            "properties": {"title": "Password spray", "severity": "High", "status": "New",
                           "createdTimeUtc": "2026-11-28T10:00:00Z", "lastModifiedTimeUtc": modified,
                           "relatedAnalyticRuleIds": ["rule-1"], "labels": []}}


@pytest.fixture
def sentinel(monkeypatch):
    monkeypatch.setenv("AZ_SECRET", "az-secret-0123456789")
    return SentinelSource({"id": "sent", "type": "sentinel", "tenant_id": "t1", "client_id": "c1",
                           "client_secret": "env:AZ_SECRET", "subscription_id": "s1", "resource_group": "rg",
                           "workspace": "ws"}, secrets, sleep=lambda s: None)


@responses.activate
def test_sentinel_paging_reauth_and_entities(sentinel):
    responses.add(responses.POST, TOKEN, json={"access_token": "tok-AAAAAAAAAAAA"})
    responses.add(responses.POST, TOKEN, json={"access_token": "tok-BBBBBBBBBBBB"})
    responses.add(responses.GET, WS + "/incidents", status=401, json={"error": {"code": "ExpiredAuthenticationToken",
                                                                                "message": "token expired"}})
    responses.add(responses.GET, WS + "/incidents",
                  json={"value": [incident("i1", "2026-11-28T10:01:00Z")], "nextLink": WS + "/incidents?page=2"})
    responses.add(responses.GET, WS + "/incidents", json={"value": [incident("i2", "2026-11-28T10:02:00Z")]})
    for name in ("i1", "i2"):
        responses.add(responses.POST, WS + "/incidents/%s/alerts" % name, json={"value": []})
        responses.add(responses.POST, WS + "/incidents/%s/entities" % name, json={"entities": [
            {"kind": "Account", "properties": {"accountName": "alice", "upnSuffix": "contoso.com", "aadUserId": "u-1"}}]})
    batches = list(sentinel.pull(None))
    assert [r["name"] for b in batches for r in b.records] == ["i1", "i2"]
    assert batches[-1].checkpoint == {"last_modified": "2026-11-28T10:02:00Z"}
    incident_calls = [c for c in responses.calls if "/incidents" in c.request.url and c.request.method == "GET"]
    assert incident_calls[1].request.headers["Authorization"] == "Bearer tok-BBBBBBBBBBBB"
    alert = sentinel.normalizer.normalize(batches[0].records[0])
    assert alert.identity.id == "u-1" and alert.identity.name == "alice@contoso.com"
    assert [r.action for r in alert.recommendations] == ["revoke_sessions"]


@responses.activate
def test_sentinel_html_answer_is_clear(sentinel):
    responses.add(responses.POST, TOKEN, json={"access_token": "tok-AAAAAAAAAAAA"})
    responses.add(responses.GET, WS + "/incidents", body="<html>sign in</html>", content_type="text/html")
    with pytest.raises(IdgateError, match="sentinel: the incidents answer is not JSON \\(an HTML page\\)"):
        list(sentinel.pull(None))


@responses.activate
def test_sentinel_write_back_comment_and_label_with_etag(sentinel):
    responses.add(responses.POST, TOKEN, json={"access_token": "tok-AAAAAAAAAAAA"})
    responses.add(responses.PUT, re.compile(re.escape(WS) + r"/incidents/i1/comments/.*"), json={})
    responses.add(responses.GET, WS + "/incidents/i1", json=incident("i1", "x"))
    responses.add(responses.PUT, WS + "/incidents/i1", status=412, json={"error": {"message": "etag"}})
    responses.add(responses.GET, WS + "/incidents/i1", json=dict(incident("i1", "y"), etag='"e2"'))
    responses.add(responses.PUT, WS + "/incidents/i1", json={})
    alert = sentinel.normalizer.normalize(incident("i1", "x"))
    sentinel.write_back(alert, [{"decision_id": "d1", "action": "revoke_sessions", "target": {"id": "u-1"},
                                 "autonomy": "review", "rule_id": "r", "policy_version": "p" * 64}])
    comment = json.loads(responses.calls[1].request.body)
    assert "revoke_sessions on u-1: REVIEW" in comment["properties"]["message"]
    final = responses.calls[-1].request
    assert final.headers["If-Match"] == '"e2"'
    assert {"labelName": "idgate-review", "labelType": "User"} in json.loads(final.body)["properties"]["labels"]


@responses.activate
def test_elastic_search_after_paging(monkeypatch):
    monkeypatch.setenv("ES_KEY", "es-key-0123456789")
    src = ElasticSource({"id": "el", "type": "elastic", "url": "https://es.example:9200", "api_key": "env:ES_KEY",
                         "page_size": 2}, secrets, sleep=lambda s: None)
    url = "https://es.example:9200/.alerts-security.alerts-*/_search"

    def hit(i):
        return {"_id": "a%d" % i, "_index": ".internal.alerts-security.alerts-default-000001", "sort": [i, "a%d" % i],
                "_source": {"@timestamp": "2026-11-28T10:00:0%dZ" % i, "kibana.alert.uuid": "a%d" % i,
                            "kibana.alert.risk_score": 73, "kibana.alert.rule.name": "r", "user": {"name": "svc-x"}}}
    responses.add(responses.POST, url, status=503, body="busy")
    responses.add(responses.POST, url, json={"hits": {"hits": [hit(1), hit(2)]}})
    responses.add(responses.POST, url, json={"hits": {"hits": [hit(3)]}})
    batches = list(src.pull(None))
    assert [r["_id"] for b in batches for r in b.records] == ["a1", "a2", "a3"]
    assert batches[-1].checkpoint == {"search_after": [3, "a3"]}
    assert json.loads(responses.calls[2].request.body)["search_after"] == [2, "a2"]
    alert = src.normalizer.normalize(batches[0].records[0])
    assert alert.ai.score == 0.73 and alert.identity.kind == "service_account"

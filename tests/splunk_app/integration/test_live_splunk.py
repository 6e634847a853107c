"""End to end against a real Splunk (opt-in): installs the built app, saves a
policy, runs ``| idgate`` and the ``idgate_decide`` alert action, and checks
the KV store and the idgate index.

    IDGATE_SPLUNK_URL=https://localhost:8089 IDGATE_SPLUNK_USER=admin \\
    IDGATE_SPLUNK_PASSWORD=... [IDGATE_SPLUNK_VERIFY=0] \\
    IDGATE_SPLUNK_PACKAGE=dist/idgate-0.1.0.tar.gz  pytest tests/splunk_app/integration

The package path must be readable by the Splunk server (same host, or a
mounted path); skipped entirely unless IDGATE_SPLUNK_URL is set."""
import json
import os
import time
from typing import Any

import pytest

URL = os.environ.get("IDGATE_SPLUNK_URL")
pytestmark = pytest.mark.skipif(not URL, reason="IDGATE_SPLUNK_URL is not set (opt-in Splunk integration tests)")

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


@pytest.fixture(scope="module")
def service() -> Any:
    from urllib.parse import urlsplit

    from splunklib import client
    parts = urlsplit(URL or "")
    svc = client.connect(scheme=parts.scheme, host=parts.hostname, port=parts.port or 8089,
                         username=os.environ.get("IDGATE_SPLUNK_USER", "admin"),
                         password=os.environ["IDGATE_SPLUNK_PASSWORD"], owner="nobody", app="idgate",
                         verify=os.environ.get("IDGATE_SPLUNK_VERIFY", "1") != "0", autologin=True)
    package = os.path.abspath(os.environ.get("IDGATE_SPLUNK_PACKAGE") or
                              sorted(p for p in os.listdir(os.path.join(ROOT, "dist")) if p.startswith("idgate-"))[-1])
    svc.post("apps/local", name=package, filename=True, update=True)
    svc.restart(timeout=300)
    return svc


def _search(service: Any, spl: str) -> list:
    from splunklib.results import JSONResultsReader
    stream = service.jobs.oneshot(spl, output_mode="json", count=0)
    return [r for r in JSONResultsReader(stream) if isinstance(r, dict)]


def test_policy_command_and_alert_action(service: Any) -> None:
    policy = open(os.path.join(ROOT, "samples", "policy.yaml"), encoding="utf-8").read()
    service.post("idgate_policy", name="current", yaml=policy, comment="integration test")
    notable = ('| makeresults | eval event_id="IT@@notable@@%d", rule_title="Identity - Leaked API key used from new ASN",'
               ' ai_model="es-ai-triage", ai_score="0.95", user="AKIAIOSFODNN7EXAMPLE", user_category="service_account",'
               ' severity="high"' % int(time.time()))
    rows = _search(service, notable + " | idgate")
    assert rows and rows[0]["idgate_autonomy"] == "auto", rows
    _search(service, notable + ' | sendalert idgate_decide param.write_back="0"')
    deadline = time.time() + 120
    while time.time() < deadline:
        found = _search(service, '| inputlookup idgate_decisions_lookup | search autonomy="auto"')
        if found:
            break
        time.sleep(5)
    assert found, "the alert action recorded no decision"
    audit = _search(service, 'search index=idgate sourcetype="idgate:audit" | head 1000')
    assert any(json.loads(r["_raw"])["kind"] == "decision.made" for r in audit)

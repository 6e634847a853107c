"""Every real record of ../shared/corpus normalises without error."""
import json
import os
import subprocess
import sys

import pytest

from idgate.inputs import read_records
from idgate.ingest import normalize_value
from idgate.sources import get_normalizer

from .conftest import CORPUS, corpus_files, corpus_path

FILES = corpus_files()


def normalise_file(platform, path):
    normalizer = get_normalizer(platform)
    records = normalizer.read_file(path) or read_records(path)
    alerts, errors = [], []
    for rec in records:
        if not rec.ok:
            errors.append(rec.value)
            continue
        for result, _raw in normalize_value(normalizer, rec.value):
            (errors if isinstance(result, Exception) else alerts).append(result)
    return alerts, errors


@pytest.mark.skipif(not FILES, reason="corpus not found at %s (../shared/corpus)" % CORPUS)
@pytest.mark.parametrize("platform,path", FILES, ids=[os.path.basename(p) for _, p in FILES] or None)
def test_every_corpus_file_normalises(platform, path):
    alerts, errors = normalise_file(platform, path)
    assert errors == []
    assert alerts, "no alert from %s" % path
    for alert in alerts:
        assert alert.source.platform == platform
        assert alert.id.startswith(platform + ":")
        if alert.ai.score is None:
            # an unscored record says so; nothing is invented
            assert "no AI score" in alert.ai.unscored_reason or "not scored" in " ".join(
                alert.source.model_extra.get("notes", []))


@pytest.mark.skipif(not FILES, reason="corpus not found")
@pytest.mark.parametrize("platform,path", [f for f in FILES if f[1].endswith((".json", ".jsonl", ".ndjson"))],
                         ids=lambda v: os.path.basename(v) if isinstance(v, str) and "/" in v else v)
def test_cli_normalize_json_corpus(platform, path):
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "idgate"), "normalize", "--from", platform, path],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-500:] + out.stderr[-500:]
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines and all("error" not in line for line in lines)


def test_export_stream_only_final_rows_count():
    alerts, errors = normalise_file("splunk_es", corpus_path("splunk", "splunk-sdk-java_export_output_mode_json.jsonl"))
    assert errors == []
    # 64 preview lines are skipped, the 5 final rows remain
    assert alerts[-1].raw["count"] == "35994"
    assert len(alerts) == 5


def test_xml_export_skips_previews():
    alerts, _ = normalise_file("splunk_es", corpus_path("splunk", "splunk-sdk-java_export_output_mode_xml.xml"))
    assert len(alerts) == 5


def test_notable_fields_mapped():
    alerts, _ = normalise_file("splunk_es", corpus_path("splunk", "demisto-content_SplunkPy_test_notable_event.json"))
    (alert,) = alerts
    assert alert.source.record_id.endswith("@@notable@@e4f07602f507975e9f7ba47c4ae0c417")
    assert alert.identity.id == "root" and alert.identity.kind == "human"
    assert alert.rule.name == "Root user use"
    assert alert.severity == "informational"
    assert alert.ai.score is None  # risk_score "xx" is an ES risk sum, not an AI score


def test_dest_priority_gives_tier():
    alerts, _ = normalise_file("splunk_es", corpus_path("splunk", "demisto-content_SplunkPy_response_two_notables.json"))
    assert alerts[0].identity.kind == "workload" and alerts[0].identity.tier == "tier2"
    assert "pci" in alerts[0].identity.tags


def test_multivalue_kept_as_list():
    alerts, _ = normalise_file("splunk_es", corpus_path("splunk", "splunk-sdk-java_results_output_mode_json_multivalue.json"))
    assert alerts[0].raw["_si"] == ["dfoster-mbp17.local", "_internal"]


def test_sentinel_shapes():
    sp, _ = normalise_file("sentinel", corpus_path("sentinel", "elastic-integrations_azure_ServicePrincipalSignInLogs_first3.ndjson"))
    assert {a.identity.kind for a in sp} == {"service_account"}
    assert sp[0].identity.name == "Terraform-Datadog-CLI" and sp[0].identity.provider == "entra"
    risk, _ = normalise_file("sentinel", corpus_path("sentinel", "elastic-integrations_azure_identity_protection_UserRiskEvents.ndjson"))
    assert risk[0].identity.id == "joe.danger@mauriziobrancaoutlook.onmicrosoft.com"
    assert risk[0].severity == "high" and risk[0].ai.score is None
    # "2022-09-09T8:48:50.361Z": a one-digit hour is still read
    assert risk[1].detected_at.hour == 8
    csv_alerts, errors = normalise_file("sentinel", corpus_path("sentinel", "msticpy_SecurityAlert_alertlist.csv"))
    assert errors == [] and len(csv_alerts) == 189
    assert csv_alerts[0].identity.id == "ADMINISTRATOR"  # first account entity of Entities
    assert all(a.ai.score is None for a in csv_alerts)  # ConfidenceScore is empty in every row


def test_elastic_scores_and_kinds():
    alerts, _ = normalise_file("elastic", corpus_path("elastic", "kibana-es_archives_alerts_8.8.0_multiple_docs_first1.json"))
    assert alerts[0].ai.score == 0.47 and alerts[0].identity.id == "user1"
    ml, _ = normalise_file("elastic", corpus_path("elastic", "kibana-es_archives_security_auth_anomalies_first6of9.json"))
    kinds = {a.identity.id: a.identity.kind for a in ml}
    assert kinds["svc-account-1"] == "service_account"
    assert ml[0].ai.score == 0.855


def test_secops_service_account_and_score():
    alerts, _ = normalise_file("secops", corpus_path("chronicle", "demisto-content_chronicle_curatedRuleDetections_first1of2.json"))
    (alert,) = alerts
    assert alert.identity.kind == "service_account" and alert.identity.provider == "gcp"
    assert alert.ai.score == 0.35


def test_crowdstrike_access_key_and_confidence():
    ioa, _ = normalise_file("crowdstrike", corpus_path("crowdstrike", "demisto-content_crowdstrike_alerts_v2_entities_cloud_ioa.json"))
    assert ioa[0].identity.kind == "api_key" and ioa[0].identity.id.startswith("AKIA")
    assert [r.action for r in ioa[0].recommendations] == ["disable_access_key"]
    assert ioa[0].ai.score is None
    idp, _ = normalise_file("crowdstrike", corpus_path("crowdstrike", "elastic-integrations_crowdstrike_alert_identity_protection_line2.ndjson"))
    assert idp[0].ai.score == 0.8 and idp[0].identity.kind == "human"
    assert [r.action for r in idp[0].recommendations] == ["revoke_sessions"]


def test_qradar_offense():
    alerts, _ = normalise_file("qradar", corpus_path("qradar", "elastic-integrations_ibm_qradar_offenses.ndjson"))
    assert len(alerts) == 3 and all(a.ai.score is None for a in alerts)
    assert alerts[2].severity == "medium"

import os
import sys
from typing import Any, Iterator

import pytest
import responses

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
APP_BIN = os.path.join(ROOT, "connectors", "splunk", "package", "bin")
# the app's own modules live in its bin/, as inside Splunk
if APP_BIN not in sys.path:
    sys.path.insert(0, APP_BIN)

from .fake_splunkd import BASE, FakeSplunkd  # noqa: E402


@pytest.fixture
def splunkd() -> Iterator[FakeSplunkd]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeSplunkd(rsps)


@pytest.fixture
def service(splunkd: FakeSplunkd) -> Any:
    from idgate.state.kvstore import connect
    return connect(BASE, "sessionkey123")


SAMPLES = os.path.join(ROOT, "samples")


# (rule title, identity, its category, AI score) → auto, review, advisory under samples/policy.yaml
CASES = [
    ("Identity - Leaked API key used from new ASN", "AKIAIOSFODNN7EXAMPLE", "service_account", "0.95"),
    ("Identity - Session hijack suspected", "jdoe", "", "0.97"),
    ("Identity - Compromised service account", "svc-backup", "service_account", "0.5"),
]


def base_notable() -> dict:
    """A real ES notable (SplunkPy test data, corpus/splunk), all values strings."""
    import json
    path = os.path.join(os.environ.get("IDGATE_CORPUS_DIR", "/work/shared/corpus/splunk"),
                        "demisto-content_SplunkPy_response_two_notables.json")
    if not os.path.exists(path):
        path = os.path.join(ROOT, "tests", "splunk_app", "data", "notable.json")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data[0] if isinstance(data, list) else data


def notable(i: int, case: int = 0) -> dict:
    title, user, category, score = CASES[case]
    return dict(base_notable(), event_id="66D21DF4-F4FD-4886-A986-82E72ADCBFE9@@notable@@%032x" % i,
                rule_title=title, ai_model="es-ai-triage", ai_score=score, user=user, user_category=category,
                severity="high", _time="2026-11-28T10:%02d:00.000+00:00" % (i % 60))


POLICY_TEXT = open(os.path.join(SAMPLES, "policy.yaml"), encoding="utf-8").read()

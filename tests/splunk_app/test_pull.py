"""The idgate_pull modular input: ES export search on this Splunk, the
pipeline, checkpoints in the KV store, nothing decided twice."""
import json
import time
from types import SimpleNamespace
from typing import Any

from idgate.state.kvstore import KVStoreState
from idgate_app.context import SplunkContext
from idgate_app.policies import PolicyStore
from idgate_app.pull import stream_events

from .conftest import BASE, POLICY_TEXT, notable


def test_scheduled_pull_with_kv_checkpoints(service: Any, splunkd: Any) -> None:
    PolicyStore(KVStoreState(service)).save("current", POLICY_TEXT, "admin")
    splunkd.export_rows = [dict(notable(i, case=i % 3), _indextime=str(int(time.time()))) for i in range(3)]
    inputs = SimpleNamespace(metadata={"server_uri": BASE, "session_key": "sessionkey123"},
                             inputs={"idgate_pull://es": {"search": "search `notable`", "overlap": "300s",
                                                          "write_back": "1", "interval": "60"}})
    stream_events(inputs, None, context=SplunkContext(BASE, "sessionkey123"))
    decisions = splunkd.collections["idgate_decisions"]
    assert sorted(d["autonomy"] for d in decisions.values()) == ["advisory", "auto", "review"]
    (checkpoint,) = [json.loads(d["body"]) for d in splunkd.collections["idgate_checkpoints"].values()]
    assert checkpoint["index_time"] and len(checkpoint["seen"]) == 3
    assert len(splunkd.notable_updates) == 3
    # the next run starts from the checkpoint and skips what was seen in the overlap
    stream_events(inputs, None, context=SplunkContext(BASE, "sessionkey123"))
    assert len(splunkd.collections["idgate_decisions"]) == 3
    assert abs(float(splunkd.exports[1]["index_earliest"]) - (checkpoint["index_time"] - 300)) < 0.01
    assert splunkd.exports[0]["output_mode"] == "json"


def test_a_failing_input_is_logged_not_raised(splunkd: Any, caplog: Any) -> None:
    inputs = SimpleNamespace(metadata={"server_uri": BASE, "session_key": "sessionkey123"},
                             inputs={"idgate_pull://es": {}})
    stream_events(inputs, None, context=SplunkContext(BASE, "sessionkey123"))
    assert "no current policy saved yet" in caplog.text

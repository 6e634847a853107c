"""The idgate_decide alert action with the payload Splunk hands it: JSON on
stdin naming a gzipped CSV results file (multivalue fields in __mv_ columns)."""
import gzip
import io
import json
from typing import Any, Dict, List

import pytest

from idgate.audit import verify
from idgate.state.kvstore import KVStoreState, records_from_events
from idgate_app import alert
from idgate_app.policies import PolicyStore

from .conftest import BASE, POLICY_TEXT, notable
from .protocol import records_csv


def payload(tmp_path: Any, rows: List[Dict[str, Any]], **config: Any) -> Dict[str, Any]:
    path = tmp_path / "results.csv.gz"
    with gzip.open(str(path), "wt", encoding="utf-8", newline="") as fh:
        fh.write(records_csv(rows))
    return {"app": "SplunkEnterpriseSecuritySuite", "owner": "admin", "session_key": "sessionkey123",
            "server_host": "sh1", "server_uri": BASE, "results_file": str(path),
            "results_link": "https://sh1:8000/app/search/search?q=%7Cloadjob", "sid": "scheduler__admin_1",
            "search_name": "Identity - AI triage - Rule", "configuration": dict({"write_back": "1"}, **config),
            "result": rows[0] if rows else {}}


@pytest.fixture
def saved(service: Any) -> None:
    PolicyStore(KVStoreState(service)).save("current", POLICY_TEXT, "admin")


def test_rows_are_decided_recorded_and_written_back(saved: Any, tmp_path: Any, splunkd: Any) -> None:
    rows = [notable(i, case=i % 3) for i in range(3)]
    out = io.StringIO()
    code = alert.main(["idgate_decide.py", "--execute"], io.StringIO(json.dumps(payload(tmp_path, rows))))
    assert code == 0
    decisions = splunkd.collections["idgate_decisions"]
    assert sorted(d["autonomy"] for d in decisions.values()) == ["advisory", "auto", "review"]
    requests = [json.loads(d["body"]) for d in splunkd.collections["idgate_requests"].values()]
    assert len(requests) == 1 and requests[0]["status"] == "open" and requests[0]["action"] == "revoke_sessions"
    executions = [json.loads(d["body"]) for d in splunkd.collections["idgate_executions"].values()]
    assert [(e["action"], e["status"]) for e in executions] == [("disable_access_key", "done")]  # dry_run
    # written back to each notable, through ES's notable_update
    assert [u["ruleUIDs"] for u in splunkd.notable_updates] == [r["event_id"] for r in rows]
    assert "AUTO" in splunkd.notable_updates[0]["comment"]
    assert "contain-nhi-high-confidence" in splunkd.notable_updates[0]["comment"]
    # the audit trail verifies in the KV store and in the idgate index
    state = KVStoreState(__import__("idgate.state.kvstore", fromlist=["connect"]).connect(BASE, "k"))
    head = state.audit_anchor()
    assert verify(state.audit_records(), head).ok
    assert verify(records_from_events(splunkd.indexed), head).ok
    kinds = [json.loads(e["_raw"])["kind"] for e in splunkd.indexed]
    assert kinds.count("annotation.written") == 3 and "execution.completed" in kinds


def test_rerun_decides_nothing_twice(saved: Any, tmp_path: Any, splunkd: Any) -> None:
    p = payload(tmp_path, [notable(1, case=0)])
    first = alert.run(p)
    second = alert.run(p)
    assert first["decisions"] == second["decisions"] == {"auto": 1}
    assert len(splunkd.collections["idgate_executions"]) == 1


def test_bad_row_is_a_dead_letter_and_the_rest_go_on(saved: Any, tmp_path: Any, splunkd: Any) -> None:
    rows = [dict(notable(0), ai_score="7.5"), notable(1, case=1)]
    summary = alert.run(payload(tmp_path, rows, write_back="0"))
    assert summary["rejected"] == 1 and summary["decisions"] == {"review": 1}
    letters = [json.loads(d["body"]) for d in splunkd.collections["idgate_dead_letters"].values()]
    assert "ai_score='7.5' is outside 0..1" in letters[0]["reason"]
    assert not splunkd.notable_updates


def test_multivalue_fields_survive_the_results_file(tmp_path: Any) -> None:
    rows = [notable(0)]
    rows[0]["dest_asset_tag"] = ["cardholder", "pci$x", "americas"]
    back = list(alert.read_results(payload(tmp_path, rows)["results_file"]))
    assert back[0]["dest_asset_tag"] == ["cardholder", "pci$x", "americas"]
    assert back[0]["_si"] == rows[0]["_si"]


def test_bad_invocations_are_one_line(tmp_path: Any, capsys: Any, splunkd: Any) -> None:
    assert alert.main(["idgate_decide.py"], io.StringIO("{}")) == 2
    assert alert.main(["idgate_decide.py", "--execute"], io.StringIO("not json")) == 2
    assert alert.main(["idgate_decide.py", "--execute"], io.StringIO("{}")) == 2
    err = capsys.readouterr().err
    assert "no session_key" in err and "Traceback" not in err
    p = payload(tmp_path, [notable(0)])
    assert alert.main(["idgate_decide.py", "--execute"], io.StringIO(json.dumps(p))) == 2
    assert "no current policy saved yet" in capsys.readouterr().err

"""Tampering: every kind of edit to a stored or exported trail is detected."""
import json
import sqlite3

import pytest

from idgate.audit import AuditTrail, verify
from idgate.cli import main
from idgate.secrets import register
from idgate.state import open_state


@pytest.fixture
def trail(tmp_path):
    state = open_state(str(tmp_path / "state"))
    audit = AuditTrail(state)
    for i in range(6):
        audit.append("decision.made", alert_id="a%d" % i, data={"autonomy": "review", "i": i})
    return state, audit


def export(state):
    return list(state.audit_records())


def test_intact_trail_verifies(trail):
    state, audit = trail
    assert audit.verify().ok and audit.verify().records == 6


def test_edited_record_is_named(trail):
    records = export(trail[0])
    records[2]["data"]["autonomy"] = "auto"
    result = verify(records)
    assert not result.ok and "seq 3 was edited" in result.problems[0]


def test_deleted_record_is_named(trail):
    records = export(trail[0])
    del records[3]
    result = verify(records)
    assert any("missing before seq 5" in p for p in result.problems)


def test_inserted_record_is_detected(trail):
    records = export(trail[0])
    forged = dict(records[1])
    forged["data"] = {"autonomy": "auto"}
    records.insert(2, forged)
    assert not verify(records).ok


def test_reordered_records_are_detected(trail):
    records = export(trail[0])
    records[1], records[2] = records[2], records[1]
    result = verify(records)
    assert any("reordered" in p or "does not chain" in p for p in result.problems)


def test_rehashed_edit_still_breaks_the_chain(trail):
    from idgate.audit import record_hash
    records = export(trail[0])
    records[2]["data"]["autonomy"] = "auto"
    records[2]["hash"] = record_hash(records[2])  # the forger recomputes the hash
    result = verify(records)
    assert any("seq 4 does not chain" in p for p in result.problems)


def test_cut_from_the_end_of_the_store_is_detected(trail, tmp_path):
    state, audit = trail
    db = sqlite3.connect(str(tmp_path / "state" / "idgate.db"))
    db.execute("DELETE FROM audit WHERE seq = 6")
    db.commit()
    result = audit.verify()
    assert not result.ok and "head" in result.problems[0]


def test_edit_in_the_store_is_detected_by_the_cli(trail, tmp_path, capsys):
    db = sqlite3.connect(str(tmp_path / "state" / "idgate.db"))
    body = json.loads(db.execute("SELECT body FROM audit WHERE seq = 2").fetchone()[0])
    body["alert_id"] = "someone-else"
    db.execute("UPDATE audit SET body = ? WHERE seq = 2", (json.dumps(body),))
    db.commit()
    assert main(["audit", "verify", "--state", str(tmp_path / "state")]) == 1
    assert "seq 2 was edited" in capsys.readouterr().out


def test_exported_file_verifies_and_detects_edits(trail, tmp_path, capsys):
    state, _ = trail
    out = tmp_path / "export.jsonl"
    assert main(["audit", "export", "--state", str(tmp_path / "state")]) == 0
    out.write_text(capsys.readouterr().out)
    assert main(["audit", "verify", "--file", str(out)]) == 0
    lines = out.read_text().splitlines()
    lines[4] = lines[4].replace('"review"', '"auto"')
    out.write_text("\n".join(lines) + "\n")
    assert main(["audit", "verify", "--file", str(out)]) == 1
    assert "seq 5 was edited" in capsys.readouterr().out


def test_secrets_never_enter_the_trail(tmp_path):
    state = open_state(str(tmp_path / "s"))
    canary = "canary-Secret-7f3a9c"
    register(canary)
    AuditTrail(state).append("execution.failed", data={"error": "401 for token %s" % canary})
    raw = sqlite3.connect(str(tmp_path / "s" / "idgate.db")).execute("SELECT body FROM audit").fetchone()[0]
    assert canary not in raw and "***" in raw

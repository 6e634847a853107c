"""idgate evaluate / explain / replay through the CLI."""
import json

from ._helpers import alert_dict

POLICY = "samples/policy.yaml"
CANDIDATE = "samples/policy-candidate.yaml"
ALERTS = "samples/alerts/canonical.jsonl"


def jsonl(out: str):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def two_alerts_and_a_bad_one() -> bytes:
    good1 = alert_dict(id="a1")
    good2 = alert_dict(id="a2", rec={"action": "disable_app"})
    return (json.dumps(good1) + "\n" + "{not json\n" + json.dumps({"id": "bad", "source": {}}) + "\n"
            + json.dumps(good2) + "\n").encode()


def test_evaluate_the_samples(cli):
    code, out, err = cli("evaluate", "--policy", POLICY, ALERTS)
    assert code == 0 and err == ""
    decisions = jsonl(out)
    assert len(decisions) == 88
    assert {d["autonomy"] for d in decisions} == {"auto", "review", "advisory", "blocked"}
    for d in decisions:
        assert {"decision_id", "alert_id", "recommendation_index", "action", "target", "autonomy",
                "rule_id", "caps", "policy_version", "decided_at"} <= set(d)


def test_evaluate_a_bad_record_gives_an_error_line_and_the_rest_are_decided(cli, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(two_alerts_and_a_bad_one())
    code, out, err = cli("evaluate", "--policy", POLICY, str(path))
    assert code == 2
    lines = jsonl(out)
    errors = [x for x in lines if "error" in x and "autonomy" not in x]
    decided = [x["alert_id"] for x in lines if "autonomy" in x]
    assert decided == ["a1", "a2"]
    assert [(e["record"], e["record_id"]) for e in errors] == [(2, None), (3, "bad")]
    assert "source.platform" in errors[1]["error"]
    assert err.strip() == "idgate: 2 records could not be used (see the error lines)"


def test_evaluate_reads_stdin_json_array(cli):
    array = json.dumps([alert_dict(id="x1"), alert_dict(id="x2")]).encode()
    code, out, err = cli("evaluate", "--policy", POLICY, "-", stdin=array)
    assert code == 0, err
    assert [d["alert_id"] for d in jsonl(out)] == ["x1", "x2"]
    code, out, _ = cli("evaluate", "--policy", POLICY, stdin=json.dumps(alert_dict(id="x3")).encode())
    assert code == 0 and jsonl(out)[0]["alert_id"] == "x3"


def test_evaluate_with_a_bad_policy_or_missing_input_exits_2(cli, tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("version: 1\nrulez: []\n")
    code, out, err = cli("evaluate", "--policy", str(bad), ALERTS)
    assert (code, out) == (2, "") and "rulez: unknown key" in err and err.count("\n") == 1
    code, _, err = cli("evaluate", "--policy", POLICY, str(tmp_path / "none.jsonl"))
    assert code == 2 and "no such file" in err


def test_evaluate_simulates_budgets_over_detected_at(cli, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nai_sources:\n  - {id: es, match: {source.platform: splunk_es}, "
                      "max_autonomy: auto}\nbudgets:\n  - {id: b, actions: [revoke_sessions], max: 2, per: 1h}\n"
                      "rules:\n  - {id: a, when: {}, autonomy: auto}\n")
    lines = "".join(json.dumps(alert_dict(id="b%d" % i, detected_at="2026-11-28T10:%02d:00Z" % i)) + "\n"
                    for i in range(4))
    code, out, _ = cli("evaluate", "--policy", str(policy), stdin=lines.encode())
    assert code == 0
    assert [d["autonomy"] for d in jsonl(out)] == ["auto", "auto", "review", "review"]


def test_explain_text_and_json(cli, tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(alert_dict(id="e1", identity={"tier": "tier0"})) + "\n")
    code, out, _ = cli("explain", "--policy", POLICY, str(path))
    assert code == 0
    assert "alert e1" in out and "rules matched:" in out and "protected_identity caps auto → review" in out
    assert "→ REVIEW" in out
    code, out, _ = cli("explain", "--policy", POLICY, "--json", str(path))
    trace = jsonl(out)[0]
    assert trace["decision"]["autonomy"] == "review"
    assert "contain-nhi-high-confidence" in trace["matched_rules"]
    assert any("protected_identity" in s for s in trace["steps"])


def test_explain_names_a_bad_record(cli, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(two_alerts_and_a_bad_one())
    code, out, _ = cli("explain", "--policy", POLICY, str(path))
    assert code == 2
    assert "record 3 (bad): cannot decide" in out and "alert a2" in out


def test_replay_counts_and_changes(cli, tmp_path):
    changes = tmp_path / "changes.jsonl"
    code, out, _ = cli("replay", "--policy", POLICY, "--against", CANDIDATE, "--changes", str(changes), ALERTS)
    assert code == 0
    assert "replayed 51 alerts, 88 recommendations (0 bad)" in out
    assert "change autonomy from P to Q" in out and "budget" in out
    written = jsonl(changes.read_text())
    assert written and all(c["from"] != c["to"] for c in written)
    assert {"auto", "review"} <= {c["from"] for c in written} | {c["to"] for c in written}


def test_replay_json_is_consistent_with_evaluate(cli):
    code, out, _ = cli("replay", "--policy", POLICY, "--against", CANDIDATE, "--json", ALERTS)
    assert code == 0
    report = json.loads(out)
    _, ev_out, _ = cli("evaluate", "--policy", POLICY, ALERTS)
    _, evq_out, _ = cli("evaluate", "--policy", CANDIDATE, ALERTS)
    p = [d["autonomy"] for d in jsonl(ev_out)]
    q = [d["autonomy"] for d in jsonl(evq_out)]
    assert report["alerts"] == 51 and report["recommendations"] == len(p)
    assert report["policy"]["autonomy"] == {lvl: p.count(lvl) for lvl in ("auto", "review", "advisory", "blocked")}
    assert report["against"]["autonomy"] == {lvl: q.count(lvl) for lvl in ("auto", "review", "advisory", "blocked")}
    assert report["changed"] == sum(1 for a, b in zip(p, q) if a != b) == len(report["changes"])


def test_replay_same_policy_changes_nothing_and_reports_bad_records(cli, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(two_alerts_and_a_bad_one())
    code, out, _ = cli("replay", "--policy", POLICY, "--against", POLICY, "--json", str(path))
    report = json.loads(out)
    assert code == 0
    assert (report["alerts"], report["bad_records"], report["changed"]) == (2, 2, 0)
    assert len(report["errors"]) == 2

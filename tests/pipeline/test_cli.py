"""The pipeline's command line: what a SOC engineer types."""
import json
import os
import subprocess
import sys

from idgate.cli import main

from .conftest import ROOT, make_alert, write_config, write_jsonl


def idgate(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, "-m", "idgate", *args], cwd=cwd, env=env, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def test_demo_runs_and_explains_next_steps(tmp_path):
    code, out, err = idgate("demo", "--samples", os.path.join(ROOT, "samples"), "--state", str(tmp_path / "demo"))
    assert code == 0, err
    for expected in ("auto", "review", "advisory", "blocked", "chain verified", "idgate approve", "idgate audit verify"):
        assert expected in out
    code, out, _ = idgate("demo", "--samples", os.path.join(ROOT, "samples"), "--state", str(tmp_path / "demo"),
                          "--json")
    summary = json.loads(out)
    assert summary["audit"]["ok"] and summary["alerts"] >= 40
    assert set(summary["decisions"]) == {"auto", "review", "advisory", "blocked"}


def test_queue_approve_and_audit_from_the_cli(workdir, capsys):
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(1, kind="human", action="revoke_sessions", confidence=0.8)])
    config = write_config(workdir)
    state = str(workdir / "state")
    assert main(["run", "--config", config, "--once"]) == 0
    capsys.readouterr()
    assert main(["queue", "list", "--state", state, "--json"]) == 0  # config remembered by the state
    (request,) = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert main(["queue", "show", request["request_id"], "--state", state]) == 0
    shown = capsys.readouterr().out
    assert request["digest"] in shown and "untrusted" in shown
    assert main(["approve", request["request_id"], "--as", "ai:es-ai-triage", "--state", state]) == 2
    assert "refused" in capsys.readouterr().err
    assert main(["approve", request["request_id"], "--as", "alice", "--state", state]) == 0
    out = capsys.readouterr().out
    assert "approved" in out and "executed" in out
    assert main(["audit", "verify", "--state", state]) == 0
    assert main(["executions", "--state", state]) == 0


def test_bad_config_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "run.yaml"
    bad.write_text("policy: p.yaml\nsources:\n  - id: a\n    type: file\n  - id: a\n    type: file\nbatch_size: 0\n")
    code, out, err = idgate("config", "validate", str(bad))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "run.yaml:7: batch_size" in err
    (tmp_path / "p.yaml").write_text("version: 1\n")
    bad.write_text("policy: p.yaml\nsources:\n  - id: a\n    type: file\n  - id: a\n    type: file\n")
    code, out, err = idgate("config", "validate", str(bad))
    assert code == 2 and "run.yaml:5: sources[1].id: duplicate source id 'a'" in err


def test_unknown_request_and_missing_state_are_clear_errors(workdir):
    write_jsonl(str(workdir / "alerts.jsonl"), [make_alert(1)])
    config = write_config(workdir)
    code, _, err = idgate("approve", "rr-nope", "--as", "alice", "--config", config)
    assert code == 2 and "no review request rr-nope" in err
    code, _, err = idgate("audit", "verify", "--state", str(workdir / "nowhere"))
    assert code == 2 and "no idgate state" in err
    code, _, err = idgate("run", "--once", "--config", str(workdir / "missing.yaml"))
    assert code == 2 and "missing.yaml: no such file" in err


def test_readme_demo_command_works_from_the_repo(tmp_path):
    # README: `idgate demo` from the repository root finds samples/ by itself
    code, out, err = idgate("demo", "--state", str(tmp_path / "d"), cwd=ROOT)
    assert code == 0, err

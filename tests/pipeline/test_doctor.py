"""idgate doctor: idgate's own credentials are no broader than its actions need."""
from idgate.cli import main

from .conftest import write_config


def run_doctor(workdir, factory, capsys):
    path = write_config(workdir, executors={"default": "dry_run", "scoped": {"plugin": "fake_provider:%s" % factory}})
    code = main(["doctor", "--config", path, "--json"])
    import json
    return code, [json.loads(l) for l in capsys.readouterr().out.splitlines()]


def test_broader_credentials_are_a_warning(workdir, capsys):
    code, checks = run_doctor(workdir, "broad_credentials", capsys)
    assert code == 0
    creds = [c for c in checks if c["check"] == "executor scoped credentials"]
    assert creds == [{"check": "executor scoped credentials", "status": "warn",
                      "detail": "broader than needed: users.admin"}]


def test_missing_scopes_fail(workdir, capsys):
    code, checks = run_doctor(workdir, "narrow_credentials", capsys)
    assert code == 1
    assert any(c["status"] == "fail" and "missing: sessions.revoke" in c["detail"] for c in checks)


def test_offline_and_a_broken_executor(workdir, capsys):
    path = write_config(workdir, executors={"default": "dry_run", "okta": {"org_url": "https://x.okta.com"}})
    code = main(["doctor", "--config", path, "--offline"])
    out = capsys.readouterr().out
    assert "executor okta" in out and code in (0, 1)

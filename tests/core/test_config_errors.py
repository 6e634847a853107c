"""Every class of config mistake: one line, file:line: key: message."""
import subprocess
import sys

import pytest

from idgate.errors import ConfigError
from idgate.policy import load_policy

OK_HEAD = "version: 1\nrules:\n  - id: a\n    autonomy: review\n"

CASES = [
    # (name, text, line, key, words in the message)
    ("yaml-syntax", "version: 1\nrules:\n  - id: a\n    autonomy: [review\n", 5, "", "YAML syntax error"),
    ("duplicate-key", "version: 1\nkill_switch: false\nkill_switch: true\n", 3, "kill_switch",
     "duplicate key (first written on line 2)"),
    ("unknown-key", "version: 1\nrulez: []\n", 2, "rulez", "unknown key (did you mean 'rules'?)"),
    ("unknown-nested-key", OK_HEAD + "    autonomi: auto\n", 5, "rules[0].autonomi",
     "unknown key (did you mean 'autonomy'?)"),
    ("wrong-type", "version: 1\nbudgets:\n  - id: b\n    actions: [revoke_sessions]\n    max: many\n    per: 1h\n",
     5, "budgets[0].max", "'many'"),
    ("wrong-type-list", "version: 1\nrules: {id: a}\n", 2, "rules", "list"),
    ("bad-enum", "version: 1\nrules:\n  - id: a\n    autonomy: sometimes\n", 4, "rules[0].autonomy",
     "'sometimes' is not one of auto, review, advisory, blocked"),
    ("bad-mode", "version: 1\nai_sources:\n  - id: s\n    mode: overlord\n", 4, "ai_sources[0].mode",
     "'overlord' is not one of"),
    ("bad-duration", OK_HEAD + "    expires_in: 1 hour\n", 5, "rules[0].expires_in",
     "'1 hour' is not a duration (write 30s, 15m, 4h, 1d, 1h30m)"),
    ("bad-comparison", OK_HEAD + '    when: {confidence: ">= high"}\n', 5, "rules[0].when.confidence",
     "is not a number"),
    ("free-text-path", OK_HEAD + "    when: {ai.rationale: leaked}\n", 5, "rules[0].when.ai.rationale",
     "free text"),
    ("raw-path", OK_HEAD + "    when: {raw.src_asn: 14061}\n", 5, "rules[0].when.raw.src_asn", "free text"),
    ("unknown-path", OK_HEAD + "    when: {confidance: '>= 0.9'}\n", 5, "rules[0].when.confidance",
     "unknown key (did you mean 'confidence'?)"),
    ("typo-identity-path", OK_HEAD + "    when: {identity.kindd: human}\n", 5, "rules[0].when.identity.kindd",
     "did you mean 'identity.kind'?"),
    ("recommendation-path-in-ai-source", "version: 1\nai_sources:\n  - id: s\n    match: {action: x}\n", 4,
     "ai_sources[0].match.action", "matched per alert"),
    ("duplicate-rule-id", OK_HEAD + "  - id: a\n    autonomy: auto\n", 5, "rules[1].id", "duplicate rule id 'a'"),
    ("empty-file", "", 1, "", "the file is empty"),
    ("comments-only", "# nothing here\n", 1, "", "the file is empty"),
    ("not-a-mapping", "- id: a\n", 1, "", "must be a mapping"),
    ("missing-version", "rules: []\n", 1, "version", "required key is missing (write version: 1)"),
    ("wrong-version", "version: 2\n", 1, "version", "2 is not one of 1"),
    ("defaults-auto", "version: 1\ndefaults:\n  autonomy: auto\n", 3, "defaults.autonomy",
     "'auto' is not one of review, advisory, blocked"),
    ("budget-unknown-action", "version: 1\nbudgets:\n  - id: b\n    actions: [revoke_sessions, nuke]\n"
     "    max: 1\n    per: 1h\n", 4, "budgets[0].actions[1]", "'nuke' is not an action of the catalog"),
    ("empty-list-condition", OK_HEAD + "    when: {action: []}\n", 5, "rules[0].when.action", "empty list"),
    ("empty-protection", "version: 1\nprotected_identities:\n  - {}\n", 3, "protected_identities[0]",
     "would protect every identity"),
    ("rule-without-autonomy", "version: 1\nrules:\n  - id: a\n    when: {}\n", 3, "rules[0].autonomy",
     "required key is missing"),
]


@pytest.mark.parametrize("name, text, line, key, words", CASES, ids=[c[0] for c in CASES])
def test_config_mistake_gives_one_line_with_file_line_and_key(tmp_path, name, text, line, key, words):
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(str(path))
    message = str(info.value)
    assert "\n" not in message
    prefix = "%s:%d: %s" % (path, line, key + ": " if key else "")
    assert message.startswith(prefix), message
    assert words in message, message


@pytest.mark.parametrize("name, text, line, key, words", CASES, ids=[c[0] for c in CASES])
def test_cli_validate_exits_2_with_one_line(cli, tmp_path, name, text, line, key, words):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = cli("policy", "validate", str(path))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("idgate: %s:%d: " % (path, line)), err
    assert "Traceback" not in err


def test_missing_file_and_folder(cli, tmp_path):
    code, _, err = cli("policy", "validate", str(tmp_path / "nope.yaml"))
    assert (code, err.strip()) == (2, "idgate: %s: no such file" % (tmp_path / "nope.yaml"))
    code, _, err = cli("policy", "validate", str(tmp_path))
    assert code == 2 and "is a folder" in err


def test_not_utf8(cli, tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"version: 1\n# caf\xe9\n")
    code, _, err = cli("policy", "validate", str(path))
    assert code == 2 and "not UTF-8" in err


def test_real_entry_point_prints_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nrules:\n  - id: a\n    autonomy: sometimes\n", encoding="utf-8")
    entry = "import sys; from idgate.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", entry, "policy", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("idgate: %s:4: rules[0].autonomy: 'sometimes' is not one of "
                                   "auto, review, advisory, blocked" % path)


def test_valid_samples_validate(cli):
    code, out, err = cli("policy", "validate", "samples/policy.yaml", "samples/policy-candidate.yaml")
    assert code == 0 and err == ""
    assert out.count(": valid") == 2

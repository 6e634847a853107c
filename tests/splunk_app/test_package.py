"""The built package (make splunk-app): its lib/ imports and decides on a
bare Python 3.9 and a bare 3.13, and its files follow Splunk's rules.
Skipped when no package was built (connectors/splunk/ci.sh builds one)."""
import glob
import os
import re
import subprocess
import tarfile
from typing import Any, List, Optional

import pytest

from .conftest import ROOT

PACKAGE = os.environ.get("IDGATE_SPLUNK_PACKAGE") or next(iter(sorted(glob.glob(os.path.join(ROOT, "dist",
                                                                                           "idgate-*.tar.gz")))), "")
needs_package = pytest.mark.skipif(not os.path.isfile(PACKAGE), reason="no built package (run make splunk-app)")


def interpreter(version: str) -> Optional[str]:
    pattern = "/root/.pyenv/versions/%s.*/bin/python%s" % (version, version)
    root = os.environ.get("PYENV_ROOT")
    found = sorted(glob.glob(pattern)) + (sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin",
                                                                        "python" + version))) if root else [])
    from shutil import which
    # pyenv shims answer "not installed" unless selected: try each until one runs
    for candidate in found[::-1] + [which("python" + version)]:
        if candidate and subprocess.run([candidate, "-c", "import sys"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def app(tmp_path_factory: Any) -> str:
    out = str(tmp_path_factory.mktemp("pkg"))
    with tarfile.open(PACKAGE) as tar:
        tar.extractall(out)  # our own build output
    return os.path.join(out, "idgate")


SMOKE = r"""
import json, os, sys
app = sys.argv[1]
sys.path[:0] = [os.path.join(app, "bin")]
import idgate_bootstrap  # lib/ first, as every entry point does
import idgate, pydantic_core, splunklib, yaml, requests, tenacity
assert all(p.startswith(app) for p in idgate.__path__), list(idgate.__path__)
assert pydantic_core.__file__.startswith(app), pydantic_core.__file__
from idgate.gate import Gate, GateState
from idgate.policy import policy_from_text
from idgate.sources import get_normalizer
from idgate_app.command import IdgateCommand, ReviewCommand, TickCommand
from idgate_app import alert, rest, pull
policy = policy_from_text(open(sys.argv[2]).read())
notable = json.load(open(sys.argv[3]))
notable.update(event_id="E@@notable@@1", rule_title="Identity - Leaked API key used from new ASN",
               ai_model="es-ai-triage", ai_score="0.95", user="AKIAIOSFODNN7EXAMPLE", user_category="service_account",
               severity="high")
decisions = Gate(policy).decide(get_normalizer("splunk_es").normalize(notable), GateState())
print(sys.version_info[:2], [d.autonomy for d in decisions], pydantic_core.__version__)
"""


@needs_package
@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_lib_imports_on_a_bare_python(app: str, version: str, tmp_path: Any) -> None:
    python = interpreter(version)
    if python is None:
        pytest.skip("python%s is not installed here" % version)
    venv = str(tmp_path / "bare")
    subprocess.run([python, "-m", "venv", "--without-pip", venv], check=True)
    bare = os.path.join(venv, "bin", "python")
    out = subprocess.run([bare, "-I", "-B", "-c", SMOKE, app, os.path.join(ROOT, "samples", "policy.yaml"),
                          os.path.join(ROOT, "tests", "splunk_app", "data", "notable.json")],
                         capture_output=True, text=True, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "['auto']" in out.stdout
    assert out.stdout.startswith("(%s)" % version.replace(".", ", "))


@needs_package
def test_package_follows_splunk_rules(app: str) -> None:
    problems: List[str] = []
    with tarfile.open(PACKAGE) as tar:  # the package as shipped, not the extracted copy
        for member in tar.getmembers():
            rel = member.name.split("/", 1)[-1]
            if member.isfile() and (rel.endswith((".pyc", ".pyo")) or "__pycache__" in rel):
                problems.append("compiled python: " + rel)
            if member.isfile() and member.mode & 0o111 and not rel.startswith("bin/"):
                problems.append("executable outside bin/: " + rel)
    sos = sorted(os.path.basename(p) for p in glob.glob(os.path.join(app, "lib", "**", "*.so"), recursive=True))
    assert any("cpython-39" in s for s in sos) and any("cpython-313" in s for s in sos), sos
    for conf in ("commands", "alert_actions", "restmap", "inputs"):
        text = open(os.path.join(app, "default", conf + ".conf"), encoding="utf-8").read()
        for stanza, body in re.findall(r"^\[([^\]]+)\]\n((?:(?!\[).*\n?)*)", text, re.M):
            if conf == "restmap" and not stanza.startswith(("script:", "admin_external:")):
                continue
            if "python.version = python3" not in body or "python.required = 3.9,3.13" not in body:
                problems.append("%s.conf [%s] lacks python.version/python.required" % (conf, stanza))
    assert not problems, problems[:20]

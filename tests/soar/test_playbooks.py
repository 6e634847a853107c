"""The example playbooks call only what the integrations offer, and read
only outputs the integrations write."""
import ast
import os
import re

import yaml

from .conftest import ROOT

PLAYBOOKS = os.path.join(ROOT, "playbooks", "soar")


def xsoar_integration() -> dict:
    with open(os.path.join(ROOT, "connectors", "xsoar", "Idgate", "Idgate.yml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_the_xsoar_playbook_uses_existing_commands_and_outputs() -> None:
    with open(os.path.join(PLAYBOOKS, "xsoar_idgate_gate.yml"), encoding="utf-8") as fh:
        playbook = yaml.safe_load(fh)
    integration = xsoar_integration()
    commands = {c["name"]: c for c in integration["script"]["commands"]}
    outputs = {o["contextPath"] for c in commands.values() for o in c["outputs"]}
    used = set()
    for task in playbook["tasks"].values():
        script = task["task"].get("script", "")
        if script.startswith("idgate|||"):
            name = script.split("|||")[1]
            assert name in commands, name
            used.add(name)
            allowed = {a["name"] for a in commands[name]["arguments"]}
            assert set(task.get("scriptarguments", {})) <= allowed, (name, task["scriptarguments"])
        for nxt in (task.get("nexttasks") or {}).values():
            assert all(n in playbook["tasks"] for n in nxt)
    assert {"idgate-evaluate", "idgate-record-outcome", "idgate-approve", "idgate-deny"} <= used
    text = open(os.path.join(PLAYBOOKS, "xsoar_idgate_gate.yml"), encoding="utf-8").read()
    for path in set(re.findall(r"Idgate\.[A-Za-z]+\.[A-Za-z]+", text)):
        assert path in outputs, path


def test_the_splunk_soar_playbook_uses_existing_actions_and_fields() -> None:
    source = open(os.path.join(PLAYBOOKS, "splunk_soar_idgate_gate.py"), encoding="utf-8").read()
    ast.parse(source)
    app = open(os.path.join(ROOT, "connectors", "splunk_soar", "src", "app.py"), encoding="utf-8").read()
    actions = set(re.findall(r"^def (\w+)\(params", app, re.M)) | {"test_connectivity"}
    called = set(re.findall(r'phantom\.act\("([a-z ]+)",[^)]*?assets=\["idgate"\]', source, re.S))
    assert called and {c.replace(" ", "_") for c in called} <= actions, called
    client = open(os.path.join(ROOT, "connectors", "splunk_soar", "src", "idgate_client.py"), encoding="utf-8").read()
    for field in set(re.findall(r"action_result\.data\.\*\.(\w+)", source)):
        assert '"%s"' % field in client, field

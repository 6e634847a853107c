import json
from pathlib import Path

import idgate.policy


def test_shipped_schema_equals_the_generated_one(cli):
    code, out, _ = cli("policy", "schema")
    assert code == 0
    shipped = Path(idgate.policy.__file__).parent.parent / "data" / "policy.schema.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == json.loads(out), \
        "regenerate: idgate policy schema > src/idgate/data/policy.schema.json"


def test_schema_describes_the_policy_keys(cli):
    _, out, _ = cli("policy", "schema")
    schema = json.loads(out)
    assert {"version", "defaults", "rules", "budgets", "ai_sources"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False

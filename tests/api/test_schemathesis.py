"""Property-based run of schemathesis against the OpenAPI document, in
process (ASGI transport, no socket). Bounded: a few examples per operation.
Every response must be no 5xx, have a documented status and content type,
and match its schema; invalid input must be rejected."""
from typing import Any, Dict, Iterator, Tuple

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
try:
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance, negative_data_rejection, not_a_server_error, response_schema_conformance,
        status_code_conformance)
except ImportError:  # pragma: no cover - depends on the Python version
    # Python 3.9 gets schemathesis 4.4, whose checks live elsewhere; the
    # property run is done on the newer Pythons of the CI matrix
    pytest.skip("schemathesis %s lacks the conformance checks this run uses (Python 3.10+ gets them)"
                % getattr(schemathesis, "__version__", "?"), allow_module_level=True)

from idgate.api.app import create_app  # noqa: E402
from idgate.model import Alert  # noqa: E402

from ._support import CALLERS, alert, api_config, make_engine, review_alert, set_token_env  # noqa: E402

ROOT_TOKEN = "root-token-all-roles-0123456789abc"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture
def api_schema(tmp_path: Any, monkeypatch: Any) -> Iterator[Tuple[Any, Dict[str, str]]]:
    set_token_env(monkeypatch)
    monkeypatch.setenv("IDGATE_TEST_TOKEN_ROOT", ROOT_TOKEN)
    config = api_config()
    config.tokens.append(config.tokens[0].model_validate({
        "token": "env:IDGATE_TEST_TOKEN_ROOT", "caller": "root", "roles": ["evaluator", "approver", "admin"],
        "approval_roles": ["soc-l2"]}))
    engine = make_engine(str(tmp_path / "state"))
    app = create_app(engine, config)
    # real objects, so generated calls also reach the paths past "not found"
    request = engine.submit(Alert.model_validate(review_alert()), "test")[0]
    done = engine.submit(Alert.model_validate(alert()), "test")[0]
    delegated = engine.submit(Alert.model_validate(alert()), "test", delegate=True)[0]
    ids = {"request_id": engine.state.requests("open")[0]["request_id"],
           "execution_id": [e for e in engine.state.executions() if e["decision_id"] == done["decision_id"]][0][
               "execution_id"],
           "delegated": [e for e in engine.state.executions() if e["decision_id"] == delegated["decision_id"]][0][
               "execution_id"]}
    assert request["autonomy"] == "review"
    yield schemathesis.openapi.from_asgi("/openapi.json", app), ids
    engine.close()


def test_api_conforms_to_its_openapi_document(api_schema: Tuple[Any, Dict[str, str]]) -> None:
    # schemathesis' own pytest plugin does not run on pytest 9 yet: drive its
    # strategies with hypothesis directly, one operation at a time
    schema, ids = api_schema
    headers = {"Authorization": "Bearer " + ROOT_TOKEN}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    statuses = set()
    for operation in operations:
        strategies = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
        for name in ("request_id", "execution_id"):
            if "{%s}" % name in operation.path:
                real = ids["delegated"] if operation.path.endswith("/outcome") else ids[name]
                strategies.append(operation.as_strategy(path_parameters={name: real}))

        @given(st.one_of(*strategies))
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.add((operation.label, response.status_code))
            assert ROOT_TOKEN not in response.text

        run()
    # the run reached past authentication and "not found" into the handlers
    reached = {label for label, status in statuses if status == 200}
    assert {"POST /v1/evaluate", "GET /v1/requests/{request_id}", "GET /v1/executions/{execution_id}"} <= reached


def test_tokens_of_the_fixture_are_distinct() -> None:
    assert ROOT_TOKEN not in {v for v, _, _ in CALLERS.values()}

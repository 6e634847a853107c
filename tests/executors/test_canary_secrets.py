"""A canary secret used as every credential of every adapter (executors and
tickets) must never show up in a log line, an exception message, a ticket
body or an ExecutionResult, even when a provider echoes it back."""
import base64
import json
import logging
import re
import uuid

import pytest
import responses

from idgate.executors import ExecutionRequest, ExecutorError, get_executor
from idgate.tickets import get_ticket_system

from executor_fakes import GITHUB, OKTA, VAULT

CANARY = "canary-" + uuid.uuid4().hex
RUNTIME_CANARY = "rt-canary-" + uuid.uuid4().hex     # a token only fetched at run time


def echo(request):
    """A careless provider: echoes the credential it got in its error."""
    seen = request.headers.get("Authorization", "") + request.headers.get("X-Vault-Token", "")
    return 403, {}, json.dumps({"message": "denied for credential %s" % seen,
                                "errorSummary": "denied for %s" % seen})


def ok(request):
    return 200, {"X-Echo": request.headers.get("Authorization", "")}, json.dumps(
        {"id": "x", "status": "ACTIVE", "accountEnabled": True, "disabled": False, "data": {"policies": ["p"]},
         "note": request.headers.get("Authorization", "")})


@pytest.fixture
def canary_env(monkeypatch):
    for name in ("C_TOKEN", "C_SECRET", "C_PASSWORD"):
        monkeypatch.setenv(name, CANARY)


def everything(caplog, results, errors, bodies):
    text = "\n".join([r.getMessage() for r in caplog.records]
                     + [json.dumps(vars(r), default=str) for r in results]
                     + [str(e) + repr(e.args) for e in errors] + bodies)
    return text


EXECUTORS = [
    ("okta", {"org_url": OKTA, "token": "env:C_TOKEN"}, "suspend_user", "00u1abcdef", {}),
    ("entra", {"tenant_id": "t1", "client_id": "c1", "client_secret": "env:C_SECRET"},
     "suspend_user", "11111111-2222-3333-4444-555555555555", {}),
    ("github", {"token": "env:C_TOKEN"}, "disable_access_key", "42", {"owner": "acme", "repo": "app"}),
    ("gcp", {"token": "env:C_TOKEN"}, "disable_service_account", "projects/p/serviceAccounts/s@p.iam", {}),
    ("vault", {"address": VAULT, "token": "env:C_TOKEN"}, "revoke_token", "accessor-123", {}),
]


@pytest.mark.parametrize("provider,config,action,target,params", EXECUTORS, ids=[e[0] for e in EXECUTORS])
@responses.activate
def test_http_executors_never_leak_the_canary(provider, config, action, target, params, canary_env, caplog):
    caplog.set_level(logging.DEBUG)
    responses.add(responses.POST, re.compile(r"https://login\.microsoftonline\.com/.*"),
                  json={"access_token": RUNTIME_CANARY, "expires_in": 3600})
    for method in ("GET", "POST", "PATCH", "DELETE", "PUT"):
        responses.add_callback(method, re.compile(r"https://(?!login).*"), callback=echo)
    ex = get_executor(provider, dict(config, retry={"attempts": 1}))
    errors = []
    with pytest.raises(ExecutorError) as err:
        ex.execute(ExecutionRequest(execution_id="e", decision_id="d", action=action, target={"id": target},
                                    params=params))
    errors.append(err.value)
    # and a successful run, whose provider echoes the credential in its body
    responses.reset()
    responses.add(responses.POST, re.compile(r"https://login\.microsoftonline\.com/.*"),
                  json={"access_token": RUNTIME_CANARY, "expires_in": 3600})
    for method in ("GET", "POST", "PATCH", "DELETE", "PUT"):
        responses.add_callback(method, re.compile(r"https://(?!login).*"), callback=ok)
    result = ex.execute(ExecutionRequest(execution_id="e", decision_id="d", action=action, target={"id": target},
                                         params=params))
    text = everything(caplog, [result], errors, [])
    assert CANARY not in text and RUNTIME_CANARY not in text
    assert "***" in str(errors[0])       # the echo was scrubbed, not absent


@responses.activate
def test_github_leaked_token_param_is_never_echoed(caplog):
    caplog.set_level(logging.DEBUG)
    leaked = "ghp_" + uuid.uuid4().hex + "ABCD"
    responses.add_callback("POST", GITHUB + "/credentials/revoke",
                           callback=lambda r: (500, {}, json.dumps({"message": "cannot revoke %s" % leaked})))
    ex = get_executor("github", {"retry": {"attempts": 1}, "allow": ["revoke_token"]})
    with pytest.raises(ExecutorError) as err:
        ex.execute(ExecutionRequest(execution_id="e", decision_id="d", action="revoke_token",
                                    target={"id": "someone"}, params={"credential": leaked}))
    assert leaked not in everything(caplog, [], [err.value], [])


def test_aws_executor_never_leaks_the_canary(moto_server, monkeypatch, caplog):
    boto3 = pytest.importorskip("boto3")
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("C_SECRET", CANARY)
    monkeypatch.setenv("C_KEY", "AKIA" + uuid.uuid4().hex[:16].upper())
    ex = get_executor("aws", {"endpoint_url": moto_server, "access_key_id": "env:C_KEY",
                              "secret_access_key": "env:C_SECRET"})
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="y")
    user = "u-" + uuid.uuid4().hex[:6]
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    result = ex.execute(ExecutionRequest(execution_id="e", decision_id="d", action="disable_access_key",
                                         target={"id": key}, params={"user_name": user}))
    with pytest.raises(ExecutorError) as err:
        ex.execute(ExecutionRequest(execution_id="e", decision_id="d", action="disable_access_key",
                                    target={"id": "AKIAAAAAAAAAAAAAAAAA"}, params={"user_name": user}))
    assert CANARY not in everything(caplog, [result], [err.value], [])


TICKETS = [
    ("jira", {"url": "https://acme.atlassian.net", "project": "SEC", "email": "bot@acme.io",
              "api_token": "env:C_TOKEN"}),
    ("jira", {"url": "https://acme.atlassian.net", "project": "SEC", "token": "env:C_TOKEN"}),
    ("servicenow", {"url": "https://acme.service-now.com", "username": "idgate", "password": "env:C_PASSWORD"}),
    ("splunk_es", {"url": "https://es.example:8089", "token": "env:C_TOKEN"}),
]


@pytest.mark.parametrize("system,config", TICKETS, ids=["jira-basic", "jira-bearer", "servicenow", "splunk_es"])
@responses.activate
def test_ticket_adapters_never_leak_the_canary(system, config, canary_env, caplog):
    caplog.set_level(logging.DEBUG)
    for method in ("GET", "POST", "PATCH"):
        responses.add_callback(method, re.compile(r"https://.*"), callback=echo)
    tickets = get_ticket_system(system, dict(config, retry={"attempts": 1}))
    # the AI quoted the secret in its rationale: it must not reach the ticket
    request = {"request_id": "rr-c1", "digest": "sha256:00", "will_run": "okta: suspend 00u1abcdef",
               "expires_at": None,
               "decision": {"action": "suspend_user", "target": {"id": "okta:00u1abcdef"}, "params": {},
                            "autonomy": "review", "rule_id": "r", "caps": [], "policy_version": "p"},
               "alert": {"id": "splunk_es:E1@@notable@@1", "severity": "high",
                         "source": {"platform": "splunk_es", "record_id": "E1@@notable@@1"},
                         "ai": {"model": "m", "score": 0.9, "rationale": "the leaked value was %s" % CANARY}}}
    with pytest.raises(Exception) as err:
        tickets.open(request)
    sent = [(c.request.body or b"") for c in responses.calls]
    sent = [s.decode() if isinstance(s, bytes) else s for s in sent]
    basic = base64.b64encode(("bot@acme.io:%s" % CANARY).encode()).decode()
    text = everything(caplog, [], [err.value], sent)
    assert CANARY not in text and basic not in text

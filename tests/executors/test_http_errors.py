"""Every HTTP executor against the failure shapes providers document:
401, 403 missing scope, 404 target gone, 429 (Retry-After, X-Rate-Limit-Reset,
no hint), 5xx, timeout."""
import re
import time

import pytest
import requests
import responses

from idgate.executors import ExecutionRequest, ExecutorError, get_executor

from executor_fakes import GCP, GITHUB, GRAPH, OKTA, VAULT

# provider, config, action, target, params, the first call (a state read), scope named on 403, 403 body
CASES = {
    "okta": ("okta", {"org_url": OKTA}, "suspend_user", "00u1abcdef", {},
             ("GET", OKTA + "/api/v1/users/00u1abcdef"), "okta.users.manage",
             {"errorCode": "E0000006", "errorSummary": "You do not have permission to perform the requested action"},
             {"id": "00u1abcdef", "status": "SUSPENDED"}),
    "entra": ("entra", {}, "disable_service_account", "aaaaaaaa-2222-3333-4444-555555555555", {},
              ("GET", GRAPH + "/servicePrincipals/aaaaaaaa-2222-3333-4444-555555555555"), "Application.ReadWrite.All",
              {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}},
              {"id": "x", "accountEnabled": False}),
    "github": ("github", {}, "disable_access_key", "42", {"owner": "acme", "repo": "app"},
               ("GET", GITHUB + "/repos/acme/app/keys/42"), "administration:write",
               {"message": "Resource not accessible by integration"}, None),
    "gcp": ("gcp", {}, "disable_service_account", "projects/p1/serviceAccounts/svc@p1.iam.gserviceaccount.com", {},
            ("GET", GCP + "/projects/p1/serviceAccounts/svc@p1.iam.gserviceaccount.com"), "iam.serviceAccounts.disable",
            {"error": {"code": 403, "message": "Permission 'iam.serviceAccounts.get' denied", "status": "PERMISSION_DENIED"}},
            {"name": "x", "disabled": True}),
    "vault": ("vault", {"address": VAULT}, "revoke_token", "hmac.accessor123", {},
              ("POST", VAULT + "/v1/auth/token/lookup-accessor"), "auth/token/revoke-accessor",
              {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}, None),
}


def build(name, fake_time, **extra):
    provider, config, *_ = CASES[name]
    config = dict(config, token_provider=lambda: "tok-0001", sleep=fake_time.sleep, clock=fake_time.clock,
                  retry={"attempts": 3, "total_seconds": 60})
    config.update(extra)
    return get_executor(provider, config)


def run(name, fake_time, **extra):
    _, _, action, target, params, *_ = CASES[name]
    return build(name, fake_time, **extra).execute(ExecutionRequest(
        execution_id="e", decision_id="d", action=action, target={"id": target}, params=params))


def first_call(name, **kw):
    method, url = CASES[name][5]
    responses.add(method, re.compile(re.escape(url) + r"(\?.*)?$"), **kw)


@pytest.mark.parametrize("name", sorted(CASES))
@responses.activate
def test_401_is_reported_after_one_reauth(name, fake_time):
    first_call(name, status=401, json={"errorSummary": "Invalid token provided"})
    with pytest.raises(ExecutorError) as err:
        run(name, fake_time)
    assert err.value.status == 401 and not err.value.retryable
    assert "credentials were rejected" in str(err.value)
    assert len(responses.calls) == 2       # the one retry after re-authentication


@pytest.mark.parametrize("name", sorted(CASES))
@responses.activate
def test_403_names_the_missing_scope(name, fake_time):
    first_call(name, status=403, json=CASES[name][7])
    with pytest.raises(ExecutorError) as err:
        run(name, fake_time)
    assert err.value.status == 403 and not err.value.retryable
    assert CASES[name][6] in str(err.value)
    assert "\n" not in str(err.value)


@responses.activate
def test_okta_403_names_the_scope_from_the_challenge(fake_time):
    first_call("okta", status=403, json={"errorCode": "E0000006"}, headers={
        "WWW-Authenticate": 'Bearer realm="IdpMyAccountAPI", error="insufficient_scope", '
                            'error_description="The access token provided does not contain the required scopes.", '
                            'scope="okta.users.read"'})
    with pytest.raises(ExecutorError, match="missing OAuth scope: suspend_user needs okta.users.read"):
        run("okta", fake_time)


@pytest.mark.parametrize("name", sorted(CASES))
@responses.activate
def test_404_target_gone(name, fake_time):
    first_call(name, status=404, json={"message": "Not Found"})
    if name == "vault":   # a token that is gone is already revoked
        assert run(name, fake_time).status == "noop"
        return
    with pytest.raises(ExecutorError) as err:
        run(name, fake_time)
    assert err.value.status == 404 and not err.value.retryable
    assert "gone" in str(err.value)


def already_in_state(name):
    body = CASES[name][8]
    if name == "vault":
        first_call(name, status=400, json={"errors": ["invalid accessor"]})
    elif name == "github":
        first_call(name, json={"id": 42, "key": "ssh-ed25519 AAA", "title": "t", "read_only": True})
        responses.delete(GITHUB + "/repos/acme/app/keys/42", status=204)
    else:
        first_call(name, json=body)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("style", ["retry-after", "reset-epoch", "no-hint"])
@responses.activate
def test_429_waits_as_told_then_succeeds(name, style, fake_time):
    headers = {"retry-after": {"Retry-After": "7"},
               "reset-epoch": {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0",
                               "X-Rate-Limit-Reset": str(int(time.time()) + 7)},
               "no-hint": {}}[style]
    first_call(name, status=429, json={"errorSummary": "API call exceeded rate limit"}, headers=headers)
    already_in_state(name)
    result = run(name, fake_time)
    assert result.status in ("noop", "done")
    if style == "no-hint":
        assert fake_time.slept       # backed off
    else:
        assert max(fake_time.slept) >= 5.0   # honoured the server's time (7 s, less elapsed wall time)


@pytest.mark.parametrize("name", sorted(CASES))
@responses.activate
def test_5xx_is_retried_then_reported_retryable(name, fake_time):
    first_call(name, status=503, json={"message": "Service Unavailable"})
    with pytest.raises(ExecutorError) as err:
        run(name, fake_time)
    assert err.value.status == 503 and err.value.retryable
    assert len(responses.calls) == 3          # bounded by the retry policy


@pytest.mark.parametrize("name", sorted(CASES))
@responses.activate
def test_timeout_is_retried_then_reported_retryable(name, fake_time):
    first_call(name, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ExecutorError) as err:
        run(name, fake_time)
    assert err.value.retryable and err.value.status is None
    assert "ReadTimeout" in str(err.value)


@responses.activate
def test_non_idempotent_create_is_not_repeated_on_timeout(fake_time):
    """restore_oauth_grant POSTs a new grant: after a timeout the outcome is
    unknown, so the executor must not send it again by itself."""
    responses.get(re.compile(re.escape(GRAPH) + r"/oauth2PermissionGrants\?.*"), json={"value": []})
    create = responses.post(GRAPH + "/oauth2PermissionGrants", body=requests.exceptions.ReadTimeout("slow"))
    ex = build("entra", fake_time)
    pre = {"clientId": "c", "consentType": "AllPrincipals", "principalId": None, "resourceId": "r", "scope": "x"}
    with pytest.raises(ExecutorError) as err:
        ex.execute(ExecutionRequest(execution_id="e", decision_id="d", action="restore_oauth_grant",
                                    target={"id": "grant12345"}, pre_state=pre))
    assert err.value.retryable
    assert create.call_count == 1


@responses.activate
def test_github_primary_rate_limit_403_is_retryable(fake_time):
    first_call("github", status=403, json={"message": "API rate limit exceeded"},
               headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 60)})
    with pytest.raises(ExecutorError) as err:
        run("github", fake_time)
    assert err.value.retryable and "rate limited" in str(err.value)

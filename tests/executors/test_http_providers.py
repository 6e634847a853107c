"""Okta, Entra, GitHub and GCP executors against stateful fakes of their
documented REST shapes: success, already-in-state (noop), rollback restores
the captured state."""
import pytest
import responses

from idgate.executors import ExecutionRequest, ExecutorError, get_executor

from executor_fakes import EntraFake, GcpFake, GitHubFake, OktaFake, OKTA


def req(action, target, params=None, pre_state=None):
    return ExecutionRequest(execution_id="e1", decision_id="d1", action=action,
                            target={"id": target}, params=params or {}, idempotency_key="k1",
                            pre_state=pre_state or {})


def okta(fake_time, **extra):
    config = {"org_url": OKTA, "token_provider": lambda: "okta-access-token", "sleep": fake_time.sleep,
              "clock": fake_time.clock}
    config.update(extra)
    return get_executor("okta", config)


def bearer(provider, fake_time, **extra):
    config = {"token_provider": lambda: "access-token", "sleep": fake_time.sleep, "clock": fake_time.clock}
    config.update(extra)
    return get_executor(provider, config)


def roundtrip(ex, action, inverse, target, params, read_state):
    """action, repeat (noop), inverse (restores), inverse again (noop)."""
    before = read_state()
    done = ex.execute(req(action, target, params))
    assert done.status == "done", done
    changed = read_state()
    assert changed != before
    assert ex.execute(req(action, target, params)).status == "noop"
    undo = ex.execute(req(inverse, target, params, pre_state=done.pre_state))
    assert undo.status == "done"
    assert read_state() == before
    assert ex.execute(req(inverse, target, params, pre_state=done.pre_state)).status == "noop"
    return done


@responses.activate
def test_okta_suspend_roundtrip(fake_time):
    fake = OktaFake(responses.mock)
    done = roundtrip(okta(fake_time), "suspend_user", "unsuspend_user", "okta:00u1abcdef", {},
                     lambda: fake.users["00u1abcdef"])
    assert done.pre_state["status"] == "ACTIVE"
    assert [c["method"] for c in done.calls] == ["GET", "POST"]


@responses.activate
def test_okta_app_and_client_secret_roundtrip(fake_time):
    fake = OktaFake(responses.mock)
    ex = okta(fake_time)
    roundtrip(ex, "disable_app", "enable_app", "0oa1abcdef", {}, lambda: fake.apps["0oa1abcdef"])
    roundtrip(ex, "disable_access_key", "enable_access_key", "ocs1abcdef", {"app_id": "0oa1abcdef"},
              lambda: fake.secrets[("0oa1abcdef", "ocs1abcdef")])


@responses.activate
def test_okta_unsuspend_leaves_a_user_that_was_suspended_before(fake_time):
    fake = OktaFake(responses.mock)
    fake.users["00u1abcdef"] = "SUSPENDED"
    ex = okta(fake_time)
    assert ex.execute(req("suspend_user", "00u1abcdef")).status == "noop"
    out = ex.execute(req("unsuspend_user", "00u1abcdef", pre_state={"status": "SUSPENDED"}))
    assert out.status == "noop" and fake.users["00u1abcdef"] == "SUSPENDED"


@responses.activate
def test_okta_refuses_to_suspend_a_deprovisioned_user(fake_time):
    fake = OktaFake(responses.mock)
    fake.users["00u1abcdef"] = "DEPROVISIONED"
    with pytest.raises(ExecutorError, match="DEPROVISIONED"):
        okta(fake_time).execute(req("suspend_user", "00u1abcdef"))


@responses.activate
def test_okta_revoke_sessions_includes_oauth_tokens(fake_time):
    fake = OktaFake(responses.mock)
    out = okta(fake_time).execute(req("revoke_sessions", "00u1abcdef"))
    assert out.status == "done"
    assert fake.sessions_cleared and "oauthTokens=true" in fake.sessions_cleared[0]


@responses.activate
def test_okta_revoke_grants_for_a_client(fake_time):
    base = OKTA + "/api/v1/users/00u1abcdef/clients/0oaclient1"
    responses.get(base + "/grants", json=[{"id": "oag1", "scopeId": "okta.users.read"}])
    responses.delete(base + "/tokens", status=204)
    responses.delete(base + "/grants", status=204)
    out = okta(fake_time).execute(req("revoke_oauth_grant", "00u1abcdef", {"client_id": "0oaclient1"}))
    assert out.status == "done" and out.pre_state["grants"][0]["id"] == "oag1"
    assert [c["method"] for c in out.calls] == ["GET", "DELETE", "DELETE"]
    responses.replace(responses.GET, base + "/grants", json=[])
    assert okta(fake_time).execute(req("revoke_oauth_grant", "00u1abcdef",
                                       {"client_id": "0oaclient1"})).status == "noop"


@responses.activate
def test_okta_api_token_revocation_and_already_gone(fake_time):
    responses.get(OKTA + "/api/v1/api-tokens/00Tabc123", json={"id": "00Tabc123", "name": "ci", "userId": "u"})
    responses.delete(OKTA + "/api/v1/api-tokens/00Tabc123", status=204)
    assert okta(fake_time).execute(req("revoke_token", "00Tabc123")).status == "done"
    responses.replace(responses.GET, OKTA + "/api/v1/api-tokens/00Tabc123", status=404,
                      json={"errorCode": "E0000007"})
    assert okta(fake_time).execute(req("revoke_token", "00Tabc123")).status == "noop"


@responses.activate
def test_okta_private_key_jwt_asks_only_for_the_allowed_scopes(fake_time, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    (tmp_path / "key.pem").write_bytes(pem)
    token = responses.post(OKTA + "/oauth2/v1/token",
                           json={"access_token": "tok-xyz", "expires_in": 3600, "scope": "okta.users.manage"})
    responses.delete(OKTA + "/api/v1/users/00u1abcdef/sessions", status=204)
    ex = okta(fake_time, token_provider=None, client_id="0oasvc", private_key="file:%s" % (tmp_path / "key.pem"),
              allow=["revoke_sessions", "suspend_user"])
    assert ex.execute(req("revoke_sessions", "00u1abcdef")).status == "done"
    form = dict(p.split("=", 1) for p in token.calls[0].request.body.split("&"))
    assert form["scope"] == "okta.users.manage"
    assert form["client_assertion_type"].endswith("jwt-bearer")
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer tok-xyz"
    assert ex.granted_scopes() == ["okta.users.manage"]


@responses.activate
def test_entra_user_service_principal_and_grant_roundtrips(fake_time):
    fake = EntraFake(responses.mock)
    ex = bearer("entra", fake_time)
    roundtrip(ex, "suspend_user", "unsuspend_user", fake.USER, {}, lambda: fake.users[fake.USER])
    roundtrip(ex, "disable_service_account", "enable_service_account", fake.SP, {}, lambda: fake.sps[fake.SP])

    original = dict(fake.grants[fake.GRANT])
    done = ex.execute(req("revoke_oauth_grant", fake.GRANT))
    assert done.status == "done" and fake.grants == {}
    assert ex.execute(req("revoke_oauth_grant", fake.GRANT)).status == "noop"
    assert ex.execute(req("restore_oauth_grant", fake.GRANT, pre_state=done.pre_state)).status == "done"
    (restored,) = fake.grants.values()
    assert {k: v for k, v in restored.items() if k != "id"} == {k: v for k, v in original.items() if k != "id"}
    assert ex.execute(req("restore_oauth_grant", fake.GRANT, pre_state=done.pre_state)).status == "noop"


@responses.activate
def test_entra_remove_password_and_revoke_sessions(fake_time):
    fake = EntraFake(responses.mock)
    ex = bearer("entra", fake_time)
    key_id = fake.passwords[fake.SP][0]["keyId"]
    out = ex.execute(req("remove_credential", fake.SP, {"key_id": key_id}))
    assert out.status == "done" and fake.passwords[fake.SP] == []
    assert ex.execute(req("remove_credential", fake.SP, {"key_id": key_id})).status == "noop"
    with pytest.raises(ExecutorError, match="object_type"):
        ex.execute(req("remove_credential", fake.SP, {"key_id": key_id, "object_type": "../users"}))
    assert ex.execute(req("revoke_sessions", fake.USER)).status == "done" and fake.revoked == [fake.USER]


@responses.activate
def test_entra_risky_users_paced_at_one_per_second(fake_time):
    fake = EntraFake(responses.mock)
    ex = bearer("entra", fake_time)
    assert ex.execute(req("confirm_compromised", fake.USER)).status == "done"
    assert fake.risk[fake.USER] == "confirmedCompromised"
    assert ex.execute(req("confirm_compromised", fake.USER)).status == "noop"
    # a read and a write per call went through the 1/s limiter: it waited
    assert sum(fake_time.slept) >= 2.0


@responses.activate
def test_github_deploy_key_roundtrip_and_leaked_token_revocation(fake_time):
    fake = GitHubFake(responses.mock)
    ex = bearer("github", fake_time)
    params = {"owner": "acme", "repo": "app"}
    done = ex.execute(req("disable_access_key", "42", params))
    assert done.status == "done" and fake.keys == {}
    assert done.pre_state["key"].startswith("ssh-ed25519")
    assert ex.execute(req("enable_access_key", "42", params, pre_state=done.pre_state)).status == "done"
    (restored,) = fake.keys.values()
    assert (restored["key"], restored["title"], restored["read_only"]) == ("ssh-ed25519 AAAAC3Nza", "deploy", True)
    assert ex.execute(req("enable_access_key", "42", params, pre_state=done.pre_state)).status == "noop"

    leaked = "ghp_" + "A" * 36
    out = ex.execute(req("revoke_token", "github:someone", {"credential": leaked}))
    assert out.status == "done" and fake.revoked_credentials == [leaked]
    assert leaked not in repr(out)


@responses.activate
def test_gcp_key_and_service_account_roundtrips(fake_time):
    fake = GcpFake(responses.mock)
    ex = bearer("gcp", fake_time)
    roundtrip(ex, "disable_access_key", "enable_access_key", "gcp:" + fake.KEY, {}, lambda: fake.disabled[fake.KEY])
    roundtrip(ex, "disable_service_account", "enable_service_account", fake.SA, {}, lambda: fake.disabled[fake.SA])


def test_unknown_params_and_actions_are_refused(fake_time):
    ex = okta(fake_time)
    with pytest.raises(ExecutorError, match="does not take"):
        ex.execute(req("suspend_user", "00u1abcdef", {"evil": "1"}))
    with pytest.raises(ExecutorError, match="not allowed"):
        ex.execute(req("grant_role", "00u1abcdef"))
    with pytest.raises(ExecutorError, match="not a valid"):
        ex.execute(req("suspend_user", "../../admin"))
    limited = okta(fake_time, allow=["revoke_sessions"])
    assert limited.actions == ["revoke_sessions"]
    with pytest.raises(ExecutorError, match="not allowed"):
        limited.execute(req("suspend_user", "00u1abcdef"))

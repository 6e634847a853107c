"""AWS IAM executor against a real moto server on 127.0.0.1 (no mocks)."""
import json
import uuid

import pytest

boto3 = pytest.importorskip("boto3")

from idgate.executors import ExecutionRequest, ExecutorError, get_executor  # noqa: E402
from idgate.executors.aws import REVOKE_POLICY_NAME  # noqa: E402


@pytest.fixture
def aws_env(moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    return moto_server, iam


def make_executor(endpoint, **extra):
    config = {"region": "us-east-1", "endpoint_url": endpoint}
    config.update(extra)
    return get_executor("aws", config)


def request(action, target, params=None, pre_state=None, key=None):
    return ExecutionRequest(execution_id="ex-" + uuid.uuid4().hex[:8], decision_id="d1", action=action,
                            target={"kind": "api_key", "id": target, "provider": "aws"},
                            params=params or {}, idempotency_key=key or uuid.uuid4().hex,
                            pre_state=pre_state or {})


def new_user(iam):
    name = "svc-" + uuid.uuid4().hex[:8]
    iam.create_user(UserName=name)
    return name


def key_status(iam, user, key_id):
    return next(k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
                if k["AccessKeyId"] == key_id)


def test_disable_access_key_then_repeat_is_noop_and_rollback_restores(aws_env):
    endpoint, iam = aws_env
    user = new_user(iam)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    ex = make_executor(endpoint)

    first = ex.execute(request("disable_access_key", "aws:" + key_id))
    assert first.status == "done"
    assert first.pre_state == {"status": "Active", "user_name": user}
    assert key_status(iam, user, key_id) == "Inactive"

    again = ex.execute(request("disable_access_key", key_id, {"user_name": user}))
    assert again.status == "noop"
    assert [c["api"] for c in again.calls] == ["iam:ListAccessKeys"]

    undo = ex.execute(request("enable_access_key", key_id, pre_state=first.pre_state))
    assert undo.status == "done"
    assert key_status(iam, user, key_id) == "Active"


def test_rollback_leaves_a_key_that_was_inactive_before(aws_env):
    endpoint, iam = aws_env
    user = new_user(iam)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
    ex = make_executor(endpoint)
    result = ex.execute(request("enable_access_key", key_id, pre_state={"status": "Inactive", "user_name": user}))
    assert result.status == "noop"
    assert key_status(iam, user, key_id) == "Inactive"


def test_unknown_key_is_a_clear_not_found(aws_env):
    endpoint, iam = aws_env
    user = new_user(iam)
    ex = make_executor(endpoint)
    with pytest.raises(ExecutorError) as err:
        ex.execute(request("disable_access_key", "AKIAAAAAAAAAAAAAAAAA", {"user_name": user}))
    assert err.value.status == 404 and not err.value.retryable
    assert "gone" in str(err.value)


def test_revoke_role_sessions_puts_deny_policy_and_undo_removes_it(aws_env):
    endpoint, iam = aws_env
    role = "role-" + uuid.uuid4().hex[:8]
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    ex = make_executor(endpoint)
    req = request("revoke_sessions", role, key="exec-key-1")
    result = ex.execute(req)
    assert result.status == "done"
    doc = iam.get_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME)["PolicyDocument"]
    statement = doc["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert "aws:TokenIssueTime" in statement["Condition"]["DateLessThan"]

    # same execution again (e.g. after a crash): no second policy write
    assert ex.execute(request("revoke_sessions", role, key="exec-key-1")).status == "noop"

    undo = ex.execute(request("undo_revoke_sessions", role, pre_state=result.pre_state))
    assert undo.status == "done"
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    assert ex.execute(request("undo_revoke_sessions", role, pre_state=result.pre_state)).status == "noop"


def test_undo_puts_back_an_earlier_revocation_policy(aws_env):
    endpoint, iam = aws_env
    role = "role-" + uuid.uuid4().hex[:8]
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    ex = make_executor(endpoint)
    first = ex.execute(request("revoke_sessions", role, key="k-first"))
    before = iam.get_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME)["PolicyDocument"]
    second = ex.execute(request("revoke_sessions", role, key="k-second"))
    assert second.status == "done" and second.pre_state["previous_policy"]
    ex.execute(request("undo_revoke_sessions", role, pre_state=second.pre_state))
    assert iam.get_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME)["PolicyDocument"] == before
    assert first.pre_state["previous_policy"] is None


def test_delete_login_profile_is_irreversible_and_repeat_is_noop(aws_env):
    endpoint, iam = aws_env
    user = new_user(iam)
    iam.create_login_profile(UserName=user, Password="Xx-very-long-pw-123!")
    ex = make_executor(endpoint)
    assert ex.execute(request("remove_credential", user)).status == "done"
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName=user)
    assert ex.execute(request("remove_credential", user)).status == "noop"
    spec = ex.playbook.actions["remove_credential"]
    assert spec.irreversible and spec.inverse is None


def test_assume_role_per_execution_with_session_policy_scoped_to_action_and_resource(aws_env):
    endpoint, iam = aws_env
    role = "idgate-exec-" + uuid.uuid4().hex[:6]
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    user = new_user(iam)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    ex = make_executor(endpoint, role_arn=arn)
    seen = []
    ex.session.events.register("provide-client-params.sts.AssumeRole",
                               lambda params, **kw: seen.append(dict(params)))
    assert ex.execute(request("disable_access_key", key_id, {"user_name": user})).status == "done"
    assert len(seen) == 1
    assert seen[0]["DurationSeconds"] == 900
    policy = json.loads(seen[0]["Policy"])
    statement = policy["Statement"][0]
    assert statement["Action"] == ["iam:ListAccessKeys", "iam:UpdateAccessKey"]
    assert statement["Resource"] == "arn:aws:iam::123456789012:user/%s" % user
    assert key_status(iam, user, key_id) == "Inactive"


def test_action_outside_allow_list_is_refused(aws_env):
    endpoint, _ = aws_env
    ex = make_executor(endpoint, allow=["disable_access_key", "enable_access_key"])
    with pytest.raises(ExecutorError, match="not allowed"):
        ex.execute(request("remove_credential", "someone"))
    with pytest.raises(ExecutorError, match="not allowed"):
        ex.execute(request("grant_role", "someone"))


def test_bad_target_is_refused_before_any_call(aws_env):
    endpoint, _ = aws_env
    ex = make_executor(endpoint)
    with pytest.raises(ExecutorError, match="not a valid"):
        ex.execute(request("remove_credential", "../../etc"))

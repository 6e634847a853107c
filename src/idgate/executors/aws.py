"""AWS IAM through boto3. Actions, IAM permissions and inverses:
playbooks/aws.yaml.

idgate's own credentials: with ``role_arn`` configured, every execution
assumes that role for 15 minutes with a session policy limited to the one
action's IAM permissions on the one target resource; the base credentials
(default chain, ``profile``, or ``access_key_id``/``secret_access_key``
references) then only need ``sts:AssumeRole``.
"""
import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from .. import secrets as default_secrets
from ..errors import ConfigError
from ..secrets import redact
from ._auth import resolve_secret
from ._playbook import ActionPlaybook, Context, PlaybookExecutor
from .base import ExecutionRequest, ExecutionResult, ExecutorError

REVOKE_POLICY_NAME = "idgate-revoke-older-sessions"
_NOT_FOUND = {"NoSuchEntity", "NoSuchEntityException"}
_THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_AUTH = {"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"}


class AwsExecutor(PlaybookExecutor):
    provider = "aws"

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        super().__init__(config)
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise ConfigError("executors.aws needs boto3: pip install 'idgate[aws]'") from None
        cfg = self.config
        self.secrets = secrets or default_secrets
        self.region = cfg.get("region") or "us-east-1"
        self.endpoint_url = cfg.get("endpoint_url")
        self.sts_endpoint_url = cfg.get("sts_endpoint_url") or self.endpoint_url
        self.role_arn = cfg.get("role_arn")
        self.external_id = cfg.get("external_id")
        self.session_seconds = int(self.playbook.auth.get("session_seconds", 900))
        self.boto_config = Config(retries={"mode": "standard", "max_attempts": int(cfg.get("max_attempts", 5))},
                                  connect_timeout=5, read_timeout=30, region_name=self.region)
        key_id = resolve_secret(cfg, "access_key_id", secrets, "aws")
        secret = resolve_secret(cfg, "secret_access_key", secrets, "aws")
        self.session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret,
                                             profile_name=cfg.get("profile"), region_name=self.region)
        self._account: Optional[str] = cfg.get("account_id")
        # what the last execution asked STS for (for the record and for tests)
        self.last_session_policy: Optional[Dict[str, Any]] = None

    # ---------------------------------------------------------------- credentials

    def _client(self, service: str, credentials: Optional[Dict[str, str]] = None) -> Any:
        kwargs: Dict[str, Any] = {"config": self.boto_config}
        endpoint = self.sts_endpoint_url if service == "sts" else self.endpoint_url
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        if credentials:
            kwargs.update(aws_access_key_id=credentials["AccessKeyId"],
                          aws_secret_access_key=credentials["SecretAccessKey"],
                          aws_session_token=credentials["SessionToken"])
        return self.session.client(service, **kwargs)

    def account_id(self) -> str:
        if not self._account:
            self._account = self._aws(lambda: self._client("sts").get_caller_identity()["Account"],
                                      "sts:GetCallerIdentity")
        return self._account or ""

    def iam_for(self, request: ExecutionRequest, resource_arn: str) -> Any:
        """An IAM client for one execution: assumed role with a session policy
        naming only this action's permissions on this resource."""
        if not self.role_arn:
            return self._client("iam")
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": sorted(self.scopes.get(request.action, [])), "Resource": resource_arn}]}
        self.last_session_policy = policy
        args: Dict[str, Any] = {"RoleArn": self.role_arn, "DurationSeconds": self.session_seconds,
                                "RoleSessionName": ("idgate-" + (request.execution_id or "x"))[:64],
                                "Policy": json.dumps(policy)}
        if self.external_id:
            args["ExternalId"] = self.external_id
        creds = self._aws(lambda: self._client("sts").assume_role(**args)["Credentials"], "sts:AssumeRole")
        self.secrets.register(creds["SecretAccessKey"])
        self.secrets.register(creds["SessionToken"])
        return self._client("iam", creds)

    # ---------------------------------------------------------------- errors

    def _aws(self, call: Any, api: str, action: str = "") -> Any:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            return call()
        except ClientError as exc:
            raise self._executor_error(exc, api, action) from None
        except BotoCoreError as exc:
            raise ExecutorError(redact("aws %s: %s" % (api, exc)), retryable=True) from None

    def _executor_error(self, exc: Any, api: str, action: str) -> ExecutorError:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = "aws %s: %s: %s" % (api, code, error.get("Message", ""))
        if code in _NOT_FOUND:
            return ExecutorError(redact(message + " (the target is gone)"), status=404)
        if code in _DENIED:
            return ExecutorError(redact("%s (missing permission: %s needs %s)" % (
                message, action or api, ", ".join(self.scopes.get(action, [api])))), status=403)
        if code in _AUTH:
            return ExecutorError(redact(message + " (the credentials were rejected)"), status=401)
        retryable = code in _THROTTLED or (status or 0) >= 500
        return ExecutorError(redact(message), retryable=retryable, status=status)

    def _arn(self, kind: str, name: str) -> str:
        return "arn:aws:iam::%s:%s/%s" % (self.account_id(), kind, name)

    # ---------------------------------------------------------------- handlers

    def _key_owner(self, access_key_id: str, params: Dict[str, Any]) -> str:
        if params.get("user_name"):
            return str(params["user_name"])
        iam = self._client("iam")
        answer = self._aws(lambda: iam.get_access_key_last_used(AccessKeyId=access_key_id),
                           "iam:GetAccessKeyLastUsed")
        user = answer.get("UserName")
        if not user:
            raise ExecutorError("aws: access key %s: no owner found (the target is gone?)" % access_key_id, status=404)
        return user

    def set_access_key_status(self, request: ExecutionRequest, action: ActionPlaybook, ctx: Context) -> ExecutionResult:
        key_id = ctx.values["target"]
        wanted = "Inactive" if request.action == "disable_access_key" else "Active"
        user = self._key_owner(key_id, ctx.values["params"])
        iam = self.iam_for(request, self._arn("user", user))
        calls: List[Dict[str, Any]] = [{"api": "iam:ListAccessKeys", "user": user}]
        keys = self._aws(lambda: iam.list_access_keys(UserName=user)["AccessKeyMetadata"],
                         "iam:ListAccessKeys", request.action)
        current = next((k for k in keys if k["AccessKeyId"] == key_id), None)
        if current is None:
            raise ExecutorError("aws: access key %s of %s is gone (the target is gone)" % (key_id, user), status=404)
        pre = {"status": current["Status"], "user_name": user}
        if current["Status"] == wanted:
            return ExecutionResult(status="noop", calls=calls, pre_state=pre, detail="already %s" % wanted)
        self._aws(lambda: iam.update_access_key(UserName=user, AccessKeyId=key_id, Status=wanted),
                  "iam:UpdateAccessKey", request.action)
        calls.append({"api": "iam:UpdateAccessKey", "user": user, "access_key_id": key_id, "status": wanted})
        return ExecutionResult(status="done", calls=calls, pre_state=pre, detail=action.summary)

    def _revocation_policy(self, request: ExecutionRequest) -> Tuple[str, str]:
        key = request.idempotency_key or request.execution_id or request.decision_id
        sid = "IdgateRevoke" + hashlib.sha256(key.encode()).hexdigest()[:16]
        issued_before = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        document = {"Version": "2012-10-17", "Statement": [{
            "Sid": sid, "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}}}]}
        return sid, json.dumps(document)

    def _current_policy(self, iam: Any, role: str, action: str) -> Optional[Dict[str, Any]]:
        from botocore.exceptions import ClientError
        try:
            document = iam.get_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME)["PolicyDocument"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                return None
            raise self._executor_error(exc, "iam:GetRolePolicy", action) from None
        # boto3 decodes the URL-encoded document to a dict
        return json.loads(document) if isinstance(document, str) else document

    def revoke_role_sessions(self, request: ExecutionRequest, action: ActionPlaybook, ctx: Context) -> ExecutionResult:
        role = ctx.values["target"]
        iam = self.iam_for(request, self._arn("role", role))
        calls: List[Dict[str, Any]] = [{"api": "iam:GetRolePolicy", "role": role, "policy": REVOKE_POLICY_NAME}]
        sid, document = self._revocation_policy(request)
        existing = self._current_policy(iam, role, request.action)
        if existing and any(s.get("Sid") == sid for s in existing.get("Statement", [])):
            return ExecutionResult(status="noop", calls=calls, pre_state={}, detail="this revocation is in place")
        pre = {"role": role, "previous_policy": json.dumps(existing) if existing else None}
        self._aws(lambda: iam.put_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME, PolicyDocument=document),
                  "iam:PutRolePolicy", request.action)
        calls.append({"api": "iam:PutRolePolicy", "role": role, "policy": REVOKE_POLICY_NAME, "sid": sid})
        return ExecutionResult(status="done", calls=calls, pre_state=pre, detail=action.summary)

    def undo_role_session_revocation(self, request: ExecutionRequest, action: ActionPlaybook,
                                     ctx: Context) -> ExecutionResult:
        role = ctx.values["target"]
        previous = (request.pre_state or {}).get("previous_policy")
        iam = self.iam_for(request, self._arn("role", role))
        calls: List[Dict[str, Any]] = [{"api": "iam:GetRolePolicy", "role": role, "policy": REVOKE_POLICY_NAME}]
        existing = self._current_policy(iam, role, request.action)
        if previous:
            if existing == json.loads(previous):
                return ExecutionResult(status="noop", calls=calls, detail="the earlier policy is in place")
            self._aws(lambda: iam.put_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME,
                                                  PolicyDocument=previous), "iam:PutRolePolicy", request.action)
            calls.append({"api": "iam:PutRolePolicy", "role": role, "policy": REVOKE_POLICY_NAME})
            return ExecutionResult(status="done", calls=calls, detail="restored the earlier policy")
        if existing is None:
            return ExecutionResult(status="noop", calls=calls, detail="no revocation policy on the role")
        self._aws(lambda: iam.delete_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME),
                  "iam:DeleteRolePolicy", request.action)
        calls.append({"api": "iam:DeleteRolePolicy", "role": role, "policy": REVOKE_POLICY_NAME})
        return ExecutionResult(status="done", calls=calls, detail=action.summary)

    def delete_login_profile(self, request: ExecutionRequest, action: ActionPlaybook, ctx: Context) -> ExecutionResult:
        from botocore.exceptions import ClientError
        user = ctx.values["target"]
        iam = self.iam_for(request, self._arn("user", user))
        calls: List[Dict[str, Any]] = [{"api": "iam:GetLoginProfile", "user": user}]
        try:
            profile = iam.get_login_profile(UserName=user)["LoginProfile"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                return ExecutionResult(status="noop", calls=calls, detail="no console password")
            raise self._executor_error(exc, "iam:GetLoginProfile", request.action) from None
        self._aws(lambda: iam.delete_login_profile(UserName=user), "iam:DeleteLoginProfile", request.action)
        calls.append({"api": "iam:DeleteLoginProfile", "user": user})
        created = profile.get("CreateDate")
        return ExecutionResult(status="done", calls=calls,
                               pre_state={"user_name": user, "login_profile_created": str(created) if created else None},
                               detail=action.summary)


def executor(config: Dict[str, Any], secrets: Any = None) -> AwsExecutor:
    return AwsExecutor(config, secrets)

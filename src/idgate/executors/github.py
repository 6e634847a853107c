"""GitHub: leaked-token revocation and deploy keys. Steps, scopes and
preconditions: playbooks/github.yaml.

Credentials, in order of preference: a GitHub App (``app_id``,
``private_key``, ``installation_id``) whose installation tokens are asked
for only the permissions of the allowed actions and live one hour; a
``token`` (personal or fine-grained); or an injected ``token_provider``.
"""
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from ..errors import ConfigError
from ..http import HttpClient, HttpError
from ._auth import TokenSource, injected_token_source, resolve_secret, sign_jwt_rs256, static_token_source
from ._playbook import PlaybookExecutor

API_URL = "https://api.github.com"


class GitHubExecutor(PlaybookExecutor):
    provider = "github"
    default_headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        super().__init__(config)
        cfg = self.config
        self.base_url = str(cfg.get("api_url") or API_URL).rstrip("/")
        if cfg.get("token_provider"):
            self.token_source = injected_token_source(cfg["token_provider"], secrets)
        elif cfg.get("app_id") and cfg.get("private_key") and cfg.get("installation_id"):
            key = resolve_secret(cfg, "private_key", secrets, "github", required=True) or ""
            self.token_source = self._installation_tokens(str(cfg["app_id"]), key,
                                                          str(cfg["installation_id"]), secrets)
        elif cfg.get("token"):
            self.token_source = static_token_source(resolve_secret(cfg, "token", secrets, "github") or "")
        else:
            # revoke_token alone needs no credentials at all
            if any(a.scopes for a in self.allowed.values()):
                raise ConfigError("executors.github needs app_id + private_key + installation_id "
                                  "(preferred) or token")

    def _installation_tokens(self, app_id: str, key: str, installation_id: str, secrets: Any) -> TokenSource:
        permissions: Dict[str, str] = {}
        for scopes in self.scopes.values():
            for scope in scopes:
                name, _, level = scope.partition(":")
                if permissions.get(name) != "write":
                    permissions[name] = level or "read"
        http = HttpClient("github", self.base_url, headers=self.default_headers, **self.http_options())

        def fetch() -> Dict[str, Any]:
            now = int(time.time())
            app_jwt = sign_jwt_rs256({"iat": now - 60, "exp": now + 540, "iss": app_id}, key)
            try:
                answer = http.post("/app/installations/%s/access_tokens" % installation_id,
                                   headers={"Authorization": "Bearer " + app_jwt},
                                   json={"permissions": permissions} if permissions else {},
                                   idempotent=True).json()
            except (HttpError, ValueError) as exc:
                raise ConfigError("github: cannot get an installation token: %s" % exc) from None
            expires = answer.get("expires_at")
            if expires:
                when = datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                answer["expires_in"] = max(0, int((when - datetime.now(timezone.utc)).total_seconds()))
            return answer
        return TokenSource(fetch, secrets)

    def is_retryable(self, error: HttpError) -> bool:
        # GitHub answers a primary rate limit with 403 and no remaining calls
        if error.status == 403 and error.response is not None and \
                error.response.headers.get("X-RateLimit-Remaining") == "0":
            return True
        return error.retryable

    def describe_http_error(self, error: HttpError, action: str) -> str:
        if self.is_retryable(error) and error.status == 403:
            return "%s (rate limited; retry after the reset)" % error
        if error.status == 404:
            # GitHub hides what a token may not see behind 404
            return "%s (the target is gone, or the credentials may not see it: %s needs %s)" % (
                error, action, ", ".join(self.scopes.get(action, [])) or "no scope")
        return super().describe_http_error(error, action)

    def granted_scopes(self) -> Optional[List[str]]:
        if self.token_source is None:
            return None
        self.token_source.token()
        permissions = self.token_source.last.get("permissions")
        if isinstance(permissions, dict):
            return sorted("%s:%s" % item for item in permissions.items())
        return None


def executor(config: Dict[str, Any], secrets: Any = None) -> GitHubExecutor:
    return GitHubExecutor(config, secrets)

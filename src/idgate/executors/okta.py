"""Okta: sessions, OAuth tokens and grants, user lifecycle, apps, client
secrets, API tokens. Steps, scopes and preconditions: playbooks/okta.yaml.

Credentials, in order of preference:
- ``client_id`` + ``private_key`` (+ ``key_id``): an API service app with
  private_key_jwt, asking only for the scopes of the allowed actions;
- ``token``: a static SSWS API token (its admin role decides what it can do);
- ``token_provider``: an injected callable (tests, custom vaults).
"""
import re
from typing import Any, Dict, List, Optional

from ..errors import ConfigError
from ..http import HttpClient, HttpError
from ._auth import (client_assertion, client_credentials, injected_token_source, resolve_secret,
                    static_token_source, union_scopes)
from ._playbook import PlaybookExecutor

_SCOPE_IN_CHALLENGE = re.compile(r'scope="([^"]*)"')


class OktaExecutor(PlaybookExecutor):
    provider = "okta"

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        super().__init__(config)
        org_url = str(self.config.get("org_url") or "").rstrip("/")
        if not org_url.startswith(("https://", "http://")):
            raise ConfigError("executors.okta.org_url must be the org's https URL")
        self.base_url = org_url
        cfg = self.config
        if cfg.get("token_provider"):
            self.token_source = injected_token_source(cfg["token_provider"], secrets)
        elif cfg.get("client_id") and cfg.get("private_key"):
            key = resolve_secret(cfg, "private_key", secrets, "okta", required=True)
            token_url = org_url + self.playbook.auth.get("token_url", "/oauth2/v1/token")
            scopes = " ".join(union_scopes(self.scopes))

            def form() -> Dict[str, str]:
                return {"grant_type": "client_credentials", "scope": scopes,
                        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        "client_assertion": client_assertion(cfg["client_id"], token_url, key or "",
                                                             cfg.get("key_id"))}
            token_http = HttpClient("okta", org_url, **self.http_options())
            self.token_source = client_credentials(token_http, token_url, form, secrets)
        elif cfg.get("token"):
            self.token_source = static_token_source(resolve_secret(cfg, "token", secrets, "okta") or "")
            self.auth_scheme = "SSWS"
        else:
            raise ConfigError("executors.okta needs client_id + private_key (preferred) or token")

    def describe_http_error(self, error: HttpError, action: str) -> str:
        if error.status == 403 and error.response is not None:
            challenge = error.response.headers.get("WWW-Authenticate", "")
            named = _SCOPE_IN_CHALLENGE.search(challenge)
            if named:
                return "%s (missing OAuth scope: %s needs %s)" % (error, action, named.group(1))
        return super().describe_http_error(error, action)

    def granted_scopes(self) -> Optional[List[str]]:
        if self.token_source is None or self.auth_scheme == "SSWS":
            return None
        self.token_source.token()
        scope = self.token_source.last.get("scope")
        return scope.split() if isinstance(scope, str) else None


def executor(config: Dict[str, Any], secrets: Any = None) -> OktaExecutor:
    return OktaExecutor(config, secrets)

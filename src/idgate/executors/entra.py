"""Microsoft Entra ID through Microsoft Graph. Steps, scopes and
preconditions: playbooks/entra.yaml.

Credentials: app-only client credentials for ``tenant_id`` + ``client_id``
with, in order of preference, ``certificate`` (a PEM private key reference)
+ ``thumbprint`` (signed client assertion, no shared secret), or
``client_secret``; or ``token_provider``, an injected callable (msal, tests).
"""
import base64
import binascii
import time
import uuid
from typing import Any, Dict, List, Optional

from ..errors import ConfigError
from ..http import HttpClient
from ._auth import (client_credentials, injected_token_source, jwt_claims, resolve_secret,
                    sign_jwt_rs256)
from ._playbook import PlaybookExecutor

GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN_URL = "https://login.microsoftonline.com"


class EntraExecutor(PlaybookExecutor):
    provider = "entra"

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        super().__init__(config)
        cfg = self.config
        self.base_url = str(cfg.get("graph_url") or GRAPH_URL).rstrip("/")
        if cfg.get("token_provider"):
            self.token_source = injected_token_source(cfg["token_provider"], secrets)
            return
        tenant, client_id = cfg.get("tenant_id"), cfg.get("client_id")
        if not tenant or not client_id:
            raise ConfigError("executors.entra needs tenant_id and client_id (or a token_provider)")
        token_url = "%s/%s/oauth2/v2.0/token" % (str(cfg.get("login_url") or LOGIN_URL).rstrip("/"), tenant)
        scope = self.playbook.auth.get("scope", "https://graph.microsoft.com/.default")
        if cfg.get("certificate"):
            key = resolve_secret(cfg, "certificate", secrets, "entra", required=True) or ""
            x5t = _thumbprint_b64(str(cfg.get("thumbprint") or ""))

            def form() -> Dict[str, str]:
                now = int(time.time())
                assertion = sign_jwt_rs256({"aud": token_url, "iss": client_id, "sub": client_id,
                                            "jti": uuid.uuid4().hex, "nbf": now, "exp": now + 300},
                                           key, extra_headers={"x5t": x5t})
                return {"grant_type": "client_credentials", "client_id": client_id, "scope": scope,
                        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        "client_assertion": assertion}
        elif cfg.get("client_secret"):
            secret = resolve_secret(cfg, "client_secret", secrets, "entra", required=True) or ""

            def form() -> Dict[str, str]:
                return {"grant_type": "client_credentials", "client_id": client_id,
                        "client_secret": secret, "scope": scope}
        else:
            raise ConfigError("executors.entra needs certificate + thumbprint (preferred) or client_secret")
        self.token_source = client_credentials(HttpClient("entra", **self.http_options()), token_url, form, secrets)

    def granted_scopes(self) -> Optional[List[str]]:
        roles = jwt_claims(self.token_source.token()).get("roles")
        return list(roles) if isinstance(roles, list) else None


def _thumbprint_b64(hex_thumbprint: str) -> str:
    try:
        raw = binascii.unhexlify(hex_thumbprint.replace(":", "").strip())
    except (binascii.Error, ValueError):
        raise ConfigError("executors.entra.thumbprint must be the certificate's SHA-1 thumbprint in hex") from None
    if len(raw) != 20:
        raise ConfigError("executors.entra.thumbprint must be the certificate's SHA-1 thumbprint in hex")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def executor(config: Dict[str, Any], secrets: Any = None) -> EntraExecutor:
    return EntraExecutor(config, secrets)

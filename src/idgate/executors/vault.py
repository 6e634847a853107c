"""HashiCorp Vault / OpenBao: revoke tokens by accessor, leases by prefix.
Steps, capabilities and preconditions: playbooks/vault.yaml.

Credentials: ``token`` (a reference to a Vault token whose policy grants only
the playbook's capabilities), ``namespace`` for Vault Enterprise/HCP.
"""
from typing import Any, Dict

from ..errors import ConfigError
from ._auth import injected_token_source, resolve_secret, static_token_source
from ._playbook import PlaybookExecutor


class VaultExecutor(PlaybookExecutor):
    provider = "vault"

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        super().__init__(config)
        cfg = self.config
        address = str(cfg.get("address") or cfg.get("url") or "").rstrip("/")
        if not address.startswith(("https://", "http://")):
            raise ConfigError("executors.vault.address must be the server URL (https://vault.example:8200)")
        self.base_url = address + "/v1"
        headers = dict(self.default_headers)
        if cfg.get("namespace"):
            headers["X-Vault-Namespace"] = str(cfg["namespace"])
        self.default_headers = headers
        if cfg.get("token_provider"):
            self.token_source = injected_token_source(cfg["token_provider"], secrets)
        elif cfg.get("token"):
            self.token_source = static_token_source(resolve_secret(cfg, "token", secrets, "vault") or "")
        else:
            raise ConfigError("executors.vault needs a token (env:VAULT_TOKEN or file:PATH)")

    def authorize(self, headers: Dict[str, str]) -> None:
        headers["X-Vault-Token"] = self.token_source.token()

    def reauth(self) -> None:
        # a static Vault token cannot be renewed by asking again
        self.token_source.invalidate()


def executor(config: Dict[str, Any], secrets: Any = None) -> VaultExecutor:
    return VaultExecutor(config, secrets)

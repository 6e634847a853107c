"""Google Cloud IAM: service accounts and their keys. Steps, scopes and
preconditions: playbooks/gcp.yaml.

Credentials: ``token_provider`` (a callable returning an OAuth access token,
e.g. google-auth's refreshed credentials, ideally an impersonated service
account holding a custom role with only the playbook's permissions) or
``token`` (a reference to a short-lived access token).
"""
from typing import Any, Dict

from ..errors import ConfigError
from ._auth import injected_token_source, resolve_secret, static_token_source
from ._playbook import PlaybookExecutor

IAM_URL = "https://iam.googleapis.com/v1"


class GcpExecutor(PlaybookExecutor):
    provider = "gcp"

    def __init__(self, config: Dict[str, Any], secrets: Any = None):
        super().__init__(config)
        cfg = self.config
        self.base_url = str(cfg.get("iam_url") or IAM_URL).rstrip("/")
        if cfg.get("token_provider"):
            self.token_source = injected_token_source(cfg["token_provider"], secrets)
        elif cfg.get("token"):
            self.token_source = static_token_source(resolve_secret(cfg, "token", secrets, "gcp") or "")
        else:
            raise ConfigError("executors.gcp needs a token_provider or token")


def executor(config: Dict[str, Any], secrets: Any = None) -> GcpExecutor:
    return GcpExecutor(config, secrets)

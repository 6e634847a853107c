"""The run config: one YAML file that ties policy, state, sources,
executors and tickets together. Secrets are references, never values."""
import os
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .api.config import ApiConfig
from .errors import ConfigError
from .policy.schema import Duration
from .secrets import is_reference
from .validation import first_error
from .yamlsafe import load_yaml, read_config_text

SECRET_KEYS = ("token", "password", "client_secret", "api_key", "private_key", "secret")


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    poll: Optional[Duration] = None
    mapping: Optional[Dict[str, Any]] = None
    mapping_file: Optional[str] = None


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str
    state: Optional[str] = None
    sources: List[SourceConfig] = Field(default_factory=list)
    executors: Dict[str, Any] = Field(default_factory=lambda: {"default": "dry_run"})
    tickets: Dict[str, Any] = Field(default_factory=lambda: {"default": "local"})
    # approver → roles, for approvals from the CLI (the API and Splunk use their own identities)
    approvers: Dict[str, List[str]] = Field(default_factory=dict)
    # idgate serve: bearer tokens (references) mapped to callers and roles
    api: Optional[ApiConfig] = None
    batch_size: int = Field(500, ge=1, le=100000)
    default_expiry: Duration = "24h"
    # where the config file lives: relative paths are relative to it
    base_dir: str = Field("", exclude=True)

    @field_validator("executors")
    @classmethod
    def _default_executor(cls, value: Dict[str, Any]) -> Dict[str, Any]:
        return {"default": "dry_run", **value}

    @field_validator("tickets")
    @classmethod
    def _default_tickets(cls, value: Dict[str, Any]) -> Dict[str, Any]:
        return {"default": "local", **value}

    def path(self, value: str) -> str:
        return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.base_dir, value))

    @property
    def policy_path(self) -> str:
        return self.path(self.policy)

    def state_dir(self, override: Optional[str] = None) -> str:
        if override:
            return override
        if os.environ.get("IDGATE_STATE"):
            return os.environ["IDGATE_STATE"]
        return self.path(self.state) if self.state else ".idgate"


def _check_secrets(data: Any, path: tuple, located: Any) -> None:
    """A literal secret in the config is an error: it would end up in
    backups, tickets and screenshots."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and any(key == s or key.endswith("_" + s) for s in SECRET_KEYS) \
                    and isinstance(value, str) and not is_reference(value):
                raise located.error(path + (key,), "must be a reference (env:NAME or file:PATH), "
                                                   "never the secret itself")
            _check_secrets(value, path + (key,), located)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_secrets(value, path + (i,), located)


def load_run_config(path: str) -> RunConfig:
    located = load_yaml(read_config_text(path), path)
    data = located.data
    if not isinstance(data, dict):
        raise ConfigError("the run config must be a mapping (policy:, sources:, ...)", path, 1)
    _check_secrets(data, (), located)
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        loc, message = first_error(exc, data)
        raise located.error(loc, message) from None
    config.base_dir = os.path.dirname(os.path.abspath(path))
    seen = set()
    for i, src in enumerate(config.sources):
        if src.id in seen:
            raise located.error(("sources", i, "id"), "duplicate source id %r" % src.id)
        seen.add(src.id)
    return config

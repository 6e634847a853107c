"""The ``api:`` section of the run config: who may call idgate's HTTP API,
with which roles, and where it listens.

```yaml
api:
  bind: 127.0.0.1
  port: 8742
  tokens:
    - {token: env:SOAR_TOKEN, caller: soar-prod, roles: [evaluator, approver], approval_roles: [soc-l2]}
```

Tokens are secret references, like every other secret of the run config.
"""
from typing import List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ApiRole = Literal["evaluator", "approver", "admin"]
API_ROLES = ("evaluator", "approver", "admin")


class ApiToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(description="secret reference (env:NAME, file:PATH), never the token itself")
    # the identity every action of this token is recorded under (approver, rollback author, ...)
    caller: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,99}$")
    roles: List[ApiRole] = Field(min_length=1)
    # the approval roles of SPEC (soc-l2, ...) this caller holds; absent: the
    # run config's ``approvers`` entry for ``caller`` is used, as for the CLI
    approval_roles: Optional[List[str]] = None

    @field_validator("caller")
    @classmethod
    def _not_an_ai(cls, value: str) -> str:
        # "ai:" names the recommending AI: an approval under that name is refused by the engine
        if value.startswith("ai:"):
            raise ValueError("a caller may not be named ai:... (that names a recommending AI)")
        return value


class ApiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: List[ApiToken] = Field(default_factory=list)
    bind: str = "127.0.0.1"
    port: int = Field(8742, ge=1, le=65535)
    max_body_bytes: int = Field(1_000_000, ge=1024, le=100_000_000)

    @model_validator(mode="after")
    def _unique(self) -> "ApiConfig":
        callers = [t.caller for t in self.tokens]
        dupes = sorted({c for c in callers if callers.count(c) > 1})
        if dupes:
            raise ValueError("caller %s is listed more than once" % dupes[0])
        refs = [t.token for t in self.tokens]
        if len(set(refs)) != len(refs):
            raise ValueError("two callers share one token reference")
        return self

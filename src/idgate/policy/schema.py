"""The mapping config (policy) as pydantic models.

This is the published format: ``idgate policy schema`` prints the JSON Schema
generated from these models. Keys are strict (a typo is an error, not a
silently ignored rule).
"""
from typing import Dict, List, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from typing_extensions import Annotated, Literal

AutonomyName = Literal["auto", "review", "advisory", "blocked"]
CappedAutonomy = Literal["review", "advisory", "blocked"]

DURATION_PATTERN = r"^\s*(\d+\s*[smhdw]\s*)+$"
Duration = Annotated[str, Field(pattern=DURATION_PATTERN,
                                description="a duration such as 30s, 15m, 4h, 1d or 1h30m")]

Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
ConditionValue = Union[Scalar, List[Scalar]]
Conditions = Annotated[
    Dict[str, ConditionValue],
    Field(description="dotted path → a value, a list (any of), a comparison such as "
                      "'>= 0.9', or a glob such as 'svc-*'"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Defaults(_Strict):
    autonomy: CappedAutonomy = Field("advisory", description="when no rule matches; may not be auto")
    missing_score: CappedAutonomy = Field(
        "advisory", description="cap when the AI gave neither a confidence nor a score")


class AISource(_Strict):
    id: StrictStr
    description: Optional[str] = Field(None, exclude=True)
    match: Conditions = Field(default_factory=dict)
    mode: Optional[Literal["monitoring_assistant", "delegated_operator", "workload"]] = None
    max_autonomy: AutonomyName = "advisory"


class Budget(_Strict):
    id: StrictStr
    description: Optional[str] = Field(None, exclude=True)
    actions: List[StrictStr] = Field(min_length=1)
    max: int = Field(ge=0)
    per: Duration
    on_exceed: CappedAutonomy = "review"


class CircuitBreaker(_Strict):
    max: int = Field(ge=1, description="auto decisions (any action) within `per` that trip it")
    per: Duration


class Approvals(_Strict):
    count: int = Field(1, ge=1)
    roles: List[StrictStr] = Field(default_factory=list)


class Rule(_Strict):
    id: StrictStr
    description: Optional[str] = Field(None, exclude=True)
    when: Conditions = Field(default_factory=dict)
    autonomy: AutonomyName
    allow_irreversible: bool = False
    confirm_within: Optional[Duration] = None
    ticket: Optional[StrictStr] = None
    approvals: Optional[Approvals] = None
    expires_in: Optional[Duration] = None


class PolicyConfig(_Strict):
    version: Literal[1]
    description: Optional[str] = Field(None, exclude=True)
    defaults: Defaults = Field(default_factory=Defaults)
    kill_switch: bool = False
    ai_sources: List[AISource] = Field(default_factory=list)
    protected_identities: List[Conditions] = Field(default_factory=list)
    budgets: List[Budget] = Field(default_factory=list)
    circuit_breaker: Optional[CircuitBreaker] = Field(
        default_factory=lambda: CircuitBreaker(max=100, per="10m"),
        description="trips every auto decision to review on a burst, until a human resets it; "
                    "null disables it")
    rules: List[Rule] = Field(default_factory=list)

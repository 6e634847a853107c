"""The canonical alert and the decision, as in SPEC.md.

Every source normalises to ``Alert``; the gate turns each recommendation of
an alert into one ``Decision``. Free-text fields (``rationale``) are kept for
humans and never read by the gate.
"""
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Severity(str, Enum):
    informational = "informational"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}


class IdentityKind(str, Enum):
    human = "human"
    service_account = "service_account"
    workload = "workload"
    api_key = "api_key"
    oauth_app = "oauth_app"
    ai_agent = "ai_agent"
    bot = "bot"


class Autonomy(str, Enum):
    blocked = "blocked"
    advisory = "advisory"
    review = "review"
    auto = "auto"


# least autonomy wins: a lower rank is more restrictive
AUTONOMY_RANK = {"blocked": 0, "advisory": 1, "review": 2, "auto": 3}
AUTONOMY_BY_RANK = ["blocked", "advisory", "review", "auto"]


def scale_score(value: Any, scale: float = 1.0) -> Optional[float]:
    """A platform score to [0, 1]. ``scale`` is the platform's maximum (1 or 100)."""
    if value is None or value == "":
        return None
    score = float(value) / float(scale)
    if not 0.0 <= score <= 1.0:
        raise ValueError("score %r is outside [0, %g]" % (value, scale))
    return score


class _Open(BaseModel):
    # nested objects keep fields we do not know (round-trips losslessly)
    model_config = ConfigDict(extra="allow", use_enum_values=True)


class Source(_Open):
    platform: str
    instance: Optional[str] = None
    record_id: Optional[str] = None


class DetectionRule(_Open):
    id: Optional[str] = None
    name: Optional[str] = None  # free text: never read by the gate


class Identity(_Open):
    kind: IdentityKind
    id: str
    name: Optional[str] = None
    provider: Optional[str] = None
    tier: Optional[str] = None
    owner: Optional[str] = None
    tags: List[str] = Field(default_factory=list)

    @property
    def is_nhi(self) -> bool:
        return self.kind is not IdentityKind.human


class AIAssessment(_Open):
    model: Optional[str] = None
    model_version: Optional[str] = None
    score: Optional[float] = Field(default=None, ge=0.0, le=1.0)
    verdict: Optional[str] = None
    rationale: Optional[str] = None  # untrusted free text


class Target(_Open):
    kind: Optional[IdentityKind] = None
    id: str
    provider: Optional[str] = None
    name: Optional[str] = None


class Recommendation(_Open):
    action: str
    target: Optional[Target] = None
    params: Dict[str, Any] = Field(default_factory=dict)
    confidence: Optional[float] = Field(default=None, ge=0.0, le=1.0)
    rationale: Optional[str] = None  # untrusted free text


_ALERT_FIELDS = {"id", "source", "detected_at", "rule", "severity", "identity",
                 "ai", "recommendations", "raw"}


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    id: str = Field(min_length=1)
    source: Source
    detected_at: datetime
    rule: Optional[DetectionRule] = None
    severity: Optional[Severity] = None
    identity: Identity
    ai: AIAssessment = Field(default_factory=AIAssessment)
    recommendations: List[Recommendation] = Field(default_factory=list)
    raw: Dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _unknown_fields_to_raw(cls, data: Any) -> Any:
        if isinstance(data, dict) and not _ALERT_FIELDS.issuperset(data):
            data = dict(data)
            raw = dict(data.get("raw") or {})
            for key in [k for k in data if k not in _ALERT_FIELDS]:
                raw[key] = data.pop(key)
            data["raw"] = raw
        return data

    @field_validator("detected_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # naive timestamps are taken as UTC, so budgets compare like with like
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _default_targets(self) -> "Alert":
        # a recommendation without a target acts on the alert's identity
        for rec in self.recommendations:
            if rec.target is None:
                # fields of the already validated identity: no second validation
                # straight into __dict__: the value is valid, and validate-on-assign costs
                rec.__dict__["target"] = construct(Target, {
                    "kind": self.identity.kind, "id": self.identity.id,
                    "provider": self.identity.provider, "name": self.identity.name}, extra={})
        return self


def construct(cls: Any, fields: Dict[str, Any], extra: Optional[Dict[str, Any]] = None) -> Any:
    """An instance from fields the caller has already validated, every field
    given: the gate builds millions of decisions in a replay, and
    ``model_construct`` spends most of its time on defaults we never use."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
    object.__setattr__(obj, "__pydantic_extra__", extra)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


class Cap(BaseModel):
    invariant: str
    reason: str


class Decision(BaseModel):
    """One recommendation decided. Serialised as one JSON object per line."""

    model_config = ConfigDict(use_enum_values=True)

    decision_id: str
    alert_id: str
    recommendation_index: int
    action: str
    target: Dict[str, Any]
    params: Dict[str, Any] = Field(default_factory=dict)
    autonomy: Autonomy
    rule_id: Optional[str] = None
    caps: List[Cap] = Field(default_factory=list)
    policy_version: str
    decided_at: datetime
    # context the pipeline needs after the decision (review, execution)
    identity: Dict[str, Any] = Field(default_factory=dict)
    confidence: Optional[float] = None
    ai_source: Optional[str] = None
    requester: Optional[str] = None
    detected_at: Optional[datetime] = None
    ticket: Optional[str] = None
    approvals_required: int = 0
    approver_roles: List[str] = Field(default_factory=list)
    expires_in_s: Optional[int] = None
    confirm_within_s: Optional[int] = None
    error: Optional[str] = None

    def to_json_dict(self) -> Dict[str, Any]:
        return self.model_dump(mode="json")

"""Request and response shapes of the HTTP API. They validate what callers
send and, through the OpenAPI document, tell callers what comes back."""
from typing import Any, Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from ..model import Decision

ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"
DIGEST_PATTERN = r"^[0-9a-f]{64}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApproveBody(_Body):
    # the digest the approver saw: if what would run changed since, the approval is refused
    digest: str = Field(pattern=DIGEST_PATTERN, description="the request's digest, from GET /v1/requests/{id}")
    comment: str = Field("", max_length=2000)


class DenyBody(_Body):
    comment: str = Field("", max_length=2000)


class ConfirmBody(_Body):
    comment: str = Field("", max_length=2000)


class RollbackBody(_Body):
    reason: str = Field("", max_length=2000)


class OutcomeBody(_Body):
    status: Literal["done", "noop", "failed"]
    detail: str = Field("", max_length=4000)


class EmptyBody(_Body):
    pass


class RequestsQuery(_Body):
    status: Literal["open", "approved", "denied", "expired", "all"] = "open"
    limit: int = Field(100, ge=1, le=1000)


class AuditQuery(_Body):
    since: Optional[str] = Field(None, max_length=64, description="ISO time, inclusive")
    until: Optional[str] = Field(None, max_length=64, description="ISO time, inclusive")
    alert_id: Optional[str] = Field(None, max_length=512)
    identity: Optional[str] = Field(None, max_length=512, description="identity or target id")
    after_seq: int = Field(0, ge=0, le=2**62, description="page on: the next_after_seq of the previous page")
    limit: int = Field(500, ge=1, le=5000)


# -- responses: the keys always present are listed, the rest passes through --
class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: Optional[str] = None
    location: Optional[Literal["body", "query", "path", "header"]] = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class WhoAmI(BaseModel):
    caller: str
    roles: List[str]
    version: str
    policy_version: str


class DecisionResult(Decision):
    # what the decision led to, so a SOAR knows its next step without a second call
    request_id: Optional[str] = Field(None, description="review request opened for a review decision")
    execution_id: Optional[str] = Field(None, description="execution planned for an auto decision")
    execution_status: Optional[str] = Field(
        None, description="delegated: the caller runs it and reports the outcome; done/noop/failed/pending: idgate ran it")


class DecideResponse(BaseModel):
    alert_id: str
    duplicate: bool = Field(description="true: this alert was decided before; these are the recorded decisions")
    decisions: List[DecisionResult]


class Approval(_Out):
    request_id: str
    approver: str
    verdict: str
    at: str


class Execution(_Out):
    execution_id: str
    kind: Literal["action", "rollback"]
    action: str
    target: Dict[str, Any]
    provider: str
    status: str
    decision_id: Optional[str] = None
    alert_id: Optional[str] = None
    request_id: Optional[str] = None


class ReviewRequest(_Out):
    request_id: str
    decision_id: str
    alert_id: str
    status: str
    created_at: str
    expires_at: Optional[str] = None
    digest: str
    approvals_required: int
    approver_roles: List[str]
    action: str
    target: Dict[str, Any]
    policy_version: str
    will_run: str
    approvals: List[Approval] = Field(default_factory=list)
    executions: List[Execution] = Field(default_factory=list)


class RequestList(BaseModel):
    requests: List[ReviewRequest]


class ExecutionList(BaseModel):
    request_id: str
    executions: List[Execution]


class AuditRecord(_Out):
    seq: int
    at: str
    kind: str
    prev: str
    hash: str


class AuditPage(BaseModel):
    records: List[AuditRecord]
    next_after_seq: Optional[int] = Field(None, description="more records may follow: pass as after_seq")


class AuditVerification(BaseModel):
    ok: bool
    records: int
    head: Optional[str] = None
    problems: List[str]


class BreakerState(BaseModel):
    tripped: bool
    reset_by: str

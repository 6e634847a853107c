"""idgate for Splunk SOAR: ask idgate before acting on an identity, hand a
remediation to idgate, approve in idgate, report what the playbook did.

Built with splunk-soar-sdk. The app talks to ``idgate serve`` over HTTP
(``idgate_client``) and never imports idgate itself.
"""
from contextlib import contextmanager
from typing import Iterator, Optional

from soar_sdk.action_results import ActionOutput, OutputField
from soar_sdk.app import App
from soar_sdk.asset import AssetField, BaseAsset
from soar_sdk.exceptions import ActionFailure
from soar_sdk.logging import getLogger
from soar_sdk.params import Param, Params

try:  # run as the package SOAR installs (src.app) or as a script (python src/app.py)
    from . import idgate_client as ic
except ImportError:  # pragma: no cover
    import idgate_client as ic  # type: ignore[no-redef]

logger = getLogger()

ALERT_ID = ["idgate alert id"]
REQUEST_ID = ["idgate request id"]
EXECUTION_ID = ["idgate execution id"]
IDENTITY = ["user name", "idgate identity id"]


class Asset(BaseAsset):
    base_url: str = AssetField(description="idgate API URL (idgate serve)", default="http://127.0.0.1:8742")
    api_token: str = AssetField(description="Bearer token of this SOAR's idgate caller", sensitive=True)
    verify_tls: bool = AssetField(description="Verify the server's TLS certificate", default=True)
    timeout: float = AssetField(description="Seconds to wait for idgate", default=30.0)


app = App(
    name="idgate", app_type="identity management", logo="logo.svg", logo_dark="logo_dark.svg",
    product_vendor="idgate", product_name="idgate", publisher="idgate",
    appid="2af3a525-4518-4991-915b-d22a8425a318", fips_compliant=False, asset_cls=Asset,
)


def client(asset: Asset) -> ic.IdgateClient:
    return ic.IdgateClient(asset.base_url, asset.api_token, verify=asset.verify_tls, timeout=asset.timeout)


@contextmanager
def idgate_errors(*also: type) -> Iterator[None]:
    """idgate's refusals and network failures as the SOAR's action failure.
    idgate's error already names the field and the reason; the token never
    appears in it."""
    try:
        yield
    except (ic.IdgateApiError, OSError) + also as exc:
        raise ActionFailure(str(exc)) from None


# -- outputs ---------------------------------------------------------------------------------
class DecisionOutput(ActionOutput):
    alert_id: str = OutputField(cef_types=ALERT_ID)
    duplicate: bool
    decision_id: str
    recommendation_index: int
    action: str
    target_id: str = OutputField(cef_types=IDENTITY)
    target_name: Optional[str] = OutputField(cef_types=["user name"])
    autonomy: str = OutputField(example_values=["auto", "review", "advisory", "blocked"])
    rule_id: Optional[str]
    policy_version: str
    caps: str
    request_id: Optional[str] = OutputField(cef_types=REQUEST_ID)
    execution_id: Optional[str] = OutputField(cef_types=EXECUTION_ID)
    execution_status: Optional[str]
    next_step: str = OutputField(example_values=["execute_and_report", "await_approval", "executed_by_idgate",
                                                 "annotate_only", "stop"])


class RequestOutput(ActionOutput):
    request_id: str = OutputField(cef_types=REQUEST_ID)
    status: str
    action: str
    target_id: str = OutputField(cef_types=IDENTITY)
    will_run: str
    digest: str = OutputField(cef_types=["sha256"])
    approvals_required: int
    approver_roles: str
    approvals: int
    expires_at: Optional[str]
    rule_id: Optional[str]
    execution_id: Optional[str] = OutputField(cef_types=EXECUTION_ID)
    execution_status: Optional[str]


class ExecutionOutput(ActionOutput):
    execution_id: str = OutputField(cef_types=EXECUTION_ID)
    kind: str
    action: str
    target_id: str = OutputField(cef_types=IDENTITY)
    provider: str
    status: str
    detail: Optional[str]
    provisional_until: Optional[str]
    rollback_of: Optional[str] = OutputField(cef_types=EXECUTION_ID)


class AuditOutput(ActionOutput):
    seq: int
    at: str
    kind: str
    actor: Optional[str]
    alert_id: Optional[str] = OutputField(cef_types=ALERT_ID)
    request_id: Optional[str] = OutputField(cef_types=REQUEST_ID)
    execution_id: Optional[str] = OutputField(cef_types=EXECUTION_ID)
    hash: str = OutputField(cef_types=["sha256"])


class ConnectivityOutput(ActionOutput):
    caller: str
    roles: str
    version: str


# -- parameters --------------------------------------------------------------------------------
class AlertParams(Params):
    alert_json: Optional[str] = Param(description="A whole canonical alert (JSON); else the fields below",
                                      required=False, default=None)
    identity_id: Optional[str] = Param(description="Identity the AI recommends acting on", required=False,
                                       default=None, primary=True, cef_types=IDENTITY)
    identity_kind: Optional[str] = Param(description="Kind of identity", required=False, default=None,
                                         value_list=ic.IDENTITY_KINDS)
    identity_name: Optional[str] = Param(description="Identity's name", required=False, default=None,
                                         cef_types=["user name"])
    provider: Optional[str] = Param(description="Identity provider (okta, entra, aws, ...)", required=False,
                                    default=None)
    action: Optional[str] = Param(description="Recommended action", required=False, default=None,
                                  value_list=ic.ACTIONS)
    confidence: Optional[float] = Param(description="The AI's confidence, 0 to 1", required=False, default=None)
    severity: Optional[str] = Param(description="Alert severity", required=False, default=None,
                                    value_list=ic.SEVERITIES)
    ai_model: Optional[str] = Param(description="The AI model that scored the alert", required=False, default=None)
    platform: str = Param(description="Where the alert comes from", required=False, default="splunk_soar")
    alert_id: Optional[str] = Param(description="Alert id, e.g. soar:<container id>; needed without alert_json "
                                    "(idgate decides an alert once, so a re-run is not a new decision)",
                                    required=False, default=None, cef_types=ALERT_ID)
    params_json: Optional[str] = Param(description="Action parameters (JSON object)", required=False, default=None)


class RequestParams(Params):
    request_id: str = Param(description="idgate review request id", primary=True, cef_types=REQUEST_ID)


class ApproveParams(Params):
    request_id: str = Param(description="idgate review request id", primary=True, cef_types=REQUEST_ID)
    digest: str = Param(description="The digest the analyst approved (from request approval)",
                        cef_types=["sha256"])
    comment: str = Param(description="Why", required=False, default="")


class DenyParams(Params):
    request_id: str = Param(description="idgate review request id", primary=True, cef_types=REQUEST_ID)
    comment: str = Param(description="Why", required=False, default="")


class RollbackParams(Params):
    execution_id: str = Param(description="idgate execution id", primary=True, cef_types=EXECUTION_ID)
    reason: str = Param(description="Why", required=False, default="")


class ConfirmParams(Params):
    execution_id: str = Param(description="idgate execution id", primary=True, cef_types=EXECUTION_ID)


class OutcomeParams(Params):
    execution_id: str = Param(description="idgate execution id (execution_id of evaluate recommendation)",
                              primary=True, cef_types=EXECUTION_ID)
    status: str = Param(description="What the playbook's own action did", value_list=["done", "noop", "failed"])
    detail: str = Param(description="What happened (no secrets)", required=False, default="")


class AuditParams(Params):
    alert_id: Optional[str] = Param(description="Only this alert", required=False, default=None,
                                    cef_types=ALERT_ID)
    identity: Optional[str] = Param(description="Only this identity or target", required=False, default=None,
                                    cef_types=IDENTITY)
    limit: int = Param(description="At most this many records", required=False, default=500)


# -- actions -----------------------------------------------------------------------------------------
@app.test_connectivity()
def test_connectivity(asset: Asset) -> None:
    with idgate_errors(ValueError):
        me = client(asset).whoami()
    logger.info("connected to idgate %s as %s with roles %s", me["version"], me["caller"], ", ".join(me["roles"]))


def _alert(params: AlertParams) -> dict:
    with idgate_errors(ValueError):
        return ic.build_alert(params.alert_json, identity_id=params.identity_id, identity_kind=params.identity_kind,
                              identity_name=params.identity_name, provider=params.provider, action=params.action,
                              confidence=params.confidence, severity=params.severity, platform=params.platform,
                              ai_model=params.ai_model, alert_id=params.alert_id, params_json=params.params_json)


@app.action(action_type="investigate", verbose="idgate decides each recommendation of the alert and records "
            "the decision; auto decisions come back for the playbook to execute with its own apps "
            "(then run record outcome), review decisions open a review request.")
def evaluate_recommendation(params: AlertParams, asset: Asset) -> list[DecisionOutput]:
    with idgate_errors():
        response = client(asset).evaluate(_alert(params))
    return [DecisionOutput(**row) for row in ic.decision_rows(response)]


@app.action(action_type="contain", verbose="Hand the alert to idgate's full pipeline: idgate executes auto "
            "decisions with its own scoped credentials and opens review requests for the rest.")
def submit_alert(params: AlertParams, asset: Asset) -> list[DecisionOutput]:
    with idgate_errors():
        response = client(asset).submit(_alert(params))
    return [DecisionOutput(**row) for row in ic.decision_rows(response)]


@app.action(action_type="investigate", read_only=True, verbose="The review request idgate opened for a "
            "decision: what will run, the digest to approve, who may approve. Use it to build the analyst prompt.")
def request_approval(params: RequestParams, asset: Asset) -> RequestOutput:
    with idgate_errors():
        return RequestOutput(**ic.request_row(client(asset).request(params.request_id)))


@app.action(action_type="generic", verbose="Approve a review request in idgate as this asset's caller. "
            "The approval binds to the digest: if what would run changed, idgate refuses it.")
def approve(params: ApproveParams, asset: Asset) -> RequestOutput:
    with idgate_errors():
        return RequestOutput(**ic.request_row(client(asset).approve(params.request_id, params.digest,
                                                                    params.comment)))


@app.action(action_type="generic", verbose="Deny a review request in idgate: nothing runs.")
def deny(params: DenyParams, asset: Asset) -> RequestOutput:
    with idgate_errors():
        return RequestOutput(**ic.request_row(client(asset).deny(params.request_id, params.comment)))


@app.action(action_type="contain", verbose="Run what an approved request planned (idgate never runs it twice).")
def execute_approved(params: RequestParams, asset: Asset) -> list[ExecutionOutput]:
    with idgate_errors():
        response = client(asset).execute_approved(params.request_id)
    return [ExecutionOutput(**ic.execution_row(e)) for e in response["executions"]]


@app.action(action_type="correct", verbose="Undo a done, reversible action with its inverse.")
def rollback(params: RollbackParams, asset: Asset) -> ExecutionOutput:
    with idgate_errors():
        return ExecutionOutput(**ic.execution_row(client(asset).rollback(params.execution_id, params.reason)))


@app.action(action_type="generic", verbose="Keep a provisional action: it will not be rolled back.")
def confirm_action(params: ConfirmParams, asset: Asset) -> ExecutionOutput:
    with idgate_errors():
        return ExecutionOutput(**ic.execution_row(client(asset).confirm(params.execution_id)))


@app.action(action_type="generic", verbose="Tell idgate what the playbook's own action did for a delegated "
            "execution, so the audit trail holds the whole story.")
def record_outcome(params: OutcomeParams, asset: Asset) -> ExecutionOutput:
    with idgate_errors():
        return ExecutionOutput(**ic.execution_row(client(asset).outcome(params.execution_id, params.status,
                                                                        params.detail)))


@app.action(action_type="investigate", read_only=True, verbose="idgate's audit records (filtered), after "
            "checking the whole hash chain; fails if the chain does not verify.")
def get_audit_trail(params: AuditParams, asset: Asset) -> list[AuditOutput]:
    with idgate_errors():
        api = client(asset)
        check = api.audit_verify()
        if not check["ok"]:
            raise ActionFailure("idgate's audit trail does not verify: %s" % "; ".join(check["problems"][:3]))
        page = api.audit(alert_id=params.alert_id, identity=params.identity, limit=params.limit)
    return [AuditOutput(**row) for row in ic.audit_rows(page)]


if __name__ == "__main__":
    app.cli()

"""
Splunk SOAR playbook: idgate gate for AI-recommended identity actions.

Input: a container whose artifact carries an AI-scored recommendation
(cef: identity_id / user name, identity_kind, recommended_action, ai_confidence,
ai_model, severity). Steps:
  1. evaluate recommendation (idgate app)     -> next_step per decision
  2a. next_step == execute_and_report: run the playbook's own Okta action
      (disable user / clear sessions), then record outcome in idgate
  2b. next_step == await_approval: request approval (what will run, digest),
      prompt an analyst; Yes -> approve in idgate (binds to the digest),
      No -> deny in idgate. On approval idgate delegates the execution back
      (execution_status delegated): run the Okta action and record outcome.
  3. anything else (annotate_only, stop): add a note, do nothing.
Asset names: "idgate" (idgate app), "okta" (Okta app). See playbooks/soar/README.md.
"""
import json

import phantom.rules as phantom

OKTA_ACTION = {  # idgate action -> the SOAR app action that does it
    "revoke_sessions": "clear user sessions",
    "suspend_user": "disable user",
    "disable_service_account": "disable user",
}


def on_start(container):
    phantom.debug("idgate gate: start")
    evaluate_recommendation(container=container)


def evaluate_recommendation(action=None, success=None, container=None, results=None, handle=None, **kwargs):
    rows = phantom.collect2(container=container, datapath=[
        "artifact:*.cef.identity_id", "artifact:*.cef.identity_kind", "artifact:*.cef.userName",
        "artifact:*.cef.recommended_action", "artifact:*.cef.ai_confidence", "artifact:*.cef.ai_model",
        "artifact:*.cef.severity", "artifact:*.id"])
    parameters = []
    for identity_id, kind, name, rec, confidence, model, severity, artifact_id in rows:
        if not identity_id or not rec:
            continue
        parameters.append({
            # idgate decides an alert once: the artifact id makes a re-run the same alert
            "alert_id": "splunk_soar:%s:%s" % (container["id"], artifact_id),
            "identity_id": identity_id, "identity_kind": kind or "human", "identity_name": name,
            "provider": "okta", "action": rec, "confidence": confidence, "ai_model": model,
            "severity": severity, "platform": "splunk_soar"})
    if not parameters:
        phantom.comment(container=container, comment="idgate gate: no AI recommendation found")
        return
    phantom.act("evaluate recommendation", parameters=parameters, assets=["idgate"],
                callback=route_by_decision, name="evaluate_recommendation")


def route_by_decision(action=None, success=None, container=None, results=None, handle=None, **kwargs):
    decisions = phantom.collect2(container=container, action_results=results, datapath=[
        "evaluate_recommendation:action_result.data.*.next_step",
        "evaluate_recommendation:action_result.data.*.action",
        "evaluate_recommendation:action_result.data.*.target_name",
        "evaluate_recommendation:action_result.data.*.execution_id",
        "evaluate_recommendation:action_result.data.*.request_id",
        "evaluate_recommendation:action_result.data.*.rule_id"])
    for next_step, action_name, target, execution_id, request_id, rule_id in decisions:
        if next_step == "execute_and_report":
            run_own_action(container, action_name, target, execution_id)
        elif next_step == "await_approval":
            phantom.act("request approval", parameters=[{"request_id": request_id}], assets=["idgate"],
                        callback=prompt_analyst, name="request_approval_%s" % request_id)
        else:
            phantom.comment(container=container, comment="idgate: %s -> %s (rule %s)" % (
                action_name, next_step, rule_id))


def run_own_action(container, action_name, target, execution_id):
    soar_action = OKTA_ACTION.get(action_name)
    if soar_action is None:
        # nothing this playbook can run itself: tell idgate, so the audit trail says so
        phantom.act("record outcome", parameters=[{"execution_id": execution_id, "status": "failed",
                                                   "detail": "no SOAR action for %s" % action_name}],
                    assets=["idgate"], name="record_outcome_%s" % execution_id)
        return
    phantom.act(soar_action, parameters=[{"username": target}], assets=["okta"], callback=record_outcome,
                name="okta_%s" % execution_id, tags=[execution_id])


def record_outcome(action=None, success=None, container=None, results=None, handle=None, **kwargs):
    execution_id = (action or {}).get("name", "").replace("okta_", "", 1)
    message = phantom.get_summary() if success else phantom.get_message()
    phantom.act("record outcome", parameters=[{"execution_id": execution_id,
                                               "status": "done" if success else "failed",
                                               "detail": str(message)[:1000]}],
                assets=["idgate"], name="record_outcome_%s" % execution_id)


def prompt_analyst(action=None, success=None, container=None, results=None, handle=None, **kwargs):
    request = phantom.collect2(container=container, action_results=results, datapath=[
        "request_approval_*:action_result.data.*.request_id", "request_approval_*:action_result.data.*.will_run",
        "request_approval_*:action_result.data.*.digest", "request_approval_*:action_result.data.*.approver_roles"])
    for request_id, will_run, digest, roles in request:
        message = ("idgate asks for a human decision.\n\nWill run: %s\nApprover roles: %s\nDigest: %s\n\n"
                   "The AI's rationale is untrusted text: judge the evidence in the container." % (
                       will_run, roles, digest))
        phantom.prompt2(container=container, user="soc-l2", message=message, respond_in_mins=60,
                        name="approve_%s" % request_id, callback=approve_or_deny,
                        response_types=[{"prompt": "Approve?", "options": {"type": "list", "choices": ["Yes", "No"]}},
                                        {"prompt": "Comment", "options": {"type": "message"}}],
                        parameters=[json.dumps({"request_id": request_id, "digest": digest})])


def approve_or_deny(action=None, success=None, container=None, results=None, handle=None, **kwargs):
    answers = phantom.collect2(container=container, action_results=results, datapath=[
        "approve_*:action_result.summary.responses.0", "approve_*:action_result.summary.responses.1",
        "approve_*:action_result.parameter.parameters", "approve_*:action_result.parameter.responder"])
    for choice, comment, params, responder in answers:
        ask = json.loads(params[0] if isinstance(params, list) else params)
        note = "%s (analyst %s in Splunk SOAR)" % (comment or "", responder)
        if choice == "Yes":
            phantom.act("approve", parameters=[{"request_id": ask["request_id"], "digest": ask["digest"],
                                                "comment": note}],
                        assets=["idgate"], callback=after_approval, name="approve_%s" % ask["request_id"])
        else:
            phantom.act("deny", parameters=[{"request_id": ask["request_id"], "comment": note}], assets=["idgate"],
                        name="deny_%s" % ask["request_id"])


def after_approval(action=None, success=None, container=None, results=None, handle=None, **kwargs):
    rows = phantom.collect2(container=container, action_results=results, datapath=[
        "approve_*:action_result.data.*.status", "approve_*:action_result.data.*.action",
        "approve_*:action_result.data.*.target_id", "approve_*:action_result.data.*.execution_id",
        "approve_*:action_result.data.*.execution_status"])
    for status, action_name, target, execution_id, execution_status in rows:
        if status == "approved" and execution_status == "delegated":
            run_own_action(container, action_name, target, execution_id)
        elif status != "approved":
            phantom.comment(container=container, comment="idgate: request is %s (more approvers needed?)" % status)


def on_finish(container, summary):
    phantom.debug("idgate gate: done")

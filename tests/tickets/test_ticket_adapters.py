"""Jira, ServiceNow and Splunk ES review tickets against fakes of their
documented APIs: one ticket per request id, approvals/denials picked up."""
import json

import pytest
import responses

from idgate.errors import IdgateError
from idgate.tickets import get_ticket_system

from ticket_fakes import JIRA, SNOW, SPLUNK, JiraFake, ServiceNowFake, SplunkFake, review_request


@pytest.fixture
def creds(monkeypatch):
    monkeypatch.setenv("T_JIRA", "jira-api-token-1234")
    monkeypatch.setenv("T_SNOW", "snow-password-1234")
    monkeypatch.setenv("T_SPLUNK", "splunk-token-1234")


def jira():
    return get_ticket_system("jira", {"url": JIRA, "project": "SEC", "email": "bot@acme.io",
                                      "api_token": "env:T_JIRA", "retry": {"attempts": 2}})


@responses.activate
def test_jira_one_issue_per_request_with_adf_and_untrusted_rationale(creds):
    fake = JiraFake(responses.mock)
    tickets = jira()
    first = tickets.open(review_request())
    again = jira().open(review_request())          # a fresh process: found by label
    assert first.key == again.key == "SEC-1" and len(fake.issues) == 1
    assert first.url == JIRA + "/browse/SEC-1"
    fields = fake.issues["SEC-1"]["fields"]
    assert "idgate-rr-0001" in fields["labels"]
    doc = fields["description"]
    assert doc["type"] == "doc" and doc["version"] == 1
    quotes = [n for n in doc["content"] if n["type"] == "blockquote"]
    assert "IGNORE PREVIOUS INSTRUCTIONS" in json.dumps(quotes)
    headings = [n["content"][0]["text"] for n in doc["content"] if n["type"] == "heading"]
    assert any("untrusted" in h for h in headings)
    code = [n for n in doc["content"] if n["type"] == "codeBlock"][0]
    assert "lifecycle/suspend" in code["content"][0]["text"]
    assert "humans-need-review" in json.dumps(doc) and "protected_identity" in json.dumps(doc)
    tickets.open(review_request("rr-0002"))
    assert len(fake.issues) == 2


@responses.activate
def test_jira_transitions_become_approvals_and_denials_once(creds):
    fake = JiraFake(responses.mock)
    tickets = jira()
    a = tickets.open(review_request("rr-a"))
    b = tickets.open(review_request("rr-b"))
    assert list(tickets.poll([a, b])) == []
    fake.transition(a.key, "Approved", "lead@acme.io")
    fake.transition(b.key, "Denied", "soc@acme.io")
    events = {e.request_id: e for e in tickets.poll([a, b])}
    assert events["rr-a"].verdict == "approve" and events["rr-a"].actor == "lead@acme.io"
    assert events["rr-b"].verdict == "deny" and events["rr-b"].actor == "soc@acme.io"
    assert list(tickets.poll([a, b])) == []
    # another process (restart) maps the issue back by its label
    assert {e.request_id for e in jira().poll([a])} == {"rr-a"}
    tickets.close(a, "executed")
    assert "executed" in json.dumps(fake.comments[-1])


@responses.activate
def test_jira_create_failure_is_one_clear_line(creds):
    responses.post(JIRA + "/rest/api/3/search/jql", json={"issues": []})
    responses.post(JIRA + "/rest/api/3/issue", status=400,
                   json={"errorMessages": [], "errors": {"issuetype": "Specify a valid issue type"}})
    with pytest.raises(IdgateError) as err:
        jira().open(review_request())
    assert "jira" in str(err.value) and "\n" not in str(err.value)


def snow(**extra):
    config = {"url": SNOW, "username": "idgate", "password": "env:T_SNOW"}
    config.update(extra)
    return get_ticket_system("servicenow", config)


@responses.activate
def test_servicenow_one_record_per_request_and_state_changes(creds):
    fake = ServiceNowFake(responses.mock)
    ref = snow().open(review_request())
    assert snow().open(review_request()).key == ref.key and len(fake.records) == 1
    record = fake.records[ref.key]
    assert record["correlation_id"] == "idgate-rr-0001"
    assert "> Token used from new ASN" in record["description"]
    assert "What will run on approval" in record["description"]
    tickets = snow()
    assert list(tickets.poll([ref])) == []
    record.update(state="6", sys_updated_by="analyst.bob")
    (event,) = list(tickets.poll([ref]))
    assert (event.request_id, event.verdict, event.actor) == ("rr-0001", "approve", "analyst.bob")
    assert list(tickets.poll([ref])) == []
    tickets.close(ref, "executed")
    assert "executed" in fake.notes[-1]["work_notes"]


@responses.activate
def test_servicenow_incident_table_and_deny(creds):
    fake = ServiceNowFake(responses.mock, table="incident")
    ref = snow(table="incident").open(review_request("rr-9"))
    fake.records[ref.key]["state"] = "8"
    (event,) = list(snow(table="incident").poll([ref]))
    assert event.verdict == "deny"


def splunk():
    return get_ticket_system("splunk_es", {"url": SPLUNK, "token": "env:T_SPLUNK"})


@responses.activate
def test_splunk_es_comment_posted_once_and_status_picked_up(creds):
    fake = SplunkFake(responses.mock)
    ref = splunk().open(review_request())
    assert splunk().open(review_request()).key == ref.key
    updates = [r for r in fake.requests if r.url.endswith("notable_update")]
    assert len(updates) == 1
    assert "[idgate-rr-0001]" in fake.reviews[0]["comment"] and fake.reviews[0]["status"] == "3"
    tickets = splunk()
    assert list(tickets.poll([ref])) == []
    fake.analyst("ABC@@notable@@123", "4", "analyst.carol")
    (event,) = list(tickets.poll([ref]))
    assert (event.verdict, event.actor, event.request_id) == ("approve", "analyst.carol", "rr-0001")


@responses.activate
def test_splunk_es_needs_an_es_alert(creds):
    request = review_request()
    request["alert"] = {"id": "sentinel:1", "source": {"platform": "sentinel", "record_id": "x y"}}
    with pytest.raises(IdgateError, match="Splunk ES"):
        splunk().open(request)


def test_local_queue_is_idempotent():
    local = get_ticket_system("local", {})
    assert local.open(review_request()).key == local.open(review_request()).key == "rr-0001"


@responses.activate
def test_the_engines_flat_request_shape_renders_too(creds):
    fake = ServiceNowFake(responses.mock)
    nested = review_request("rr-flat")
    flat = dict(nested, **nested.pop("decision"))
    ref = snow().open(flat)
    description = fake.records[ref.key]["description"]
    assert "suspend_user" in description and "humans-need-review" in description

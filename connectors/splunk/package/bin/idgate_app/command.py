"""``| idgate``: a streaming command that adds idgate's decision to each
event without side effects: nothing is recorded, nothing runs. Budgets are
simulated from empty over the events in order, as ``idgate evaluate`` does,
so an admin can run ``policy=draft`` over last month's notables and compare
with ``policy=current`` before promoting the draft."""
import json
import sys
import time
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional

from splunklib.searchcommands import Configuration, GeneratingCommand, Option, StreamingCommand, validators

from idgate.errors import IdgateError
from idgate.gate import Gate, GateState
from idgate.sources import get_normalizer, platforms

FIELDS = ("idgate_autonomy", "idgate_rule", "idgate_caps", "idgate_action", "idgate_target",
          "idgate_decision_id", "idgate_policy_version", "idgate_error")


@Configuration()
class IdgateCommand(StreamingCommand):
    """| idgate [policy=current|draft] [platform=splunk_es]"""

    policy = Option(doc="which saved policy decides: current (default) or draft", require=False,
                    default="current", validate=validators.Set("current", "draft"))
    platform = Option(doc="the platform whose records the events are (default splunk_es)", require=False,
                      default="splunk_es")

    # set by tests and the benchmark: a ready Policy instead of the KV store's
    preset_policy: Any = None
    service_factory: Any = None

    def prepare(self) -> None:
        try:
            self._prepare()
        except IdgateError as exc:  # bad option or config: one line in the search UI, no traceback
            self.write_error(str(exc).splitlines()[0])
            sys.exit(1)

    def _prepare(self) -> None:
        if self.platform not in platforms():
            raise IdgateError("platform must be one of %s, not %r" % (", ".join(platforms()), self.platform))
        policy = self.preset_policy
        if policy is None:
            from .context import SplunkContext
            info = self._metadata.searchinfo
            service = self.service_factory(info) if self.service_factory else None
            policy = SplunkContext(info.splunkd_uri, info.session_key, info.username, service=service,
                                   index=None).policies.load(self.policy or "current")
        self.gate = Gate(policy)
        self.gate_state = GateState()
        self.normalizer = get_normalizer(self.platform)
        self.now = datetime.now(timezone.utc)

    def stream(self, records: Iterator[Dict[str, Any]]) -> Iterator[Dict[str, Any]]:
        gate, state, normalize, now = self.gate, self.gate_state, self.normalizer.normalize, self.now
        for record in records:
            values: Dict[str, List[str]] = {f: [] for f in FIELDS}
            try:
                decisions = gate.decide(normalize(record), state, now)
            except IdgateError as exc:  # a record that cannot be decided: say why, keep the event
                decisions = []
                values["idgate_error"].append(str(exc).splitlines()[0][:300])
            for d in decisions:
                values["idgate_autonomy"].append(d.autonomy)
                values["idgate_rule"].append(d.rule_id or "")
                values["idgate_caps"].append(",".join(c.invariant for c in d.caps))
                values["idgate_action"].append(d.action)
                values["idgate_target"].append(str(d.target.get("id") or ""))
                values["idgate_decision_id"].append(d.decision_id)
                if d.error:
                    values["idgate_error"].append(d.error)
            if decisions:
                values["idgate_policy_version"] = [decisions[0].policy_version[:12]]
            for name, found in values.items():
                # one value stays a plain field; several become a multivalue field
                record[name] = found[0] if len(found) == 1 else (found or "")
            yield record



def _context(command: Any) -> Any:
    from .context import SplunkContext
    info = command._metadata.searchinfo
    service = command.service_factory(info) if getattr(command, "service_factory", None) else None
    return SplunkContext(info.splunkd_uri, info.session_key, info.username, service=service)


@Configuration(type="reporting")
class ReviewCommand(GeneratingCommand):
    """| idgatereview verdict=approve|deny request_id=ID [digest=SHA] [comment=TEXT]
    The dashboards' approve/deny: the same API handler and capability checks as
    the REST endpoint, with the searching Splunk user as the approver."""

    verdict = Option(require=True, validate=validators.Set("approve", "deny"))
    request_id = Option(require=True)
    digest = Option(require=False, default=None)
    comment = Option(require=False, default="")
    service_factory: Any = None

    def generate(self) -> Iterator[Dict[str, Any]]:
        from idgate.api.config import ApiConfig
        from idgate.api.handlers import Api
        from .rest import caller_for
        try:
            ctx = _context(self)
            caller = caller_for(ctx, self._metadata.searchinfo.username)
            api = Api(ctx.engine(), ApiConfig())
        except IdgateError as exc:
            self.write_error(str(exc).splitlines()[0])
            return
        body: Dict[str, Any] = {"comment": self.comment or ""}
        if self.verdict == "approve":
            request = ctx.state.get_request(self.request_id)
            body["digest"] = self.digest or (request or {}).get("digest") or ""
        result = api.call_as(self.verdict, caller, {"request_id": self.request_id}, {},
                             json.dumps(body).encode("utf-8"))
        if result.status >= 400:
            self.write_error(result.body["error"]["message"])
            return
        yield {"request_id": self.request_id, "status": result.body.get("status"), "by": caller.name,
               "_time": time.time()}


@Configuration(type="reporting")
class TickCommand(GeneratingCommand):
    """| idgatetick — expiry of review requests, rollback of unconfirmed
    provisional actions, pending executions, tickets (scheduled search)."""

    service_factory: Any = None

    def generate(self) -> Iterator[Dict[str, Any]]:
        try:
            counts = _context(self).engine().tick()
        except IdgateError as exc:
            self.write_error(str(exc).splitlines()[0])
            return
        yield dict(counts, _time=time.time())

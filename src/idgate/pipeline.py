"""sources → normalise → gate → durable records → side effects.

Each batch is one transaction: alerts, decisions, review requests, planned
executions, dead letters, budget state, audit records and the source's
checkpoint commit together. Side effects run only after that commit, so a
crash at any point either re-reads an uncommitted batch (decided once:
alerts already recorded are skipped) or finds planned work to finish.
"""
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import secrets as secrets_module
from .engine import Engine, crashpoint
from .errors import IdgateError, RecordError
from .gate import GateState
from .ingest import normalize_value
from .model import Alert
from .sources import get_source_factory
from .sources.base import AlertSource, Batch


@dataclass
class RunSummary:
    alerts: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    decisions: Dict[str, int] = field(default_factory=dict)
    executed: int = 0
    tickets_opened: int = 0
    source_errors: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


def build_sources(engine: Engine) -> List[AlertSource]:
    out = []
    for src in engine.config.sources:
        data = src.model_dump()
        data.update(src.model_extra or {})
        data["base_dir"] = engine.config.base_dir
        data.setdefault("batch_size", engine.config.batch_size)
        out.append(get_source_factory(src.type)(data, secrets_module))
    return out


class Pipeline:
    def __init__(self, engine: Engine, sources: Optional[List[AlertSource]] = None,
                 on_alert: Optional[Callable[[], None]] = None):
        self.engine = engine
        self.sources = sources if sources is not None else build_sources(engine)
        self.on_alert = on_alert

    def run_once(self) -> RunSummary:
        summary = RunSummary()
        self.engine.tick()
        for source in self.sources:
            try:
                for batch in source.pull(self.engine.state.get_checkpoint(source.id)):
                    self.process_batch(source, batch, summary)
            except IdgateError as exc:
                # one failing source must not stop the others; its checkpoint stays
                summary.source_errors.append("%s: %s" % (source.id, exc))
                self.engine.audit.append("alert.rejected", data={"source_id": source.id,
                                                                 "reason": "source failed: %s" % exc})
        ticked = self.engine.tick()
        summary.executed += ticked["executed"]
        summary.tickets_opened += ticked["tickets_opened"]
        return summary

    def run_forever(self, poll_seconds: float = 60.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        while not should_stop():
            self.run_once()
            deadline = time.monotonic() + poll_seconds
            while time.monotonic() < deadline and not should_stop():
                time.sleep(min(1.0, poll_seconds))

    def process_batch(self, source: AlertSource, batch: Batch, summary: RunSummary) -> None:
        engine = self.engine
        decided: List[Tuple[Alert, List[Dict[str, Any]]]] = []
        platform = source.normalizer.platform
        try:
            with engine.state.transaction():
                for value in batch.records:
                    if isinstance(value, RecordError):
                        engine.reject(source.id, platform, value.message, value.record_id,
                                      "record %s" % value.record, None)
                        summary.dead_letters += 1
                        continue
                    for result, raw in normalize_value(source.normalizer, value):
                        if isinstance(result, RecordError):
                            engine.reject(source.id, platform, result.message, result.record_id,
                                          source.id, raw)
                            summary.dead_letters += 1
                            continue
                        decisions = engine.ingest(result, source.id)
                        if self.on_alert:
                            self.on_alert()
                        if decisions is None:
                            summary.duplicates += 1
                            continue
                        summary.alerts += 1
                        for d in decisions:
                            summary.decisions[d.autonomy] = summary.decisions.get(d.autonomy, 0) + 1
                        decided.append((result, [d.model_dump(mode="json") for d in decisions]))
                        crashpoint("mid_batch")
                engine.save_gate_state()
                engine.state.set_checkpoint(source.id, batch.checkpoint)
        except BaseException:
            # the batch rolled back: so must the in-memory budget counters
            engine.gate_state = GateState.from_dict(engine.state.load_gate_state())
            raise
        crashpoint("after_commit")
        summary.executed += engine.run_pending()
        summary.tickets_opened += engine.open_tickets()
        for alert, decisions in decided:
            self._write_back(source, alert, decisions)

    def _write_back(self, source: AlertSource, alert: Alert, decisions: List[Dict[str, Any]]) -> None:
        if type(source).write_back is AlertSource.write_back:
            return  # this source has nowhere to write
        try:
            source.write_back(alert, decisions)
            self.engine.audit.append("annotation.written", alert_id=alert.id, data={"source_id": source.id})
        except IdgateError as exc:
            self.engine.audit.append("annotation.failed", alert_id=alert.id,
                                     data={"source_id": source.id, "error": str(exc)})

import json
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "samples")
# the fake provider is loaded as an executor plugin by module path
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: Any) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc))


def make_alert(n: int, kind: str = "service_account", action: str = "disable_service_account",
               confidence: Any = 0.95, severity: str = "high", tier: str = "tier1", model: str = "es-ai-triage",
               minute: int = 0, name: str = "") -> Dict[str, Any]:
    return {
        "id": "splunk_es:test-%05d" % n,
        "source": {"platform": "splunk_es", "instance": "es-test", "record_id": "test-%05d" % n},
        "detected_at": (datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc) + timedelta(minutes=minute)).isoformat(),
        "severity": severity,
        "identity": {"kind": kind, "id": "fake:id-%05d" % n, "name": name or "svc-%05d" % n, "provider": "fake",
                     "tier": tier},
        "ai": {"model": model, "score": 0.9, "rationale": "free text"},
        "recommendations": [{"action": action, "confidence": confidence, "rationale": "free text"}],
    }


def write_jsonl(path: str, records: List[Any]) -> str:
    with open(path, "w") as fh:
        for r in records:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


@pytest.fixture
def workdir(tmp_path: Any) -> Any:
    shutil.copy(os.path.join(SAMPLES, "policy.yaml"), tmp_path / "policy.yaml")
    return tmp_path


def write_config(folder: Any, alerts_file: str = "alerts.jsonl", fake: bool = True, **extra: Any) -> str:
    config: Dict[str, Any] = {
        "policy": "policy.yaml",
        "state": "state",
        "sources": [{"id": "test-file", "type": "file", "path": alerts_file, "format": "canonical"}],
        "executors": {"default": "fake", "fake": {"plugin": "fake_provider:executor",
                                                  "db": str(folder / "provider.db")}}
        if fake else {"default": "dry_run"},
        "tickets": {"default": "local"},
        "approvers": {"alice": ["soc-l2"], "bob": ["soc-l2", "soc-lead"], "carol": ["soc-lead"]},
        "batch_size": 50,
    }
    config.update(extra)
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)

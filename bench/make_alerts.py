"""Deterministic canonical alerts for benchmarks, streamed to a file.

    python bench/make_alerts.py N OUT.jsonl [--seed S]

The same N and seed always give the same bytes. Alerts spread over time
(a few per minute) so budgets and the circuit breaker see realistic windows.
"""
import argparse
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator

ACTIONS = ["revoke_sessions", "revoke_oauth_grant", "revoke_token", "disable_access_key",
           "disable_service_account", "suspend_user", "disable_app", "remove_credential",
           "rotate_secret", "notify_owner", "enable_access_key", "unsuspend_user"]
KINDS = ["human", "service_account", "workload", "api_key", "oauth_app", "ai_agent", "bot"]
SEVERITIES = ["informational", "low", "medium", "high", "critical"]
SOURCES = [("splunk_es", "es-ai-triage"), ("sentinel", "security-copilot"),
           ("elastic", "elastic-ai-assistant"), ("crowdstrike", "charlotte-ai"),
           ("secops", "gemini-in-secops"), ("qradar", "qradar-advisor")]
PROVIDERS = ["okta", "entra", "aws", "github", "gcp", "vault"]
NAMES = ["svc-backup", "svc-ci-deploy", "svc-etl", "payments-api", "deploy-bot", "breakglass-01",
         "mailsync-app", "hr-agent", "alice", "bob", "svc-terraform", "release-bot"]
TIERS = ["tier0", "tier1", "tier2", None]
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def alerts(n: int, seed: int = 7) -> Iterator[Dict[str, Any]]:
    rnd = random.Random(seed)
    t = T0
    for i in range(n):
        t += timedelta(seconds=rnd.randint(0, 40))
        platform, model = SOURCES[rnd.randrange(len(SOURCES))]
        kind = KINDS[rnd.randrange(len(KINDS))]
        provider = PROVIDERS[rnd.randrange(len(PROVIDERS))]
        name = NAMES[rnd.randrange(len(NAMES))]
        ident_id = "%s:%08x" % (provider, rnd.getrandbits(32))
        score = None if rnd.random() < 0.05 else round(rnd.random(), 3)
        recs = []
        for _ in range(rnd.choice((1, 1, 1, 2))):
            action = ACTIONS[rnd.randrange(len(ACTIONS))]
            conf = None if rnd.random() < 0.3 else round(rnd.random() ** 0.5, 3)
            params: Dict[str, Any] = {}
            if action.endswith("access_key"):
                params["access_key_id"] = "AKIA%012X" % rnd.getrandbits(48)
            recs.append({"action": action, "params": params, "confidence": conf,
                         "rationale": "model says so (%d)" % i})
        yield {
            "id": "%s:%d" % (platform, i),
            "source": {"platform": platform, "instance": "%s-prod" % platform, "record_id": str(i)},
            "detected_at": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rule": {"id": "rule-%d" % rnd.randrange(60), "name": "Identity - suspicious activity"},
            "severity": SEVERITIES[rnd.randrange(5)],
            "identity": {"kind": kind, "id": ident_id, "name": name, "provider": provider,
                         "tier": TIERS[rnd.randrange(4)], "owner": "team-%d" % rnd.randrange(12),
                         "tags": rnd.sample(["prod", "ci", "pci", "crown-jewel", "dev"], rnd.randrange(3))},
            "ai": {"model": model, "model_version": "2026.10", "score": score,
                   "verdict": "true_positive", "rationale": "free text"},
            "recommendations": recs,
            "raw": {},
        }


def write(n: int, path: str, seed: int = 7) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for a in alerts(n, seed):
            fh.write(json.dumps(a, separators=(",", ":")))
            fh.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    write(args.n, args.out, args.seed)


if __name__ == "__main__":
    main()

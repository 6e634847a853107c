"""The mapping config inside Splunk: every saved version kept in the KV
store with who saved it and when; ``current`` drives decisions, ``draft`` is
what an admin tries with ``| idgate policy=draft`` before promoting it."""
import hashlib
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from idgate.audit import AuditTrail
from idgate.errors import ConfigError, IdgateError
from idgate.policy import Policy, policy_from_text
from idgate.policy.lint import lint
from idgate.state.kvstore import KVStoreState

KINDS = ("current", "draft")


def check(text: str, kind: str = "current") -> Dict[str, Any]:
    """Validate and lint, exactly as ``idgate policy validate|lint`` do.
    Raises ConfigError with the CLI's one-line ``file:line: key: message``."""
    if kind not in KINDS:
        raise IdgateError("policy kind must be current or draft, not %r" % kind)
    if not (text or "").strip():
        raise ConfigError("the policy is empty (start with version: 1)", "policy/%s" % kind, 1)
    policy = policy_from_text(text, "policy/%s" % kind)
    return {"policy": policy, "findings": [f.to_dict() for f in lint(policy)]}


class PolicyStore:
    def __init__(self, state: KVStoreState):
        self.state = state

    def save(self, kind: str, text: str, user: str, comment: str = "") -> Dict[str, Any]:
        checked = check(text, kind)
        policy: Policy = checked["policy"]
        with self.state.transaction():
            number = len(self.state._select("policies", {"kind": kind})) + 1
            now = datetime.now(timezone.utc).isoformat()
            doc = {"kind": kind, "number": number, "order": "%012d" % number, "saved_by": user, "saved_at": now,
                   "policy_version": policy.version, "comment": comment, "text": text,
                   "findings": checked["findings"]}
            key = "%s-%06d-%s" % (kind, number, hashlib.sha256(text.encode("utf-8")).hexdigest()[:12])
            self.state._write("policies", key, dict(doc))
            AuditTrail(self.state).append("policy.saved", actor=user, data={
                "kind": kind, "number": number, "policy_version": policy.version, "comment": comment,
                "findings": len(checked["findings"])})
        doc["_key"] = key
        return doc

    def history(self, kind: Optional[str] = None) -> List[Dict[str, Any]]:
        docs = self.state._select("policies", {"kind": kind} if kind else {}, sort="kind,order")
        return [{k: v for k, v in d.items() if not k.startswith("_")} for d in docs]

    def latest(self, kind: str) -> Optional[Dict[str, Any]]:
        docs = self.history(kind)
        return docs[-1] if docs else None

    def load(self, kind: str = "current") -> Policy:
        if kind not in KINDS:
            raise IdgateError("policy must be current or draft, not %r" % kind)
        doc = self.latest(kind)
        if doc is None:
            raise IdgateError("no %s policy saved yet: save one on the idgate Configuration page (Policy tab)"
                              % kind)
        return policy_from_text(doc["text"], "policy/%s#%d" % (kind, doc["number"]))

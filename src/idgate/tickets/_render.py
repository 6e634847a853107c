"""What a review ticket says, the same in every ticket system: the alert,
the AI's recommendation and score, the AI's rationale quoted as untrusted
text, the matched rule, the caps, and exactly what runs on approval."""
import hashlib
import json
import re
from typing import Any, Dict, List, Optional, Tuple

from ..errors import IdgateError
from ..secrets import redact

MAX_UNTRUSTED = 2000
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def correlation_key(request_id: str) -> str:
    """A label/correlation value that any ticket system accepts and no query
    language can be tricked by: the id itself when it is plain, else a hash."""
    if not request_id:
        raise IdgateError("a review request needs a request_id")
    if _SAFE_ID.fullmatch(request_id):
        return "idgate-" + request_id
    return "idgate-h" + hashlib.sha256(request_id.encode()).hexdigest()[:32]


def untrusted(text: Any) -> str:
    """Free text from the AI or the alert: no control characters, bounded."""
    if text is None:
        return ""
    text = _CONTROL.sub(" ", str(text))
    if len(text) > MAX_UNTRUSTED:
        text = text[:MAX_UNTRUSTED] + " [... truncated]"
    return redact(text)


def _decision(request: Dict[str, Any]) -> Dict[str, Any]:
    # the decision nested under "decision", or flat on the stored request
    return request.get("decision") or request


def summary(request: Dict[str, Any]) -> str:
    decision = _decision(request)
    alert = request.get("alert") or {}
    target = (decision.get("target") or {}).get("id") or "?"
    return redact(untrusted("idgate review: %s on %s (%s)" % (
        decision.get("action", "?"), target, alert.get("severity") or "unknown severity")))[:250]


def sections(request: Dict[str, Any]) -> List[Tuple[str, str, str]]:
    """(heading, kind, text) where kind is text | code | untrusted."""
    decision = _decision(request)
    alert = request.get("alert") or {}
    ai = alert.get("ai") or {}
    identity = alert.get("identity") or {}
    caps = decision.get("caps") or []
    rule = alert.get("rule") or {}
    out = [
        ("What will run on approval", "code", str(request.get("will_run") or "(not stated)")),
        ("Recommendation", "text", "%s on %s, params %s" % (
            decision.get("action"), json.dumps(decision.get("target"), sort_keys=True),
            json.dumps(decision.get("params") or {}, sort_keys=True))),
        ("Decision", "text", "autonomy %s by rule %s (policy %s); confidence %s; AI source %s" % (
            decision.get("autonomy"), decision.get("rule_id") or "(no rule matched)",
            str(decision.get("policy_version") or "?")[:16], _score(decision.get("confidence")),
            decision.get("ai_source") or "?")),
        ("Caps applied", "text", "; ".join("%s: %s" % (c.get("invariant"), c.get("reason")) for c in caps)
         or "none"),
        ("Alert", "text", "%s, severity %s, identity %s (%s, %s), detection rule %s" % (
            alert.get("id"), alert.get("severity"), identity.get("name") or identity.get("id"),
            identity.get("kind"), identity.get("tier") or "tier unknown", rule.get("id") or "?")),
        ("AI assessment", "text", "model %s, score %s" % (ai.get("model") or "?", _score(ai.get("score")))),
        ("AI rationale (untrusted text from the AI, quoted; do not follow instructions in it)",
         "untrusted", untrusted(ai.get("rationale")) or "(none)"),
        ("Approval", "text", "approval binds to digest %s; expires %s. Approve or deny in this ticket, "
                             "or with `idgate approve %s --as YOU` / `idgate deny %s`." % (
                                 request.get("digest"), request.get("expires_at") or "never",
                                 request.get("request_id"), request.get("request_id"))),
    ]
    return [(heading, kind, redact(text)) for heading, kind, text in out]


def plain_text(request: Dict[str, Any]) -> str:
    lines: List[str] = []
    for heading, kind, text in sections(request):
        lines.append("== %s ==" % heading)
        if kind == "untrusted":
            lines.extend("> " + line for line in text.splitlines() or [""])
        else:
            lines.append(text)
        lines.append("")
    return "\n".join(lines)


def _score(value: Optional[float]) -> str:
    return "%.2f" % value if isinstance(value, (int, float)) else "not scored"


def outcome_text(outcome: str) -> str:
    return redact("idgate: review request outcome: %s" % untrusted(outcome)[:200])

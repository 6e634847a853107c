"""Helpers shared by the platform connectors (config, write-back text)."""
import time
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import urlsplit

from ..errors import ConfigError, IdgateError
from ..model import AUTONOMY_RANK
from ..policy.durations import seconds as parse_duration
from ..secrets import redact


def required(config: Dict[str, Any], key: str, source_id: str) -> Any:
    value = config.get(key)
    if value in (None, ""):
        raise ConfigError("source %s: %s is required" % (source_id, key), key=key)
    return value


def seconds(config: Dict[str, Any], key: str, default: float) -> float:
    value = config.get(key)
    if value is None:
        return float(default)
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text.isdigit():
        return float(text)
    total = parse_duration(text)
    if not total and not text.startswith("0"):
        raise ConfigError("%s: %r is not a duration (e.g. 300s, 5m, 24h)" % (key, value), key=key)
    return float(total)


def secret(config: Dict[str, Any], key: str, secrets_module: Any, source_id: str) -> Optional[str]:
    ref = config.get(key)
    if ref is None:
        return None
    return secrets_module.resolve(ref, "source %s: %s" % (source_id, key))


def tls_verify(config: Dict[str, Any]) -> Union[bool, str]:
    value = config.get("verify", True)
    return value if isinstance(value, (bool, str)) else bool(value)


def host_port(url: str, default_port: int) -> Tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("url %r must be http(s)://host[:port]" % url, key="url")
    return parts.scheme, parts.hostname, parts.port or default_port


def strongest(decisions: List[Dict[str, Any]]) -> Optional[str]:
    levels = [d.get("autonomy") for d in decisions if d.get("autonomy") in AUTONOMY_RANK]
    return max(levels, key=lambda a: AUTONOMY_RANK[a]) if levels else None


def decision_comment(decisions: List[Dict[str, Any]], limit: int = 4000) -> str:
    """What an analyst reads in the SIEM: per recommendation, the action,
    the target, the autonomy, the rule and policy version, the ticket."""
    lines = ["idgate decision%s:" % ("s" if len(decisions) != 1 else "")]
    for d in decisions:
        target = d.get("target") or {}
        parts = ["%s on %s: %s" % (d.get("action"), target.get("id", "?"), str(d.get("autonomy", "?")).upper())]
        parts.append("rule %s" % (d.get("rule_id") or "none (default)"))
        if d.get("policy_version"):
            parts.append("policy %s" % str(d["policy_version"])[:12])
        if d.get("ticket"):
            parts.append("ticket %s" % d["ticket"])
        caps = [c.get("invariant") for c in d.get("caps") or [] if isinstance(c, dict)]
        if caps:
            parts.append("capped by %s" % ", ".join(str(c) for c in caps))
        if d.get("error"):
            parts.append("error: %s" % d["error"])
        lines.append("- " + "; ".join(parts) + " [%s]" % d.get("decision_id", ""))
    return redact("\n".join(lines))[:limit]


def now() -> float:
    return time.time()


def json_object(response: Any, platform: str, what: str) -> Dict[str, Any]:
    """A platform's answer as a JSON object, or one clear error saying what
    came instead (an HTML login page from a proxy is the usual surprise)."""
    try:
        data = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "")
        raise IdgateError("%s: the %s answer is not JSON (%s)" % (
            platform, what,
            "an HTML page" if "html" in kind or response.text.lstrip().startswith("<") else kind or "no type"))
    if not isinstance(data, dict):
        raise IdgateError("%s: the %s answer is not a JSON object" % (platform, what))
    return data

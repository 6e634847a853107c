"""Secret references (``env:NAME``, ``file:PATH``, ``splunk:REALM:NAME``).

Config holds references, never values. Every value resolved here is also
registered, so ``redact`` can scrub it from any text before that text reaches
a log, an audit record, a ticket or an error message.
"""
import logging
import os
import threading
from typing import Callable, Dict, Optional, Set

from .errors import ConfigError

_lock = threading.Lock()
_known: Set[str] = set()
MASK = "***"
# inside Splunk the app installs a resolver for splunk:REALM:NAME
_resolvers: Dict[str, Callable[[str], str]] = {}


def register(value: Optional[str]) -> None:
    """Treat ``value`` as a secret from now on (tokens fetched at run time)."""
    if value and len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    if not text or not _known:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def add_resolver(scheme: str, resolver: Callable[[str], str]) -> None:
    _resolvers[scheme] = resolver


def is_reference(value: object) -> bool:
    return isinstance(value, str) and value.split(":", 1)[0] in ("env", "file", *_resolvers) and ":" in value


def resolve(ref: Optional[str], what: str = "secret") -> Optional[str]:
    """The value behind a reference. A plain string is refused: secrets must
    not be written into config files."""
    if ref is None:
        return None
    if not isinstance(ref, str) or ":" not in ref:
        raise ConfigError("%s must be a reference (env:NAME or file:PATH), not a value" % what)
    scheme, rest = ref.split(":", 1)
    if scheme == "env":
        value = os.environ.get(rest)
        if value is None:
            raise ConfigError("%s: environment variable %s is not set" % (what, rest))
    elif scheme == "file":
        try:
            with open(rest, encoding="utf-8") as fh:
                value = fh.read().strip()
        except OSError as exc:
            raise ConfigError("%s: cannot read %s (%s)" % (what, rest, exc.strerror)) from None
    elif scheme in _resolvers:
        value = _resolvers[scheme](rest)
    else:
        raise ConfigError("%s: unknown reference scheme %r (use env: or file:)" % (what, scheme))
    register(value)
    return value


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from every record that passes a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _known:
            record.msg = redact(record.getMessage())
            record.args = ()
        return True


def install_log_redaction(logger: Optional[logging.Logger] = None) -> None:
    target = logger or logging.getLogger()
    for handler in target.handlers or []:
        handler.addFilter(RedactingFilter())
    target.addFilter(RedactingFilter())

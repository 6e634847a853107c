"""Sources: pull platform records and normalise them to canonical alerts.

One module per platform (``idgate.sources.<platform>``) exposing
``normalizer(overrides=None) -> Normalizer`` and, where it can pull from the
platform's API, ``source(config, secrets) -> AlertSource``. Adding a SIEM is
one module here plus its field mapping under ``connectors/<platform>/``.
"""
import importlib
import pkgutil
from typing import Any, Dict, List, Optional

from ..errors import IdgateError
from .base import AlertSource, Batch, Normalizer

__all__ = ["AlertSource", "Batch", "Normalizer", "get_normalizer", "platforms", "get_source_factory"]

_NOT_PLATFORMS = {"base", "file", "mapping"}


def platforms() -> List[str]:
    names = []
    for info in pkgutil.iter_modules(__path__):  # type: ignore[name-defined]
        if info.name.startswith("_") or info.name in _NOT_PLATFORMS:
            continue
        names.append(info.name)
    return sorted(names)


def _module(platform: str) -> Any:
    if platform not in platforms():
        raise IdgateError("unknown platform %r (known: %s)" % (platform, ", ".join(platforms())))
    return importlib.import_module("%s.%s" % (__name__, platform))


def get_normalizer(platform: str, overrides: Optional[Dict[str, Any]] = None) -> Normalizer:
    return _module(platform).normalizer(overrides)


def get_source_factory(kind: str) -> Any:
    if kind == "file":
        from .file import source
        return source
    module = _module(kind)
    factory = getattr(module, "source", None)
    if factory is None:
        raise IdgateError("platform %r can be normalised but not pulled; use a file source" % kind)
    return factory

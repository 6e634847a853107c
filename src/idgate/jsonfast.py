"""orjson when installed (much faster on big replays), the stdlib otherwise.

The Splunk app may ship without compiled extras, so orjson stays optional.
"""
import json
from typing import Any

try:  # pragma: no cover - depends on the environment
    import orjson as _orjson

    def loads(data: Any) -> Any:
        return _orjson.loads(data)

    def dumps(obj: Any) -> str:
        return _orjson.dumps(obj, default=_default).decode()

    def dumpb(obj: Any) -> bytes:
        return _orjson.dumps(obj, default=_default)

    DecodeError: Any = (_orjson.JSONDecodeError, ValueError)
except ImportError:  # pragma: no cover
    def loads(data: Any) -> Any:
        return json.loads(data)

    def dumps(obj: Any) -> str:
        return json.dumps(obj, default=_default, separators=(",", ":"), ensure_ascii=False)

    def dumpb(obj: Any) -> bytes:
        return dumps(obj).encode()

    DecodeError = ValueError


def _default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError("cannot serialise %s" % type(obj).__name__)

"""Input files → canonical alerts, record by record.

Every record comes out either as an ``Alert`` or as a ``RecordError`` naming
it; one bad record never stops the rest.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Tuple, Union

from .errors import RecordError
from .inputs import read_records
from .model import Alert
from .secrets import redact
from .sources import get_normalizer
from .sources.base import Normalizer


@dataclass
class Item:
    file: str
    record: int                       # line (or array position) in the file
    alert: Optional[Alert] = None
    error: Optional[RecordError] = None
    raw: Any = None                   # the platform record (for dead letters)

    def where(self) -> str:
        rid = self.error.record_id if self.error is not None else None
        return "%s record %d%s" % (self.file, self.record, " (%s)" % rid if rid else "")

    def error_line(self, platform: str = "canonical") -> Dict[str, Any]:
        assert self.error is not None
        return {"error": redact(self.error.message), "file": self.file, "record": self.record,
                "record_id": self.error.record_id, "platform": platform}


def normalize_value(normalizer: Normalizer, value: Any) -> Iterator[Tuple[Union[Alert, RecordError], Any]]:
    """(alert or RecordError, platform record) for each record in one parsed input value."""
    if type(normalizer).records is Normalizer.records:
        # one value is one record (canonical input): the common, hot case
        yield _normalize_one(normalizer, value), value
        return
    try:
        records = list(normalizer.records(value))
    except RecordError as exc:
        yield exc, value
        return
    except Exception as exc:  # a normaliser bug must not lose the batch
        yield RecordError("cannot read this %s record: %s" % (normalizer.platform, _brief(exc))), value
        return
    for record in records:
        yield _normalize_one(normalizer, record), record


def _normalize_one(normalizer: Normalizer, record: Any) -> Union[Alert, RecordError]:
    try:
        return normalizer.normalize(record)
    except RecordError as exc:
        if exc.record_id is None:
            exc.record_id = _safe_id(normalizer, record)
        return exc
    except Exception as exc:
        return RecordError("cannot normalise this %s record: %s" % (normalizer.platform, _brief(exc)),
                           record_id=_safe_id(normalizer, record))


def iter_items(paths: Iterable[str], platform: str = "canonical",
               overrides: Optional[Dict[str, Any]] = None,
               progress: Optional[Callable[[int], None]] = None) -> Iterator[Item]:
    normalizer = get_normalizer(platform, overrides)
    # platforms with their own file formats (Splunk XML results, CSV exports)
    read_file = getattr(normalizer, "read_file", None)
    for path in paths:
        records = (read_file(path, progress) if read_file and path != "-" else None) or read_records(path, progress)
        for rec in records:
            if not rec.ok:
                yield Item(path, rec.number, error=rec.value)
                continue
            for result, raw in normalize_value(normalizer, rec.value):
                if isinstance(result, RecordError):
                    yield Item(path, rec.number, error=result, raw=raw)
                else:
                    yield Item(path, rec.number, alert=result, raw=raw)


def _safe_id(normalizer: Normalizer, record: Any) -> Optional[str]:
    try:
        return normalizer.record_id(record)
    except Exception:
        return None


def _brief(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return "%s%s" % (type(exc).__name__, ": " + text[:160] if text else "")

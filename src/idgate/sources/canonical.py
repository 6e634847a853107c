"""Canonical alerts as input (``--from canonical``, the default)."""
from typing import Any, Optional

from pydantic import ValidationError

from ..errors import RecordError
from ..model import Alert
from ..validation import one_line
from .base import Normalizer


class CanonicalNormalizer(Normalizer):
    platform = "canonical"

    def normalize(self, record: Any) -> Alert:
        if not isinstance(record, dict):
            raise RecordError("expected a JSON object, got %s" % type(record).__name__)
        try:
            return Alert.model_validate(record)
        except ValidationError as exc:
            raise RecordError(one_line(exc, record), record_id=self.record_id(record)) from None

    def record_id(self, record: Any) -> Optional[str]:
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            return record["id"]
        return None


def normalizer(overrides: Any = None) -> Normalizer:
    return CanonicalNormalizer()

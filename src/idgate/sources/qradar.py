"""IBM QRadar offenses (``/api/siem/offenses``)."""
from typing import Any, Dict, Iterator, Optional

from .mapping import MappedNormalizer


class QRadarNormalizer(MappedNormalizer):
    platform = "qradar"

    def records(self, value: Any) -> Iterator[Any]:
        # the offenses API answers with a bare array
        if isinstance(value, list):
            yield from value
        else:
            yield value


def normalizer(overrides: Optional[Dict[str, Any]] = None) -> QRadarNormalizer:
    return QRadarNormalizer(overrides)

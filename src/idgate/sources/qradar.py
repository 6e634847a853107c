"""IBM QRadar offenses (``/api/siem/offenses``)."""
from typing import Any, Dict, Optional

from .mapping import MappedNormalizer


class QRadarNormalizer(MappedNormalizer):
    platform = "qradar"

    # the offenses API answers with a bare array: the default records() flattens it


def normalizer(overrides: Optional[Dict[str, Any]] = None) -> QRadarNormalizer:
    return QRadarNormalizer(overrides)

"""CrowdStrike Falcon alerts (Alerts API v2: ``/alerts/entities/alerts/v2``)."""
from typing import Any, Dict, Iterator, Optional

from ..errors import RecordError
from .mapping import MappedNormalizer


class CrowdStrikeNormalizer(MappedNormalizer):
    platform = "crowdstrike"

    def unwrap(self, value: Dict[str, Any]) -> Iterator[Any]:
        if "resources" in value and ("meta" in value or "errors" in value):
            errors = value.get("errors") or []
            if errors and not value.get("resources"):
                first = errors[0] if isinstance(errors[0], dict) else {"message": errors[0]}
                raise RecordError("crowdstrike API error %s: %s" % (first.get("code", ""), first.get("message", "")))
            yield from value.get("resources") or []
        else:
            yield value


def normalizer(overrides: Optional[Dict[str, Any]] = None) -> CrowdStrikeNormalizer:
    return CrowdStrikeNormalizer(overrides)

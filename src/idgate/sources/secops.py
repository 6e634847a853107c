"""Google SecOps (Chronicle): Detection Engine detections and legacy alerts."""
from typing import Any, Dict, Iterator, Optional

from .mapping import MappedNormalizer

_DETECTION_LISTS = ("curatedRuleDetections", "detections", "ruleDetections")


class SecOpsNormalizer(MappedNormalizer):
    platform = "secops"

    def unwrap(self, value: Dict[str, Any]) -> Iterator[Any]:
        wrapped = False
        for key in _DETECTION_LISTS:
            if isinstance(value.get(key), list):
                wrapped = True
                yield from value[key]
        # legacy ListAlerts: one record per alertInfo, with its asset or user
        for key, subject in (("alerts", "asset"), ("userAlerts", "user")):
            if isinstance(value.get(key), list):
                wrapped = True
                for group in value[key]:
                    if not isinstance(group, dict):
                        continue
                    for info in group.get("alertInfos") or []:
                        if isinstance(info, dict):
                            record = dict(info)
                            record[subject] = group.get(subject)
                            yield record
        if not wrapped:
            yield value


def normalizer(overrides: Optional[Dict[str, Any]] = None) -> SecOpsNormalizer:
    return SecOpsNormalizer(overrides)

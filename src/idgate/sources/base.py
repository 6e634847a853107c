"""The small interfaces every platform implements."""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

from ..model import Alert


class Normalizer(ABC):
    """Platform records → canonical alerts. Pure: no I/O."""

    platform: str = ""

    def records(self, value: Any) -> Iterator[Any]:
        """The platform records inside one parsed input value: unwraps API
        envelopes (``{"value": [...]}``, ``{"resources": [...]}``, export
        lines) and skips non-records (previews, messages). Default: as is."""
        yield value

    @abstractmethod
    def normalize(self, record: Any) -> Alert:
        """One platform record → a canonical alert. Raises ``RecordError``
        (with the platform's record id where it has one) when it cannot."""

    def record_id(self, record: Any) -> Optional[str]:
        return None

    def read_file(self, path: str, progress: Any = None) -> Optional[Iterator[Any]]:
        """Records of a file in a format that is not JSON (Splunk XML
        results, a Log Analytics CSV export), as ``idgate.inputs.Record``
        objects; None when the file is JSON and the default reader applies.
        Default: None."""
        return None


@dataclass
class Batch:
    """Records pulled together. ``checkpoint`` is stored only after every
    record of the batch has a durable decision (or dead letter)."""

    records: List[Any]
    checkpoint: Dict[str, Any] = field(default_factory=dict)


class AlertSource(ABC):
    """A configured source of the run config (``sources:``)."""

    def __init__(self, source_id: str, normalizer: Normalizer):
        self.id = source_id
        self.normalizer = normalizer

    @abstractmethod
    def pull(self, checkpoint: Optional[Dict[str, Any]]) -> Iterator[Batch]:
        """Batches newer than ``checkpoint`` (None: from the configured start)."""

    def write_back(self, alert: Alert, decisions: List[Dict[str, Any]]) -> None:
        """Show idgate's decisions where analysts look (notable comment,
        incident comment, alert tags). Default: nothing."""

    def close(self) -> None:
        pass

"""A file of platform records (JSON lines or an array) as a source: for
replays, exports dropped by another tool, and the demo. The checkpoint is
the number of input values already consumed."""
import os
from typing import Any, Dict, Iterator, List, Optional

from ..errors import ConfigError
from ..inputs import read_records
from . import get_normalizer
from .base import AlertSource, Batch, Normalizer


class FileSource(AlertSource):
    def __init__(self, source_id: str, path: str, normalizer: Normalizer, batch_size: int = 500):
        super().__init__(source_id, normalizer)
        self.path, self.batch_size = path, batch_size

    def pull(self, checkpoint: Optional[Dict[str, Any]]) -> Iterator[Batch]:
        done = int((checkpoint or {}).get("records", 0))
        if not os.path.exists(self.path):
            raise ConfigError("source %s: no such file %s" % (self.id, self.path))
        batch: List[Any] = []
        position = 0
        for record in read_records(self.path):
            position += 1
            if position <= done:
                continue
            # a record that is not JSON stays in the batch as its RecordError
            batch.append(record.value)
            if len(batch) >= self.batch_size:
                yield Batch(batch, {"records": position, "path": self.path})
                batch = []
        if batch:
            yield Batch(batch, {"records": position, "path": self.path})


def source(config: Dict[str, Any], secrets: Any = None) -> AlertSource:
    path = config.get("path")
    if not path:
        raise ConfigError("source %s: a file source needs path:" % config.get("id"))
    base = config.get("base_dir") or ""
    if base and not os.path.isabs(path):
        path = os.path.normpath(os.path.join(base, path))
    fmt = config.get("format", "canonical")
    return FileSource(config["id"], path, get_normalizer(fmt, config.get("mapping")),
                      int(config.get("batch_size") or 500))

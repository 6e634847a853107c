"""Small things several commands share."""
import os
import sys
import time
from typing import Any, Iterable, List, Optional, Sequence, TextIO

from .. import jsonfast
from ..inputs import file_size

DEFAULT_STATE = ".idgate"


def add_state_arg(parser: Any) -> None:
    parser.add_argument("--state", metavar="DIR", default=None,
                        help="state folder (default $IDGATE_STATE or .idgate/)")


def state_dir(args: Any) -> str:
    return getattr(args, "state", None) or os.environ.get("IDGATE_STATE") or DEFAULT_STATE


def write_json_line(obj: Any, out: Optional[TextIO] = None) -> None:
    out = out or sys.stdout  # looked up per call: callers may redirect stdout
    out.write(jsonfast.dumps(obj))
    out.write("\n")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], out: Optional[TextIO] = None) -> None:
    out = out or sys.stdout
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


class Progress:
    """A progress bar on stderr for long inputs; silent when stderr is not a
    terminal (pipes, CI) unless forced."""

    def __init__(self, paths: Iterable[str], enabled: Optional[bool] = None, label: str = "reading"):
        sizes = [file_size(p) for p in paths]
        self.total = sum(s for s in sizes if s) if all(sizes) else None
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.done = 0
        self.items = 0
        self.label = label
        self.start = time.monotonic()
        self._last = 0.0

    def bytes_read(self, n: int) -> None:
        self.done += n

    def item(self) -> None:
        self.items += 1
        if self.enabled and self.items % 2048 == 0:
            now = time.monotonic()
            if now - self._last > 0.2:
                self._last = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.items / max(now - self.start, 1e-9)
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            eta = (now - self.start) * (1 - frac) / frac if frac > 0 else 0
            text = "\r%s [%-30s] %3d%%  %s alerts  %.0f/s  eta %ds" % (
                self.label, bar, frac * 100, format(self.items, ","), rate, eta)
        else:
            text = "\r%s %s alerts  %.0f/s" % (self.label, format(self.items, ","), rate)
        sys.stderr.write(text)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.items >= 2048:
            self._draw(time.monotonic())
            sys.stderr.write("\n")


def plural(n: int, word: str) -> str:
    return "%s %s%s" % (format(n, ","), word, "" if n == 1 else "s")


def paths_or_stdin(paths: List[str]) -> List[str]:
    return paths or ["-"]

"""Read records from a file or stdin: JSON lines, a JSON array, one JSON
object, or pretty-printed objects back to back (Kibana's es_archiver files).

Records stream one at a time so a million-line replay stays flat in memory.
A record that is not JSON is yielded as a ``RecordError`` in its place; the
reader goes on with the next one.
"""
import io
import os
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterator, Optional, Union

from . import jsonfast
from .errors import IdgateError, RecordError


@dataclass
class Record:
    number: int          # line number of the record's start (1-based), or array index + 1
    value: Any           # the parsed JSON, or a RecordError
    source: str = ""     # file name, or "-" for stdin

    @property
    def ok(self) -> bool:
        return not isinstance(self.value, RecordError)


def open_input(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise IdgateError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise IdgateError("%s: is a folder, not a file" % path) from None
    except OSError as exc:
        raise IdgateError("%s: cannot read: %s" % (path, exc.strerror)) from None


def read_records(path: str, progress: Optional[Callable[[int], None]] = None) -> Iterator[Record]:
    """Records of ``path`` ("-" for stdin). ``progress`` gets bytes read."""
    fh = open_input(path)
    try:
        yield from iter_records(fh, path, progress)
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


def iter_records(fh: Union[BinaryIO, io.BufferedReader], name: str = "-",
                 progress: Optional[Callable[[int], None]] = None) -> Iterator[Record]:
    first = _peek_first_char(fh)
    if first == b"[":
        data = fh.read()
        if progress:
            progress(len(data))
        try:
            items = jsonfast.loads(data)
        except jsonfast.DecodeError as exc:
            raise IdgateError("%s: not valid JSON: %s" % (name, _short(exc))) from None
        for i, item in enumerate(items):
            yield Record(i + 1, item, name)
        return
    yield from _lines(fh, name, progress)


def _peek_first_char(fh: Any) -> bytes:
    peek = getattr(fh, "peek", None)
    if peek is None:
        return b""
    head = peek(4096)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped[:1]


def _lines(fh: Any, name: str, progress: Optional[Callable[[int], None]]) -> Iterator[Record]:
    buffer, start = b"", 0
    for number, line in enumerate(fh, 1):
        if progress:
            progress(len(line))
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if not buffer:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped[:1] in b"{[\"" and stripped[-1:] in b"}]\"":
                try:
                    yield Record(number, jsonfast.loads(stripped), name)
                except jsonfast.DecodeError as exc:
                    if stripped == b"{" or stripped.endswith(b"{") or stripped.endswith(b"["):
                        buffer, start = line, number
                    else:
                        yield Record(number, RecordError("not valid JSON: %s" % _short(exc), number), name)
                continue
            if stripped[:1] == b"{" and not stripped.endswith(b"}"):
                buffer, start = line, number  # a pretty-printed object begins
                continue
            yield Record(number, RecordError("not a JSON object", number), name)
            continue
        # inside a multi-line object: a new top-level "{" means the last one was broken
        if line[:1] == b"{" and buffer:
            yield Record(start, RecordError("incomplete JSON object", start), name)
            buffer = b""
            stripped = line.strip()
            if stripped.endswith(b"}"):
                try:
                    yield Record(number, jsonfast.loads(stripped), name)
                except jsonfast.DecodeError as exc:
                    yield Record(number, RecordError("not valid JSON: %s" % _short(exc), number), name)
            else:
                buffer, start = line, number
            continue
        buffer += line
        if line[:1] == b"}":
            try:
                value = jsonfast.loads(buffer)
            except jsonfast.DecodeError:
                continue
            yield Record(start, value, name)
            buffer = b""
    if buffer.strip():
        try:
            yield Record(start, jsonfast.loads(buffer), name)
        except jsonfast.DecodeError as exc:
            yield Record(start, RecordError("incomplete JSON: %s" % _short(exc), start), name)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def file_size(path: str) -> Optional[int]:
    if path == "-":
        return None
    try:
        return os.path.getsize(path)
    except OSError:
        return None

"""Readers for what platforms send that is not one JSON value per record.

- ``SplunkStream``: Splunk's ``search/v2/jobs/export?output_mode=json``
  stream (also ``results?output_mode=json`` and ``json_rows`` bodies), read
  line by line as it arrives: BOM, preview batches (only final rows count),
  ``lastrow``, ``messages`` lines, multivalue fields (arrays, kept as lists).
- ``iter_splunk_xml``: Splunk XML results, several ``<results>`` roots back
  to back (export streams, streaming results).
- ``iter_csv``: a CSV export (Log Analytics tables), multiline quoted cells.

``sniff`` tells which reader a file needs from its first bytes.
"""
import csv
import io
import re
import xml.etree.ElementTree as ET
from typing import Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from .. import jsonfast
from ..errors import IdgateError, RecordError
from ..inputs import Record, open_input

BOM = b"\xef\xbb\xbf"
CHUNK = 256 * 1024


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines of a byte stream, as chunks arrive (faster than requests'
    ``iter_lines``: one ``split`` per chunk, no per-line generator hop)."""
    rest = b""
    for chunk in chunks:
        if not chunk:
            continue
        if rest:
            chunk = rest + chunk
        lines = chunk.split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


class SplunkStream:
    """Final result rows of a Splunk JSON results stream.

    Iterating yields result dicts. ``messages`` collects (type, text) of
    message lines; ``previews`` counts skipped preview rows; ``complete`` is
    True once a final row with ``lastrow`` (or a final results body) was seen.
    Lines that are not JSON raise ``IdgateError`` naming the source and line
    (an HTML error page in place of the stream, a proxy's text).
    """

    _PREVIEW_PREFIX = b'{"preview":true'

    def __init__(self, lines: Iterable[bytes], source: str = "splunk"):
        self.lines, self.source = lines, source
        self.messages: List[Tuple[str, str]] = []
        self.previews = 0
        self.rows = 0
        self.complete = False
        self.line_number = 0

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        loads, decode_error = jsonfast.loads, jsonfast.DecodeError
        preview_prefix = self._PREVIEW_PREFIX
        number = 0
        for line in self.lines:
            number += 1
            if number == 1 and line.startswith(BOM):
                line = line[len(BOM):]
            # preview rows are replaced by the final ones: skip them unparsed
            if line.startswith(preview_prefix):
                self.previews += 1
                continue
            line = line.strip()
            if not line:
                continue
            try:
                value = loads(line)
            except decode_error:
                self.line_number = number
                raise IdgateError("%s: line %d of the results stream is not JSON: %s"
                                  % (self.source, number, _describe(line))) from None
            # the common case inline: one final row per line (export, output_mode=json)
            row = value.get("result") if type(value) is dict else None
            if type(row) is dict and "messages" not in value:
                if value.get("preview") is True:
                    self.previews += 1
                    continue
                self.rows += 1
                yield row
                if value.get("lastrow"):
                    self.complete = True
                continue
            if not isinstance(value, dict):
                if isinstance(value, list):  # Splunk 4: a bare array of rows
                    for row in value:
                        if isinstance(row, dict):
                            self.rows += 1
                            yield row
                    self.complete = True
                continue
            yield from self._value(value)
        self.line_number = number

    def _value(self, value: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
        for msg in value.get("messages") or ():
            if isinstance(msg, dict):
                self.messages.append((str(msg.get("type", "")), str(msg.get("text", ""))))
        preview = value.get("preview") is True
        if "result" in value:
            if preview:
                self.previews += 1
                return
            row = value["result"]
            if isinstance(row, dict):
                self.rows += 1
                yield row
            if value.get("lastrow"):
                self.complete = True
            return
        if "results" in value and isinstance(value["results"], list):
            if preview:
                self.previews += len(value["results"])
                return
            for row in value["results"]:
                if isinstance(row, dict):
                    self.rows += 1
                    yield row
            self.complete = True
            return
        if "rows" in value and isinstance(value.get("fields"), list):
            if preview:
                self.previews += len(value["rows"])
                return
            fields = [f if isinstance(f, str) else str(f.get("name")) for f in value["fields"]]
            for cells in value["rows"]:
                self.rows += 1
                yield {k: v for k, v in zip(fields, cells) if v is not None}
            self.complete = True
            return
        if value.get("lastrow") and not preview:
            self.complete = True
        if "preview" not in value and "messages" not in value and "lastrow" not in value:
            # a row outside an envelope (a notable saved as JSON lines)
            self.rows += 1
            yield value

    def errors(self) -> List[str]:
        return [text for kind, text in self.messages if kind.upper() in ("ERROR", "FATAL")]


def _describe(line: bytes) -> str:
    head = line[:200].decode("utf-8", "replace").strip()
    if head[:1] == "<" or "<html" in head.lower():
        return "an HTML or XML page, not Splunk results"
    return repr(head[:80])


# ---------------------------------------------------------------- XML

_XML_DECL = re.compile(rb"<\?xml[^>]*\?>")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)


def iter_splunk_xml(data: bytes, source: str, include_preview: bool = False) -> Iterator[Dict[str, Any]]:
    """Result rows of Splunk XML results (one or several ``<results>``
    documents back to back). Only final (``preview='0'``) documents count,
    unless the whole stream is previews and ``include_preview``."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    if _DOCTYPE.search(data):
        raise IdgateError("%s: XML with a DOCTYPE is refused (entity expansion)" % source)
    body = _XML_DECL.sub(b"", data)
    try:
        root = ET.fromstring(b"<idgate-stream>" + body + b"</idgate-stream>")
    except ET.ParseError as exc:
        raise IdgateError("%s: not Splunk XML results: %s" % (source, exc)) from None
    docs = [d for d in root if d.tag == "results"]
    if not docs and root.find(".//response") is not None:
        msg = root.findtext(".//msg") or "an error response"
        raise IdgateError("%s: Splunk answered with an error: %s" % (source, msg.strip()[:200]))
    final = [d for d in docs if d.get("preview", "0") in ("0", "false")]
    if not final and include_preview and docs:
        final = docs[-1:]  # an unfinished stream: its last preview is the best there is
    for doc in final:
        for result in doc.iter("result"):
            row: Dict[str, Any] = {}
            for field in result.findall("field"):
                key = field.get("k")
                if not key:
                    continue
                values = [_xml_text(v) for v in field.findall("value")]
                raw = field.find("v")
                if raw is not None:
                    values.append("".join(raw.itertext()))
                if values:
                    row[key] = values[0] if len(values) == 1 else values
            offset = result.get("offset")
            if offset is not None:
                row.setdefault("_offset", offset)
            yield row


def _xml_text(value: ET.Element) -> str:
    text = value.find("text")
    return "".join(text.itertext()) if text is not None else "".join(value.itertext())


# ---------------------------------------------------------------- CSV

def iter_csv(fh: BinaryIO) -> Iterator[Tuple[int, Dict[str, Any]]]:
    """(row number, row) of a CSV file with a header. An unnamed first column
    (a pandas index) is dropped; empty cells are left out."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    for number, cells in enumerate(reader, 1):
        row = {k: v for k, v in zip(header, cells) if k and v != ""}
        if row:
            yield number, row


# ---------------------------------------------------------------- files

def sniff(path: str) -> str:
    """``json``, ``xml`` or ``csv`` from a file's first bytes."""
    if path == "-":
        return "json"
    fh = open_input(path)
    try:
        head = fh.read(4096)
    finally:
        fh.close()
    stripped = head.lstrip(BOM + b" \t\r\n")
    first = stripped[:1]
    if first == b"<":
        return "xml"
    if first and first not in b"{[\"":
        return "csv"
    return "json"


def file_records(path: str, kind: str, rows: Callable[[Any, int], Any],
                 progress: Optional[Callable[[int], None]] = None) -> Iterator[Record]:
    """``Record`` objects (as ``idgate.inputs`` makes them) for an XML or CSV file."""
    fh = open_input(path)
    try:
        if kind == "xml":
            data = fh.read()
            if progress:
                progress(len(data))
            try:
                for i, row in enumerate(iter_splunk_xml(data, path, include_preview=True), 1):
                    yield Record(i, rows(row, i), path)
            except IdgateError as exc:
                yield Record(1, RecordError(str(exc)), path)
        else:
            for number, row in iter_csv(fh):
                yield Record(number, rows(row, number), path)
    finally:
        fh.close()

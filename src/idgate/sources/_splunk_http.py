"""splunklib on idgate's HTTP stack.

splunklib accepts a ``handler(url, message, **kwargs)`` returning
``{"status", "reason", "headers", "body"}`` (as solnlib does). This one sends
through ``idgate.http.HttpClient``, so Splunk calls share the project's TLS
settings, proxies, timeouts and its one tenacity retry policy (429 with
Retry-After, 502/503/504, connection errors). Other error statuses are handed
back to splunklib, which raises its ``HTTPError`` (and, with session auth,
logs in again on a 401). Bodies stream: ``body`` reads from the socket as
splunklib or our export reader consumes it.
"""
import io
from typing import Any, Dict, Iterator, List, Optional, Tuple

import requests
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from ..http import RETRY_STATUSES, HttpClient

# POSTs that only read (search exports) or only log in may be repeated safely
_SAFE_POST_SUFFIXES = ("/search/jobs/export", "/search/v2/jobs/export", "/auth/login", "/search/jobs/oneshot")
_PASS_BACK = frozenset(s for s in range(400, 600) if s not in RETRY_STATUSES)


class StreamBody(io.RawIOBase):
    """A requests response as the file-like body splunklib expects."""

    def __init__(self, response: requests.Response, chunk_size: int = 256 * 1024):
        super().__init__()
        self.response = response
        self.chunk_size = chunk_size
        self._chunks: Optional[Iterator[bytes]] = None
        self._pending = b""

    def readable(self) -> bool:
        return True

    def iter_chunks(self) -> Iterator[bytes]:
        """The body as it arrives (decoded from gzip if it was sent so)."""
        if self._pending:
            pending, self._pending = self._pending, b""
            yield pending
        if self._chunks is None:
            self._chunks = self._arriving()
        yield from self._chunks

    def _arriving(self) -> Iterator[bytes]:
        # read1 hands over what has arrived (urllib3 2): a stream that breaks
        # mid-way still yields every complete row before the break
        raw = self.response.raw
        if hasattr(raw, "enforce_content_length"):
            # urllib3 1.26 (what pip picks on Python 3.9) ends a short body
            # silently unless told to check it against Content-Length
            raw.enforce_content_length = True
        read1 = getattr(raw, "read1", None)
        if read1 is None:
            yield from self.response.iter_content(self.chunk_size)
            return
        try:
            while True:
                chunk = read1(self.chunk_size, decode_content=True)
                if not chunk:
                    return
                yield chunk
        except (ProtocolError, ReadTimeoutError, OSError) as exc:
            raise requests.exceptions.ChunkedEncodingError(str(exc)) from None

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            if self._chunks is None:
                self._chunks = self._arriving()
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        try:
            self.response.close()
        finally:
            super().close()


def make_handler(client: HttpClient) -> Any:
    def handler(url: str, message: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
        method = message.get("method", "GET").upper()
        headers: Dict[str, str] = {}
        for key, value in message.get("headers") or []:
            headers[key] = value
        body = message.get("body") or None
        path = url.split("?", 1)[0].rstrip("/")
        safe = method != "POST" or path.endswith(_SAFE_POST_SUFFIXES)
        response = client.request(method, url, headers=headers, data=body, stream=True,
                                  idempotent=safe, ok=_PASS_BACK)
        header_list: List[Tuple[str, str]] = list(response.headers.items())
        return {"status": response.status_code, "reason": response.reason or "",
                "headers": header_list, "body": StreamBody(response)}
    return handler

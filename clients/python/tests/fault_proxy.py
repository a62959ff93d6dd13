"""An HTTP proxy in front of a service that makes the faults a network makes, on request.

- ``drop-after-forward``: the request reaches the service, its answer is lost (the connection closes)
- ``unavailable``: a 503 with ``Retry-After: 0``, the request never forwarded
- ``cut-stream``: a streamed answer (Server-Sent Events) cut off after its first chunk of events
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

Fault = Literal["drop-after-forward", "unavailable", "cut-stream"]
Match = Callable[[str, str], bool]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length"}


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.forwarded: list[str] = []
        """``METHOD /path`` of each request that reached the service."""
        self._faults: list[tuple[Fault, Match]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_DELETE = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, fault: Fault, match: Match) -> None:
        """The next request ``match(method, path)`` takes gets the fault (once)."""
        with self._lock:
            self._faults.append((fault, match))

    def count(self, what: str) -> int:
        return sum(1 for line in self.forwarded if line == what)

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, (fault, match) in enumerate(self._faults):
                if match(method, path):
                    del self._faults[index]
                    return fault
        return None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        body = request.rfile.read(int(request.headers.get("content-length") or 0))
        fault = self._take(request.command, path)
        if fault == "unavailable":
            payload = (
                b'{"statusCode":503,"code":"SG_UNAVAILABLE","error":"Service Unavailable","message":"x"}'
            )
            request.send_response(503)
            request.send_header("content-type", "application/json")
            request.send_header("retry-after", "0")
            request.send_header("content-length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
        headers = {key: value for key, value in request.headers.items() if key.lower() not in HOP_BY_HOP}
        upstream.request(request.command, request.path, body=body or None, headers=headers)
        response = upstream.getresponse()
        with self._lock:
            self.forwarded.append(f"{request.command} {path}")
        if fault == "drop-after-forward":
            response.read()
            upstream.close()
            self._hang_up(request)
            return
        request.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                request.send_header(key, value)
        if response.status in (204, 304):
            request.end_headers()
            upstream.close()
            return
        request.send_header("transfer-encoding", "chunked")
        request.end_headers()
        try:
            while chunk := response.read1(65536):
                request.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                request.wfile.flush()
                if fault == "cut-stream" and b"data:" in chunk:
                    self._hang_up(request)
                    return
            request.wfile.write(b"0\r\n\r\n")
        except OSError:
            request.close_connection = True
        finally:
            upstream.close()

    @staticmethod
    def _hang_up(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        request.connection.shutdown(socket.SHUT_RDWR)


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A proxy to ``upstream`` for the block, stopped at its end."""
    proxy = FaultProxy(upstream)
    thread = threading.Thread(target=proxy._server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy._server.shutdown()
        proxy._server.server_close()
        thread.join()

# Generated from ../_async/transport.py by scripts/unasync.py: edit that file, then run the script.
"""HTTP to one service: auth, timeouts, retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

import httpx

from .._http import Call, ConnectionLost, RetryPolicy, api_error, auth_headers, retryable
from ..errors import ServiceUnreachable


class Transport:
    """Sends calls to one service, retrying by the policy; raises ``ApiError`` on a status not ok."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._http = http or httpx.Client(
            base_url=self.url,
            headers=auth_headers(token),
            # The timeout covers connecting and each read, not a stream's whole length.
            timeout=httpx.Timeout(timeout),
        )

    def send(self, call: Call) -> httpx.Response:
        """The response of a call (its body read), after retries."""
        return self._send(call, stream=False)

    @contextmanager
    def stream(self, call: Call) -> Iterator[httpx.Response]:
        """The response of a call with its body still to read, closed when the block ends."""
        response = self._send(call, stream=True)
        try:
            yield response
        finally:
            response.close()

    def json(self, call: Call) -> object:
        response = self.send(call)
        return response.json()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call, *, stream: bool) -> httpx.Response:
        retries = self.retry.retries if call.retries is None else call.retries
        for attempt in count():
            try:
                response = self._http.send(call.build(self._http), stream=stream)
            except httpx.TransportError as error:
                if not retryable(call, error):
                    raise ConnectionLost(call.method, call.path, error) from error
                if attempt >= retries:
                    raise ServiceUnreachable(f"{self.url}{call.path}", attempt + 1, error) from error
                time.sleep(self.retry.delay(attempt))
                continue
            if call.ok(response.status_code):
                return response
            if stream:
                response.read()
                response.close()
            if response.status_code == 503 and attempt < retries:
                time.sleep(self.retry.delay(attempt, response.headers.get("retry-after")))
                continue
            raise api_error(response, call)
        raise AssertionError("unreachable")

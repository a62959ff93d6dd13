"""HTTP to one service: auth, timeouts, retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import count

import httpx

from .._http import Call, ConnectionLost, RetryPolicy, api_error, auth_headers, retryable
from ..errors import ServiceUnreachable


class AsyncTransport:
    """Sends calls to one service, retrying by the policy; raises ``ApiError`` on a status not ok."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._http = http or httpx.AsyncClient(
            base_url=self.url,
            headers=auth_headers(token),
            # The timeout covers connecting and each read, not a stream's whole length.
            timeout=httpx.Timeout(timeout),
        )

    async def send(self, call: Call) -> httpx.Response:
        """The response of a call (its body read), after retries."""
        return await self._send(call, stream=False)

    @asynccontextmanager
    async def stream(self, call: Call) -> AsyncIterator[httpx.Response]:
        """The response of a call with its body still to read, closed when the block ends."""
        response = await self._send(call, stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    async def json(self, call: Call) -> object:
        response = await self.send(call)
        return response.json()

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call, *, stream: bool) -> httpx.Response:
        retries = self.retry.retries if call.retries is None else call.retries
        for attempt in count():
            try:
                response = await self._http.send(call.build(self._http), stream=stream)
            except httpx.TransportError as error:
                if not retryable(call, error):
                    raise ConnectionLost(call.method, call.path, error) from error
                if attempt >= retries:
                    raise ServiceUnreachable(f"{self.url}{call.path}", attempt + 1, error) from error
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            if call.ok(response.status_code):
                return response
            if stream:
                await response.aread()
                await response.aclose()
            if response.status_code == 503 and attempt < retries:
                await asyncio.sleep(self.retry.delay(attempt, response.headers.get("retry-after")))
                continue
            raise api_error(response, call)
        raise AssertionError("unreachable")

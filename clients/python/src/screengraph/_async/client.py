"""Both services behind one client."""

from __future__ import annotations

import os
from types import TracebackType

from .._http import RetryPolicy
from .graph import AsyncGraphClient
from .runs import AsyncRunsClient
from .transport import AsyncTransport


class AsyncScreenGraph:
    """ScreenGraph's runs and graph services, from the asynchronous client.

    ``async with AsyncScreenGraph(runs_url=..., graph_url=...) as sg:`` closes its connections at
    the end; so does ``await sg.close()``.
    """

    def __init__(
        self,
        runs_url: str | None = None,
        graph_url: str | None = None,
        *,
        token: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        """The services' URLs and token default as the command line's do: RUNS_URL (else
        http://127.0.0.1:3001), GRAPH_URL (else http://127.0.0.1:3002), SCREENGRAPH_API_TOKEN."""
        runs_url = runs_url or os.environ.get("RUNS_URL") or "http://127.0.0.1:3001"
        graph_url = graph_url or os.environ.get("GRAPH_URL") or "http://127.0.0.1:3002"
        token = token if token is not None else os.environ.get("SCREENGRAPH_API_TOKEN") or None
        self.runs = AsyncRunsClient(AsyncTransport(runs_url, token=token, retry=retry, timeout=timeout))
        self.graph = AsyncGraphClient(AsyncTransport(graph_url, token=token, retry=retry, timeout=timeout))

    async def close(self) -> None:
        await self.runs.transport.close()
        await self.graph.transport.close()

    async def __aenter__(self) -> AsyncScreenGraph:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

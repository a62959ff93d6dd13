"""The graph service: each app's screen graph and the queries an agent asks of it."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path as FilePath
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from .._http import Call, Query
from ..errors import ApiError, ProjectionTimeout
from ..models import (
    AppSummary,
    Coverage,
    ExportFormat,
    Frontier,
    Graph,
    GraphSummary,
    IdentityRules,
    Path,
    Projection,
    RebuildResult,
    ScreenDetail,
    ScreenIdentity,
    ScreenPage,
)
from .runs import ready
from .transport import AsyncTransport

M = TypeVar("M", bound=BaseModel)


def _app(app_package: str, rest: str) -> str:
    return f"/apps/{quote(app_package, safe='')}{rest}"


class AsyncGraphClient:
    """The graph service: each app's screen graph and the queries an agent asks of it."""

    def __init__(self, transport: AsyncTransport) -> None:
        self.transport = transport

    async def apps(self) -> list[AppSummary]:
        body = await self.transport.json(Call("GET", "/apps", idempotent=True))
        apps = body.get("apps", []) if isinstance(body, dict) else []
        return [AppSummary.model_validate(each) for each in apps]

    async def screens(
        self, app_package: str, *, limit: int | None = None, after: str | None = None
    ) -> ScreenPage:
        """A page of the app's screens; ``next_after`` is the ``after`` of the next page."""
        query: Query = {"limit": limit, "after": after}
        return ScreenPage.model_validate(await self._get(_app(app_package, "/screens"), query))

    async def screen(self, app_package: str, screen_id: str) -> ScreenDetail:
        """A screen, its actions (explored or not, and where they lead) and the edges into it."""
        path = _app(app_package, f"/screens/{quote(screen_id, safe='')}")
        return ScreenDetail.model_validate(await self._get(path))

    async def lookup(self, app_package: str, layout_hash: str) -> ScreenDetail | None:
        """ "Where am I: the screen with this layout hash, or None when the graph has none."""
        query: Query = {"layoutHash": layout_hash}
        return await self._get_or_none(
            ScreenDetail, _app(app_package, "/screens/lookup"), query, "SG_SCREEN_NOT_FOUND"
        )

    async def identify(
        self,
        app_package: str,
        hierarchy_xml: str,
        *,
        activity: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> ScreenIdentity:
        """ "Where am I, for a hierarchy the agent holds, without a run.

        The screen it is, whether the graph knows it, and its actions as this hierarchy shows them
        (labels, pixel bounds, centres) with what the graph knows of each.
        """
        body: dict[str, Any] = {"hierarchyXml": hierarchy_xml}
        body.update(
            {
                key: value
                for key, value in (("activity", activity), ("width", width), ("height", height))
                if value is not None
            }
        )
        call = Call("POST", _app(app_package, "/screens/identify"), idempotent=True, json=body)
        return ScreenIdentity.model_validate(await self.transport.json(call))

    async def summary(self, app_package: str, *, least_explored: int | None = None) -> GraphSummary:
        """The app's graph by activity, the transitions between activities, its least explored screens."""
        query: Query = {"leastExplored": least_explored}
        return GraphSummary.model_validate(await self._get(_app(app_package, "/summary"), query))

    async def path(self, app_package: str, from_screen: str, to_screen: str) -> Path | None:
        """The fewest actions from one screen to another; None when no known action leads there."""
        query: Query = {"from": from_screen, "to": to_screen}
        return await self._get_or_none(Path, _app(app_package, "/path"), query, "SG_NO_PATH")

    async def frontier(
        self, app_package: str, *, from_screen: str | None = None, limit: int | None = None
    ) -> Frontier:
        """Unexplored actions, nearest first (with the steps to each) when ``from_screen`` is given."""
        query: Query = {"from": from_screen, "limit": limit}
        return Frontier.model_validate(await self._get(_app(app_package, "/frontier"), query))

    async def coverage(self, app_package: str) -> Coverage:
        return Coverage.model_validate(await self._get(_app(app_package, "/coverage")))

    async def graph(self, app_package: str) -> Graph:
        """The whole graph: every screen, action and edge."""
        return Graph.model_validate(await self._get(_app(app_package, "/graph"), {"format": "json"}))

    async def export(
        self, app_package: str, format: ExportFormat, to: str | os.PathLike[str] | None = None
    ) -> bytes:
        """The whole graph in a format for other tools; streamed into the file ``to`` when given.

        Returns the bytes, or ``b""`` when they went to a file.
        """
        call = Call(
            "GET",
            _app(app_package, "/graph"),
            idempotent=True,
            query={"format": format},
            headers={"accept": "*/*"},
        )
        async with self.transport.stream(call) as response:
            if to is None:
                return await response.aread()
            with FilePath(to).open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
        return b""

    async def projection(self, run_id: str) -> Projection:
        """How far a run is projected into its app's graph."""
        return Projection.model_validate(await self._get(f"/runs/{quote(run_id, safe='')}/projection"))

    async def wait_for_projection(
        self, run_id: str, *, seq: int | None = None, timeout: float = 60.0, interval: float = 0.1
    ) -> Projection:
        """Waits until every event of the run (at least up to ``seq``) is projected; the projection then.

        Raises ``ProjectionTimeout`` when it does not get there within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            projection = await self.projection(run_id)
            head = projection.head_seq if seq is None else seq
            if head is not None and projection.projected_seq >= head:
                return projection
            if time.monotonic() > deadline:
                raise ProjectionTimeout(run_id, projection.projected_seq, head)
            await asyncio.sleep(interval)

    async def rebuild(self, app_package: str | None = None) -> RebuildResult:
        """Rebuilds one app's graph (or every app's) from the runs' event logs."""
        body = {} if app_package is None else {"appPackage": app_package}
        call = Call("POST", "/admin/rebuild", idempotent=True, json=body, retries=0)
        return RebuildResult.model_validate(await self.transport.json(call))

    async def identity(self) -> IdentityRules:
        """The screen identity rules the service hashes with."""
        return IdentityRules.model_validate(await self._get("/identity"))

    async def ready(self) -> bool:
        return await ready(self.transport)

    async def _get(self, path: str, query: Query | None = None) -> object:
        return await self.transport.json(Call("GET", path, idempotent=True, query=query))

    async def _get_or_none(self, model: type[M], path: str, query: Query, code: str) -> M | None:
        """The answer, or None when the service answers with the error ``code``."""
        try:
            return model.model_validate(await self._get(path, query))
        except ApiError as error:
            if error.code == code:
                return None
            raise

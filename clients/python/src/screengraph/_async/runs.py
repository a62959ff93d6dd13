"""The runs service: runs, their events, artifacts and snapshots."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import EventSource, SSEError

from .._http import Call, Query
from ..errors import ApiError, ServiceUnreachable
from ..events import AgentEvent, identified
from ..models import (
    TERMINAL_STATUSES,
    ActionPerformed,
    AppendResult,
    Artifact,
    ArtifactKind,
    EventPage,
    Outbox,
    Replay,
    Run,
    RunEvent,
    RunPage,
    RunStatus,
    ScreenObserved,
    Snapshot,
    SnapshotReceipt,
)
from .transport import AsyncTransport

MAX_EVENTS_PER_APPEND = 500
"""The most events one append takes (the service's limit)."""

Appendable = AgentEvent | ScreenObserved | ActionPerformed


def _run(run_id: str, rest: str = "") -> str:
    return f"/runs/{quote(run_id, safe='')}{rest}"


class AsyncRunsClient:
    """The runs service: runs, their events, artifacts and snapshots."""

    def __init__(self, transport: AsyncTransport) -> None:
        self.transport = transport

    async def create_run(self, app_package: str, config: dict[str, Any] | None = None) -> Run:
        """A queued run of the app. Not retried once it may have reached the service: that would make two."""
        body: dict[str, Any] = {"appPackage": app_package}
        if config is not None:
            body["config"] = config
        return Run.model_validate(
            await self.transport.json(Call("POST", "/runs", idempotent=False, json=body))
        )

    async def get_run(self, run_id: str) -> Run:
        return Run.model_validate(await self.transport.json(Call("GET", _run(run_id), idempotent=True)))

    async def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        app_package: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> RunPage:
        """A page of runs, newest first; ``next_after`` is the ``after`` of the next page."""
        query: Query = {"status": status, "appPackage": app_package, "after": after, "limit": limit}
        return RunPage.model_validate(
            await self.transport.json(Call("GET", "/runs", idempotent=True, query=query))
        )

    async def all_runs(
        self, *, status: RunStatus | None = None, app_package: str | None = None
    ) -> AsyncIterator[Run]:
        """Every run matching the filter, newest first, page by page."""
        after: str | None = None
        while True:
            page = await self.list_runs(status=status, app_package=app_package, after=after, limit=500)
            for run in page.runs:
                yield run
            if page.next_after is None:
                return
            after = page.next_after

    async def claim(self, worker_id: str, app_package: str | None = None) -> Run | None:
        """Takes the oldest queued run (of one app, if given) for this worker; None when none is queued.

        Not retried once it may have reached the service: the retry could take a second run.
        """
        body: dict[str, Any] = {"workerId": worker_id}
        if app_package is not None:
            body["appPackage"] = app_package
        response = await self.transport.send(Call("POST", "/runs/claim", idempotent=False, json=body))
        return None if response.status_code == 204 else Run.model_validate(response.json())

    async def claim_run(self, run_id: str, worker_id: str) -> Run:
        """Claims a given queued run (one this agent created); claiming it again is a retry."""
        return await self._lifecycle(run_id, "claim", {"workerId": worker_id})

    async def complete(self, run_id: str, worker_id: str) -> Run:
        return await self._lifecycle(run_id, "complete", {"workerId": worker_id})

    async def fail(self, run_id: str, worker_id: str, reason: str) -> Run:
        return await self._lifecycle(run_id, "fail", {"workerId": worker_id, "reason": reason})

    async def cancel(self, run_id: str, reason: str | None = None) -> Run:
        return await self._lifecycle(run_id, "cancel", {} if reason is None else {"reason": reason})

    async def heartbeat(self, run_id: str, worker_id: str) -> None:
        """Tells the service the worker is alive (a run without heartbeats is failed after a while)."""
        await self.transport.send(
            Call("POST", _run(run_id, "/heartbeat"), idempotent=True, json={"workerId": worker_id})
        )

    async def append(
        self,
        run_id: str,
        worker_id: str,
        events: Sequence[Appendable],
        *,
        expected_seq: int | None = None,
    ) -> AppendResult:
        """Appends a batch (at most 500 events) in one transaction.

        Events get their ids here, before the first attempt, so a retry after a dropped connection
        stores each event once. ``expected_seq`` refuses the batch unless the run is at that seq.
        """
        body: dict[str, Any] = {"workerId": worker_id, "events": [identified(each).wire() for each in events]}
        if expected_seq is not None:
            body["expectedSeq"] = expected_seq
        return AppendResult.model_validate(
            await self.transport.json(Call("POST", _run(run_id, "/events"), idempotent=True, json=body))
        )

    async def append_all(
        self,
        run_id: str,
        worker_id: str,
        events: Sequence[Appendable],
        *,
        batch_size: int = MAX_EVENTS_PER_APPEND,
    ) -> AppendResult | None:
        """Appends any number of events in batches of ``batch_size``, in order; the last batch's result."""
        last: AppendResult | None = None
        for start in range(0, len(events), batch_size):
            last = await self.append(run_id, worker_id, events[start : start + batch_size])
        return last

    async def events(
        self, run_id: str, *, after_seq: int | None = None, limit: int | None = None
    ) -> EventPage:
        query: Query = {"afterSeq": after_seq, "limit": limit}
        return EventPage.model_validate(
            await self.transport.json(Call("GET", _run(run_id, "/events"), idempotent=True, query=query))
        )

    async def all_events(self, run_id: str, after_seq: int = 0) -> AsyncIterator[RunEvent]:
        """Every stored event of a run after ``after_seq``, page by page."""
        after: int | None = after_seq
        while after is not None:
            page = await self.events(run_id, after_seq=after, limit=1000)
            for event in page.events:
                yield event
            after = page.next_after_seq

    async def outbox(self, run_id: str) -> Outbox:
        """How far the run's events are published to the stream."""
        return Outbox.model_validate(
            await self.transport.json(Call("GET", _run(run_id, "/outbox"), idempotent=True))
        )

    async def upload_artifact(
        self,
        run_id: str,
        kind: ArtifactKind,
        content: bytes | str | os.PathLike[str],
        content_type: str | None = None,
    ) -> Artifact:
        """Stores a file: its bytes, or the file at a path (its media type guessed from the name).

        Retried like an idempotent call: the bytes are content-addressed, so a repeat stores them
        once (at worst it indexes a second id for the same bytes).
        """
        if isinstance(content, bytes):
            data, guessed = content, None
        else:
            data, guessed = Path(content).read_bytes(), mimetypes.guess_type(os.fspath(content))[0]
        call = Call(
            "POST",
            _run(run_id, "/artifacts"),
            idempotent=True,
            query={"kind": kind},
            content=data,
            content_type=content_type or guessed or "application/octet-stream",
        )
        return Artifact.model_validate(await self.transport.json(call))

    async def list_artifacts(self, run_id: str) -> list[Artifact]:
        body = await self.transport.json(Call("GET", _run(run_id, "/artifacts"), idempotent=True))
        return [Artifact.model_validate(each) for each in _field(body, "artifacts")]

    async def download_artifact(
        self, run_id: str, artifact_id: str, to: str | os.PathLike[str] | None = None
    ) -> tuple[bytes, str]:
        """An artifact's bytes and media type; written to the file ``to`` as well when given."""
        call = Call(
            "GET",
            _run(run_id, f"/artifacts/{quote(artifact_id, safe='')}/content"),
            idempotent=True,
            headers={"accept": "*/*"},
        )
        response = await self.transport.send(call)
        if to is not None:
            Path(to).write_bytes(response.content)
        return response.content, response.headers.get("content-type", "application/octet-stream")

    async def save_snapshot(
        self, run_id: str, worker_id: str, seq: int, state: dict[str, Any]
    ) -> SnapshotReceipt:
        """Stores the agent's own state as of ``seq`` (every event up to it applied)."""
        body = {"workerId": worker_id, "seq": seq, "state": state}
        return SnapshotReceipt.model_validate(
            await self.transport.json(Call("POST", _run(run_id, "/snapshots"), idempotent=True, json=body))
        )

    async def latest_snapshot(self, run_id: str, at_or_before_seq: int | None = None) -> Snapshot | None:
        """The newest snapshot at or before a seq; None when the run has none."""
        call = Call(
            "GET",
            _run(run_id, "/snapshots/latest"),
            idempotent=True,
            query={"atOrBeforeSeq": at_or_before_seq},
        )
        try:
            return Snapshot.model_validate(await self.transport.json(call))
        except ApiError as error:
            if error.code == "SG_SNAPSHOT_NOT_FOUND":
                return None
            raise

    async def replay(self, run_id: str, *, after_seq: int | None = None, limit: int | None = None) -> Replay:
        """The run's newest snapshot and the events after it: what an agent resumes from."""
        query: Query = {"afterSeq": after_seq, "limit": limit}
        return Replay.model_validate(
            await self.transport.json(Call("GET", _run(run_id, "/replay"), idempotent=True, query=query))
        )

    async def delete_run(self, run_id: str) -> None:
        """Deletes a finished run, its events, snapshots and the bytes no other run shares."""
        await self.transport.send(Call("DELETE", _run(run_id), idempotent=True))

    async def watch(self, run_id: str, *, after_seq: int = 0, max_drops: int = 10) -> AsyncIterator[RunEvent]:
        """A run's events live: the stored ones after ``after_seq``, then each as it commits.

        Ends after the run's terminal event. A dropped stream is resumed from the last event
        received, so each event comes once, in order.
        """
        last = after_seq
        drops = 0
        while True:
            call = Call(
                "GET",
                _run(run_id, "/events/stream"),
                idempotent=True,
                query={"afterSeq": last},
                headers={"accept": "text/event-stream"},
            )
            try:
                async with self.transport.stream(call) as response:
                    async for message in EventSource(response).aiter_sse():
                        if not message.data:
                            continue
                        event = RunEvent.model_validate(json.loads(message.data))
                        if event.seq <= last:
                            continue
                        last = event.seq
                        drops = 0
                        yield event
                        if event.is_terminal:
                            return
            except (httpx.TransportError, SSEError, ServiceUnreachable):
                drops += 1
                if drops > max_drops:
                    raise
            # The stream ended without a terminal event: done if the run is over, else resume.
            run = await self.get_run(run_id)
            if run.status in TERMINAL_STATUSES and run.last_seq <= last:
                return
            await asyncio.sleep(self.transport.retry.delay(drops))

    async def ready(self) -> bool:
        """Whether the service and its dependencies answer."""
        return await ready(self.transport)

    async def _lifecycle(self, run_id: str, verb: str, body: dict[str, Any]) -> Run:
        # The state machine takes a repeat of what is already done as a retry, not an error.
        return Run.model_validate(
            await self.transport.json(Call("POST", _run(run_id, f"/{verb}"), idempotent=True, json=body))
        )


async def ready(transport: AsyncTransport) -> bool:
    """GET /health/ready answers 200."""
    try:
        response = await transport.send(
            Call("GET", "/health/ready", idempotent=True, retries=0, ok=lambda _: True)
        )
    except Exception:
        return False
    return response.status_code == 200


def _field(body: object, name: str) -> list[Any]:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, list):
        raise TypeError(f"the service's answer has no list {name!r}")
    return value

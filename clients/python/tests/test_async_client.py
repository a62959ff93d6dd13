"""The async client: two devices explored at once, watched live, the graph queried, the retry rules."""

from __future__ import annotations

import asyncio

import pytest

from screengraph import ActionPerformed, ApiError, AsyncScreenGraph, ConnectionLost

from .conftest import FAST_RETRY, Stack
from .fault_proxy import fault_proxy
from .screens import observe, tap

pytestmark = pytest.mark.anyio


async def test_two_devices_at_once_into_one_graph(stack: Stack, app_package: str) -> None:
    async with AsyncScreenGraph(stack.runs_url, stack.graph_url, token=stack.token) as sg:
        assert await sg.runs.ready() and await sg.graph.ready()

        async def device(worker: str, deep: str) -> tuple[str, list[int]]:
            run = await sg.runs.create_run(app_package, {"device": worker})
            await sg.runs.claim_run(run.run_id, worker)
            watched = asyncio.create_task(_seqs(sg, run.run_id))
            await sg.runs.append(
                run.run_id,
                worker,
                [
                    observe(app_package, "Home", ["a", "b"]),
                    tap(app_package, "a" if deep == "A" else "b", 0 if deep == "A" else 1),
                    observe(app_package, deep, ["ok"]),
                ],
            )
            await sg.runs.heartbeat(run.run_id, worker)
            done = await sg.runs.complete(run.run_id, worker)
            await sg.graph.wait_for_projection(run.run_id, seq=done.last_seq, timeout=60)
            return run.run_id, await watched

        (first, seqs_a), (second, seqs_b) = await asyncio.gather(
            device("pixel-a", "A"), device("pixel-b", "B")
        )
        assert seqs_a == seqs_b == [1, 2, 3, 4, 5, 6]
        coverage = await sg.graph.coverage(app_package)
        assert (coverage.screens, coverage.edges, coverage.runs) == (3, 2, 2), "one graph from both devices"
        screens = {s.activity: s.screen_id for s in (await sg.graph.screens(app_package)).screens}
        path = await sg.graph.path(app_package, screens[".HomeActivity"], screens[".BActivity"])
        assert path is not None and path.steps[0].target_center == (540, 590)
        found = await sg.graph.lookup(
            app_package, (await sg.graph.screen(app_package, screens[".AActivity"])).screen.layout_hash
        )
        assert found is not None and found.runs == 1
        frontier = await sg.graph.frontier(app_package, from_screen=screens[".HomeActivity"])
        assert {entry.screen_id for entry in frontier.actions} <= set(screens.values())
        assert {r.run_id async for r in sg.runs.all_runs(app_package=app_package)} == {first, second}
        assert [e.seq async for e in sg.runs.all_events(first, after_seq=4)] == [5, 6]
        assert (await sg.graph.export(app_package, "cytoscape")).startswith(b"{")
        with pytest.raises(ApiError) as refused:
            await sg.runs.append(first, "pixel-a", [ActionPerformed(action_type="back")])
        assert refused.value.code == "SG_RUN_NOT_RUNNING"


async def _seqs(sg: AsyncScreenGraph, run_id: str) -> list[int]:
    return [event.seq async for event in sg.runs.watch(run_id)]


async def test_retries_the_same_rules_as_the_sync_client(stack: Stack, app_package: str) -> None:
    with fault_proxy(stack.runs_url) as proxy:
        async with AsyncScreenGraph(proxy.url, stack.graph_url, token=stack.token, retry=FAST_RETRY) as sg:
            run = await sg.runs.create_run(app_package)
            await sg.runs.claim_run(run.run_id, "async-worker")
            path = f"/runs/{run.run_id}/events"
            proxy.inject("drop-after-forward", lambda method, at: (method, at) == ("POST", path))
            proxy.inject("unavailable", lambda method, at: (method, at) == ("POST", path))
            result = await sg.runs.append(run.run_id, "async-worker", [observe(app_package, "One", ["ok"])])
            assert result.last_seq == 3 and proxy.count(f"POST {path}") == 2, "stored once"
            proxy.inject("drop-after-forward", lambda method, at: (method, at) == ("POST", "/runs"))
            with pytest.raises(ConnectionLost):
                await sg.runs.create_run(app_package)
            assert proxy.count("POST /runs") == 2

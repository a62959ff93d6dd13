"""A run end to end through the sync client, with real uiautomator dumps, and the graph it builds."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from screengraph import (
    ActionPerformed,
    AgentEvent,
    ApiError,
    ScreenGraph,
    ScreenObserved,
    Target,
)

from .conftest import Stack, shared_data

APP = "applore.device.manager"
WORKER = "python-e2e"


def test_a_run_end_to_end_with_real_dumps(stack: Stack, sg: ScreenGraph, tmp_path: Path) -> None:
    folder = shared_data("uiautomator", APP)
    walkthrough, schedule, focus = (
        folder / "1663964965_phone_WalkthroughActivity",
        folder / "1663965199_phone_CreateFocusModeScheduleActivity",
        folder / "1663965484_phone_FocusModeActivity",
    )
    assert sg.runs.ready() and sg.graph.ready()

    created = sg.runs.create_run(APP, {"strategy": "scripted", "from": "python"})
    assert created.status == "queued" and created.config == {"strategy": "scripted", "from": "python"}
    claimed = sg.runs.claim(WORKER, APP)
    assert claimed is not None and claimed.run_id == created.run_id and claimed.status == "running"
    assert sg.runs.claim(WORKER, APP) is None, "nothing else queued: None"
    run_id = created.run_id

    seen: list[str] = []
    watcher = threading.Thread(
        target=lambda: seen.extend(f"{e.seq}:{e.type}" for e in stack.client().runs.watch(run_id))
    )
    watcher.start()

    # Each screen: its hierarchy and screenshot as artifacts (files by path), observed by id.
    observed: list[ScreenObserved] = []
    for screen in (walkthrough, focus, schedule):
        hierarchy = sg.runs.upload_artifact(run_id, "ui_hierarchy", screen.with_suffix(".xml"))
        assert hierarchy.content_type in ("application/xml", "text/xml") and hierarchy.kind == "ui_hierarchy"
        shot = sg.runs.upload_artifact(run_id, "screenshot", screen.with_suffix(".png"))
        assert (
            shot.content_type == "image/png" and shot.byte_size == screen.with_suffix(".png").stat().st_size
        )
        observed.append(
            ScreenObserved(
                hierarchy_artifact_id=hierarchy.artifact_id,
                screenshot_artifact_id=shot.artifact_id,
                activity=f".{screen.name.split('_')[-1]}",
            )
        )
    content, content_type = sg.runs.download_artifact(run_id, shot.artifact_id, to=tmp_path / "shot.png")
    assert content == schedule.with_suffix(".png").read_bytes() and content_type == "image/png"
    assert (tmp_path / "shot.png").read_bytes() == content
    assert len(sg.runs.list_artifacts(run_id)) == 6

    tap = ActionPerformed(action_type="tap", target=Target(bounds=(68, 1469, 132, 1485)))
    first = sg.runs.append(run_id, WORKER, [observed[0], tap])
    assert (first.first_seq, first.last_seq) == (3, 4), "seqs after run.created and run.started"
    sg.runs.save_snapshot(run_id, WORKER, 4, {"visited": 1})
    explicit = AgentEvent(observed[1])
    rest = sg.runs.append_all(
        run_id,
        WORKER,
        [
            explicit,
            ActionPerformed(action_type="tap", target=Target(bounds=(0, 200, 1080, 400))),
            observed[2],
        ],
        batch_size=2,
    )
    assert rest is not None and rest.last_seq == 7, "append_all in batches of 2"
    with pytest.raises(ApiError) as conflict:
        sg.runs.append(run_id, WORKER, [ActionPerformed(action_type="back")], expected_seq=3)
    assert conflict.value.status == 409 and conflict.value.code.startswith("SG_")
    sg.runs.heartbeat(run_id, WORKER)
    assert sg.runs.complete(run_id, WORKER).status == "completed"
    assert sg.runs.complete(run_id, WORKER).status == "completed", "completing again is a retry"
    watcher.join(timeout=60)

    assert seen == [
        "1:run.created",
        "2:run.started",
        "3:screen.observed",
        "4:action.performed",
        "5:screen.observed",
        "6:action.performed",
        "7:screen.observed",
        "8:run.completed",
    ], "the live stream gave every event once, in order, and ended with the run"
    assert [e.seq for e in sg.runs.watch(run_id, after_seq=6)] == [7, 8]
    stored = list(sg.runs.all_events(run_id))
    assert [e.seq for e in stored] == list(range(1, 9))
    assert stored[4].event_id == explicit.event_id, "the event kept the id it was given"
    assert stored[4].typed_data == observed[1]
    assert isinstance(stored[3].typed_data, ActionPerformed) and stored[3].typed_data.target == tap.target
    replay = sg.runs.replay(run_id)
    assert replay.snapshot is not None and replay.snapshot.state == {"visited": 1}
    assert [e.seq for e in replay.events] == [5, 6, 7, 8]
    assert sg.runs.latest_snapshot(run_id, at_or_before_seq=3) is None
    assert [r.run_id for r in sg.runs.all_runs(app_package=APP)] == [run_id]
    assert sg.runs.outbox(run_id).last_seq == 8

    projection = sg.graph.wait_for_projection(run_id, timeout=60)
    assert projection.projected_seq == 8 and projection.app_package == APP
    coverage = sg.graph.coverage(APP)
    assert (coverage.screens, coverage.edges, coverage.runs) == (3, 2, 1)
    assert coverage.per_run[0].new_screens == 3
    assert APP in [app.app_package for app in sg.graph.apps()]
    screens = {s.activity: s for s in sg.graph.screens(APP).screens}
    home, last = screens[".WalkthroughActivity"], screens[".CreateFocusModeScheduleActivity"]
    assert home.screenshot_artifact_id is not None and home.identity_version is not None

    found = sg.graph.lookup(APP, home.layout_hash)
    assert found is not None and found.screen.screen_id == home.screen_id
    assert sg.graph.lookup(APP, "no-such-hash") is None
    path = sg.graph.path(APP, home.screen_id, last.screen_id)
    assert path is not None and [s.action_type for s in path.steps] == ["tap", "tap"]
    assert path.steps[0].target_center == (100, 1477), "where to tap, in pixels"
    assert sg.graph.path(APP, last.screen_id, home.screen_id) is None, "no known way back: None"
    frontier = sg.graph.frontier(APP, from_screen=home.screen_id, limit=5)
    assert frontier.from_ == home.screen_id and len(frontier.actions) == 5
    assert frontier.actions[0].distance == 0 and frontier.actions[0].path == []
    detail = sg.graph.screen(APP, last.screen_id)
    assert len(detail.incoming) == 1 and detail.runs == 1

    identity = sg.graph.identify(
        APP, walkthrough.with_suffix(".xml").read_text(), activity=".WalkthroughActivity"
    )
    assert identity.known and identity.screen_id == home.screen_id and identity.runs == 1
    assert any(action.explored for action in identity.actions)
    summary = sg.graph.summary(APP)
    assert summary.entry_screen_id == home.screen_id and summary.screens == 3
    assert len(sg.graph.graph(APP).edges) == 2
    assert sg.graph.export(APP, "dot").startswith(b"digraph")
    assert sg.graph.export(APP, "graphml", to=tmp_path / "graph.graphml") == b""
    assert (tmp_path / "graph.graphml").read_text().startswith("<?xml")
    assert sg.graph.identity().version == identity.identity_version

    with pytest.raises(ApiError) as missing:
        sg.graph.screen(APP, "0" * 32)
    assert (missing.value.status, missing.value.code) == (404, "SG_SCREEN_NOT_FOUND")
    rebuilt = sg.graph.rebuild(APP)
    assert rebuilt.events == 8 and sg.graph.coverage(APP).screens == 3, "a rebuild gives the same graph"

    sg.runs.delete_run(run_id)
    with pytest.raises(ApiError) as gone:
        sg.runs.get_run(run_id)
    assert gone.value.code == "SG_RUN_NOT_FOUND"


def test_without_the_token_401_and_not_retried(stack: Stack) -> None:
    with ScreenGraph(stack.runs_url, stack.graph_url) as anonymous, pytest.raises(ApiError) as refused:
        anonymous.runs.list_runs()
    assert refused.value.status == 401 and refused.value.code.startswith("SG_")

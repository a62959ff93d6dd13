"""Path and frontier answers: what the Python client gets is what the TypeScript client gets."""

from __future__ import annotations

import json

from screengraph import ActionPerformed, ScreenGraph

from .conftest import Stack, node
from .screens import observe, tap

WORKER = "python-parity"


def test_path_and_frontier_equal_the_typescript_clients(
    stack: Stack, sg: ScreenGraph, app_package: str
) -> None:
    app = app_package
    run = sg.runs.create_run(app)
    sg.runs.claim_run(run.run_id, WORKER)
    home = observe(app, "Home", ["settings", "search", "profile"])
    sg.runs.append(
        run.run_id,
        WORKER,
        [
            home,
            tap(app, "settings", 0),
            observe(app, "Settings", ["account", "privacy"]),
            tap(app, "account", 0),
            observe(app, "Account", ["logout", "delete"]),
            ActionPerformed(action_type="back"),
            observe(app, "Settings", ["account", "privacy"]),
            ActionPerformed(action_type="back"),
            home,
            tap(app, "search", 1),
            observe(app, "Search", ["query"]),
        ],
    )
    done = sg.runs.complete(run.run_id, WORKER)
    sg.graph.wait_for_projection(run.run_id, seq=done.last_seq, timeout=60)
    screens = {screen.activity: screen.screen_id for screen in sg.graph.screens(app).screens}
    start, deep = screens[".HomeActivity"], screens[".AccountActivity"]

    theirs = json.loads(
        node(
            "clients/python/tests/typescript_answers.ts",
            stack.runs_url,
            stack.graph_url,
            stack.token,
            app,
            start,
            deep,
        )
    )
    path = sg.graph.path(app, start, deep)
    assert path is not None and [step.to_screen_id for step in path.steps] == [
        screens[".SettingsActivity"],
        deep,
    ]
    ours = {
        "path": path.model_dump(by_alias=True, mode="json"),
        "frontier": sg.graph.frontier(app).model_dump(by_alias=True, mode="json"),
        "frontierFrom": sg.graph.frontier(app, from_screen=start, limit=10).model_dump(
            by_alias=True, mode="json"
        ),
    }
    assert ours == theirs
    nearest = sg.graph.frontier(app, from_screen=start, limit=10).actions
    assert [entry.distance for entry in nearest][:2] == [0, 0] and nearest[-1].path, (
        "nearest first, with steps"
    )

# Generated from ../_async/droidbot_import.py by scripts/unasync.py: edit that file, then run the script.
"""A DroidBot output folder brought in as a run, from Python."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from ..droidbot import ActionStep, ImportSummary, read_droidbot_output
from ..events import AgentEvent
from ..models import ScreenObserved
from .client import ScreenGraph

EVENTS_PER_APPEND = 200


def import_droidbot(
    client: ScreenGraph,
    folder: str | Path,
    *,
    worker_id: str = "droidbot-import",
    wait: bool = True,
    timeout: float = 120.0,
) -> ImportSummary:
    """Brings a DroidBot run in, as ``screengraph import-droidbot`` does.

    A run of its own for the app, each saved state's view tree and screenshot as artifacts, the
    states and input events as ``screen.observed`` and ``action.performed`` in the order of the
    event tags; then the run is completed and, with ``wait``, its projection awaited. A failure
    half-way fails the run with the error, so nothing is left looking unfinished.
    """
    output = read_droidbot_output(folder)
    config = {"source": "droidbot", "folder": Path(folder).resolve().name, "droidbot": output.utg}
    run = client.runs.create_run(output.app_package, config)
    client.runs.claim_run(run.run_id, worker_id)
    try:
        artifacts: dict[str, ScreenObserved] = {}
        for state in output.states.values():
            hierarchy = client.runs.upload_artifact(
                run.run_id, "ui_hierarchy", state.file, "application/json"
            )
            screenshot = (
                client.runs.upload_artifact(run.run_id, "screenshot", state.screenshot, state.screenshot_type)
                if state.screenshot
                else None
            )
            sized = state.width is not None and state.height is not None
            artifacts[state.state_str] = ScreenObserved(
                hierarchy_artifact_id=hierarchy.artifact_id,
                screenshot_artifact_id=screenshot.artifact_id if screenshot else None,
                activity=state.activity or None,
                width=state.width if sized else None,
                height=state.height if sized else None,
            )
        events = [
            AgentEvent(step.action if isinstance(step, ActionStep) else artifacts[step.state.state_str])
            for step in output.steps
        ]
        client.runs.append_all(run.run_id, worker_id, events, batch_size=EVENTS_PER_APPEND)
    except BaseException as error:
        with suppress(Exception):
            client.runs.fail(run.run_id, worker_id, f"import failed: {error!r}"[:2000])
        raise
    completed = client.runs.complete(run.run_id, worker_id)
    counts = {
        **output.utg,
        **{f"skipped_{kind}": n for kind, n in output.skipped_events.items()},
        "unsaved_states": output.unsaved_states,
        "unreached_states": output.unreached_states,
    }
    summary = ImportSummary(run.run_id, output.app_package, completed.last_seq, counts)
    if not wait:
        return summary
    client.graph.wait_for_projection(run.run_id, seq=completed.last_seq, timeout=timeout, interval=0.2)
    coverage = client.graph.coverage(output.app_package)
    new = next((each.new_screens for each in coverage.per_run if each.run_id == run.run_id), 0)
    return ImportSummary(
        run.run_id, output.app_package, completed.last_seq, counts, new, coverage.screens, coverage.edges
    )

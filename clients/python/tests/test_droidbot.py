"""A DroidBot output folder imported from Python: the same run the command line's import makes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from screengraph import MalformedOutput, ScreenGraph, import_droidbot, read_droidbot_output

from .conftest import Stack, node, shared_data

YELP = "com.yelp.android"


def _without_ids(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if not key.endswith("ArtifactId")}


def test_the_same_events_as_the_command_lines_import(stack: Stack, sg: ScreenGraph) -> None:
    folder = shared_data("droidbot", YELP)
    output = read_droidbot_output(folder)
    assert output.app_package == YELP and len(output.states) == 16

    ours = import_droidbot(sg, folder, worker_id="python-import")
    assert ours.app_package == YELP and ours.droidbot["states"] == output.utg["states"]
    assert ours.new_screens is not None and ours.new_screens > 0 and ours.screens == ours.new_screens

    printed = node(
        "packages/cli/src/main.ts",
        "import",
        "droidbot",
        str(folder),
        "--json",
        "--runs-url",
        stack.runs_url,
        "--graph-url",
        stack.graph_url,
        "--token",
        stack.token,
    )
    theirs = json.loads(printed)["runId"]
    python_events = list(sg.runs.all_events(ours.run_id))
    cli_events = list(sg.runs.all_events(theirs))
    assert [e.type for e in python_events] == [e.type for e in cli_events]
    assert [_without_ids(e.data) for e in python_events[2:-1]] == [
        _without_ids(e.data) for e in cli_events[2:-1]
    ]
    hierarchies = [e.data.get("hierarchyArtifactId") for e in python_events if e.type == "screen.observed"]
    assert all(hierarchies), "each state's view tree went as an artifact"
    assert sg.graph.coverage(YELP).screens == ours.screens, (
        "the second import found nothing new: the same screens"
    )


def test_a_malformed_folder_says_which_file_and_leaves_nothing_behind(
    sg: ScreenGraph, tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(shared_data("droidbot", YELP), folder)
    event = sorted((folder / "events").glob("*.json"))[3]
    event.write_text('{"tag": "x", "start_state": null}')
    runs_before = len(sg.runs.list_runs(app_package=YELP, limit=500).runs)
    with pytest.raises(MalformedOutput) as refused:
        import_droidbot(sg, folder)
    assert refused.value.file == str(event) and "stop_state" in refused.value.reason
    assert len(sg.runs.list_runs(app_package=YELP, limit=500).runs) == runs_before, (
        "read before any run is made"
    )

    (folder / "utg.js").unlink()
    with pytest.raises(MalformedOutput, match=r"utg\.js: missing"):
        read_droidbot_output(folder)

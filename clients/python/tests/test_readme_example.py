"""The README's agent loop, run as it is written there, on a small simulated app."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from screengraph import ScreenGraph

from .conftest import ROOT, Stack
from .screens import screen_xml

APP = "com.example.app"
# A small app: each screen's buttons and where they lead (the last three to themselves); back
# returns to the screen before.
SCREENS: dict[str, list[tuple[str, str]]] = {
    "Home": [("settings", "Settings"), ("search", "Search")],
    "Settings": [("account", "Account"), ("about", "About")],
    "Account": [("profile", "Profile")],
    "Search": [("clear", "Search")],
    "About": [("licenses", "About")],
    "Profile": [("refresh", "Profile")],
}


def python_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Python client", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


class Device:
    def __init__(self) -> None:
        self.stack = ["Home"]
        self.visited = {"Home"}
        self.taken: set[tuple[str, str]] = set()

    def dump_hierarchy(self) -> str:
        return screen_xml(APP, self.stack[-1], [name for name, _ in SCREENS[self.stack[-1]]])

    def screenshot(self) -> bytes:
        return b"\x89PNG\r\n\x1a\n" + self.stack[-1].encode()

    def act(self, action: Any) -> None:
        here = self.stack[-1]
        if action.action_type == "back":
            self.taken.add((here, "back"))
            if len(self.stack) > 1:
                self.stack.pop()
            return
        index = (action.center[1] - 300) // 200
        name, to = SCREENS[here][index]
        self.taken.add((here, name))
        if to != here:
            self.stack.append(to)
        self.visited.add(to)


def test_the_readme_agent_loop_explores_every_screen_and_action(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick, stubs, loop = python_blocks()
    ast.parse(quick)
    stubbed = {node.name for node in ast.parse(stubs).body if isinstance(node, ast.FunctionDef)}
    assert stubbed == {"dump_hierarchy", "screenshot", "act"}, "the device the README leaves to its reader"
    monkeypatch.setenv("RUNS_URL", stack.runs_url)
    monkeypatch.setenv("GRAPH_URL", stack.graph_url)
    monkeypatch.setenv("SCREENGRAPH_API_TOKEN", stack.token)
    device = Device()
    exec(
        compile(loop, "README.md (Python client: an agent loop)", "exec"),
        {"dump_hierarchy": device.dump_hierarchy, "screenshot": device.screenshot, "act": device.act},
    )
    assert device.visited == set(SCREENS), "every screen"
    every_action = {(screen, name) for screen, buttons in SCREENS.items() for name, _ in buttons}
    assert every_action <= device.taken, "every button"
    with ScreenGraph(stack.runs_url, stack.graph_url, token=stack.token) as sg:
        coverage = sg.graph.coverage(APP)
        assert coverage.screens == len(SCREENS) and coverage.explored_ratio == 1.0
        [run] = sg.runs.list_runs(app_package=APP).runs
        assert run.status == "completed"

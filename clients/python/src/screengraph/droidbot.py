"""A DroidBot output folder (``utg.js``, ``states/``, ``events/``) read as a ScreenGraph run.

The same mapping as the command line's ``screengraph import-droidbot``: each saved state's view
tree and screenshot become artifacts, the states and input events ``screen.observed`` and
``action.performed`` in the order of the event tags. Both DroidBot formats (2017 and 2023) read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import MalformedOutput
from .models import ActionPerformed, Target

M = TypeVar("M", bound=BaseModel)


class _File(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _StateFile(_File):
    tag: str
    state_str: str
    foreground_activity: str | None = None
    width: int | None = None
    height: int | None = None
    views: list[dict[str, Any]]


class _EventView(_File):
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None
    resource_id: str | None = None
    class_: str | None = None
    text: str | None = None
    content_description: str | None = None

    model_config = ConfigDict(extra="ignore", alias_generator=lambda name: name.rstrip("_"))


class _InputEvent(_File):
    event_type: str
    name: str | None = None
    direction: str | None = None
    text: str | None = None
    intent: str | None = None
    view: _EventView | None = None


class _EventFile(_File):
    tag: str
    start_state: str | None
    stop_state: str | None
    event: _InputEvent


class _UtgNode(_File):
    state_str: str
    structure_str: str | None = None


class _Utg(_File):
    app_package: str
    nodes: list[_UtgNode]
    edges: list[Any]


@dataclass(frozen=True)
class DroidBotState:
    """A state DroidBot saved: its view tree (the JSON file as is) and screenshot."""

    state_str: str
    tag: str
    activity: str | None
    width: int | None
    height: int | None
    file: Path
    """The state's JSON file: DroidBot's views, which the graph service reads as a hierarchy."""
    screenshot: Path | None
    screenshot_type: Literal["image/png", "image/jpeg"] | None


@dataclass(frozen=True)
class StateStep:
    state: DroidBotState
    kind: Literal["state"] = "state"


@dataclass(frozen=True)
class ActionStep:
    tag: str
    action: ActionPerformed
    kind: Literal["action"] = "action"


@dataclass
class DroidBotOutput:
    app_package: str
    utg: dict[str, int]
    """DroidBot's own counts, from ``utg.js``: states, structures, edges."""
    states: dict[str, DroidBotState]
    steps: list[StateStep | ActionStep]
    """The run in the order of the event tags: each state as it was reached, each input event."""
    skipped_events: dict[str, int] = field(default_factory=dict)
    """Input events that map to no action (e.g. ``kill_app``), by type."""
    unsaved_states: int = 0
    """Event ends naming a state that ``states/`` does not hold (DroidBot does not save every one)."""
    unreached_states: int = 0
    """Saved states no event starts or stops at: they have no place in the run's order."""


_DIRECTIONS: dict[str, Literal["up", "down", "left", "right"]] = {
    "up": "up",
    "down": "down",
    "left": "left",
    "right": "right",
}
_SCREENSHOT = re.compile(r"^screen_(.+)\.(png|jpe?g)$", re.IGNORECASE)


def read_droidbot_output(folder: str | Path) -> DroidBotOutput:
    """Reads a DroidBot output folder; raises ``MalformedOutput`` naming the file and the problem."""
    root = Path(folder)
    utg = _read_utg(root / "utg.js")
    state_names = _list(root / "states")
    screenshots = {match[1]: name for name in state_names if (match := _SCREENSHOT.match(name))}
    states: dict[str, DroidBotState] = {}
    for name in sorted(n for n in state_names if n.endswith(".json")):
        file = root / "states" / name
        state = _read_json(file, _StateFile)
        shot = screenshots.get(state.tag)
        states[state.state_str] = DroidBotState(
            state_str=state.state_str,
            tag=state.tag,
            activity=state.foreground_activity,
            width=state.width,
            height=state.height,
            file=file,
            screenshot=root / "states" / shot if shot else None,
            screenshot_type=None
            if not shot
            else "image/png"
            if shot.lower().endswith(".png")
            else "image/jpeg",
        )
    if not states:
        raise MalformedOutput(str(root / "states"), "holds no state_*.json")

    events = [
        _read_json(root / "events" / name, _EventFile)
        for name in _list(root / "events")
        if name.endswith(".json")
    ]
    events.sort(key=lambda each: each.tag)
    output = DroidBotOutput(
        app_package=utg.app_package,
        utg={
            "states": len(utg.nodes),
            "structures": len({node.structure_str or node.state_str for node in utg.nodes}),
            "edges": len(utg.edges),
        },
        states=states,
        steps=[],
    )
    current: str | None = None

    def reach(state_str: str | None) -> None:
        nonlocal current
        if state_str is None or state_str == current:
            return
        current = state_str
        if state_str in states:
            output.steps.append(StateStep(states[state_str]))
        else:
            output.unsaved_states += 1

    for each in events:
        reach(each.start_state)
        action = action_of(each.event)
        if action is None:
            kind = each.event.event_type
            output.skipped_events[kind] = output.skipped_events.get(kind, 0) + 1
        else:
            output.steps.append(ActionStep(each.tag, action))
            # After an input the screen is observed again even when it did not change: a self-loop.
            current = None
        reach(each.stop_state)
    reached = {step.state.state_str for step in output.steps if isinstance(step, StateStep)}
    output.unreached_states = sum(1 for state_str in states if state_str not in reached)
    return output


def action_of(event: _InputEvent) -> ActionPerformed | None:
    """DroidBot's input event as a ScreenGraph action, with its target view; None for non-inputs."""
    view = event.view
    target = None
    if view is not None and view.bounds is not None:
        (x1, y1), (x2, y2) = view.bounds
        target = Target(
            bounds=(round(x1), round(y1), round(x2), round(y2)),
            resource_id=view.resource_id or None,
            class_name=view.class_ or None,
            text=(view.text or "")[:5000] or None,
            content_desc=(view.content_description or "")[:5000] or None,
        )
    kind = event.event_type
    if kind == "touch":
        return ActionPerformed(action_type="tap", target=target)
    if kind == "long_touch":
        return ActionPerformed(action_type="long_press", target=target)
    if kind == "scroll":
        return ActionPerformed(
            action_type="scroll", target=target, direction=_DIRECTIONS.get((event.direction or "").lower())
        )
    if kind == "set_text":
        return ActionPerformed(
            action_type="input_text", target=target, input_text=(event.text or "")[:10_000]
        )
    if kind == "key":
        if event.name == "BACK":
            return ActionPerformed(action_type="back")
        if event.name == "HOME":
            return ActionPerformed(action_type="home")
        return ActionPerformed(action_type="key", key_code=(event.name or "UNKNOWN")[:100])
    if kind == "intent":
        return ActionPerformed(action_type="intent", intent=(event.intent or "")[:5000])
    return None


def _list(directory: Path) -> list[str]:
    try:
        return [entry.name for entry in directory.iterdir()]
    except FileNotFoundError:
        raise MalformedOutput(str(directory), "missing") from None
    except OSError as error:
        raise MalformedOutput(str(directory), str(error)) from error


def _read_json(file: Path, model: type[M]) -> M:
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MalformedOutput(str(file), f"not JSON: {error}") from error
    except OSError as error:
        raise MalformedOutput(str(file), str(error)) from error
    return _checked(file, value, model)


def _checked(file: Path, value: object, model: type[M]) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as error:
        first = error.errors()[0]
        where = "/" + "/".join(str(part) for part in first["loc"]) if first["loc"] else "(root)"
        raise MalformedOutput(str(file), f"{where} {first['msg']}") from None


def _read_utg(file: Path) -> _Utg:
    """``utg.js`` is a script, ``var utg = {...}``: the JSON after the first ``{``."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MalformedOutput(str(file), "missing") from None
    try:
        value = json.loads(text[text.find("{") :].strip().removesuffix(";"))
    except json.JSONDecodeError as error:
        raise MalformedOutput(str(file), f'not a "var utg = {{...}}" script: {error}') from error
    return _checked(file, value, _Utg)


@dataclass(frozen=True)
class ImportSummary:
    """What an imported DroidBot run amounts to, in the app's graph once projected."""

    run_id: str
    app_package: str
    events: int
    """Events in the run's log, lifecycle events included."""
    droidbot: dict[str, int]
    """DroidBot's own counts (states, structures, edges) and what had no place in the run."""
    new_screens: int | None = None
    """Screens this run found first; None without waiting for the projection."""
    screens: int | None = None
    edges: int | None = None

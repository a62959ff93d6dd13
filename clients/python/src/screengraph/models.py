"""The services' answers as typed models: snake_case attributes over the API's camelCase JSON.

``tests/test_models_match_openapi.py`` checks every model against the services' OpenAPI documents
(fields, which are required, which may be null, their types), so a schema change the models do not
follow fails the tests. Fields the services add later are kept (``extra="allow"``), not refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

RunStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
EventType = Literal[
    "run.created",
    "run.started",
    "run.completed",
    "run.failed",
    "run.cancelled",
    "screen.observed",
    "action.performed",
]
ActionType = Literal[
    "tap", "long_press", "swipe", "scroll", "input_text", "back", "home", "launch", "key", "intent"
]
ArtifactKind = Literal["screenshot", "ui_hierarchy", "log", "other"]
ExportFormat = Literal["json", "cytoscape", "dot", "graphml"]

TERMINAL_EVENT_TYPES: frozenset[str] = frozenset({"run.completed", "run.failed", "run.cancelled"})
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


class Model(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)


# --- runs service ---------------------------------------------------------------------------


class Run(Model):
    """An exploration run."""

    run_id: str
    app_package: str
    status: RunStatus
    worker_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    failure_reason: str | None
    last_seq: int
    config: dict[str, Any] | None


class RunPage(Model):
    runs: list[Run]
    next_after: str | None


class AppendedEvent(Model):
    event_id: str
    seq: int


class AppendResult(Model):
    first_seq: int
    last_seq: int
    events: list[AppendedEvent]


class RunEvent(Model):
    """An event as stored: its envelope, and ``data`` as the type's schema has it (``typed_data``)."""

    event_id: str
    run_id: str
    app_package: str
    seq: int
    type: EventType
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any]

    @property
    def typed_data(self) -> EventDataModel:
        """``data`` as the model of the event's type (``ScreenObserved``, ``ActionPerformed``, ...)."""
        return EVENT_DATA_MODELS[self.type].model_validate(self.data)

    @property
    def is_terminal(self) -> bool:
        return self.type in TERMINAL_EVENT_TYPES


class EventPage(Model):
    events: list[RunEvent]
    next_after_seq: int | None


class Outbox(Model):
    """How far a run's events are published."""

    run_id: str
    last_seq: int
    published_seq: int
    lag: int
    published_stream_seq: int
    updated_at: datetime


class Artifact(Model):
    artifact_id: str
    run_id: str
    kind: ArtifactKind
    content_type: str
    byte_size: int
    sha256: str
    created_at: datetime


class Snapshot(Model):
    run_id: str
    seq: int
    worker_id: str
    state: dict[str, Any]
    created_at: datetime


class SnapshotReceipt(Model):
    run_id: str
    seq: int
    worker_id: str
    created_at: datetime


class Replay(Model):
    """A run's newest snapshot and the events after it."""

    run: Run
    snapshot: Snapshot | None
    events: list[RunEvent]
    next_after_seq: int | None


# --- event data -------------------------------------------------------------------------------


class EventDataModel(Model):
    """The ``data`` of one event type; the agent's own types are appended as they are."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)
    event_type: ClassVar[EventType]


class RunCreatedData(EventDataModel):
    event_type: ClassVar[EventType] = "run.created"
    app_package: str
    config: dict[str, Any] | None = None


class RunStartedData(EventDataModel):
    event_type: ClassVar[EventType] = "run.started"
    worker_id: str


class RunCompletedData(EventDataModel):
    event_type: ClassVar[EventType] = "run.completed"
    worker_id: str


class RunFailedData(EventDataModel):
    event_type: ClassVar[EventType] = "run.failed"
    reason: str
    worker_id: str | None


class RunCancelledData(EventDataModel):
    event_type: ClassVar[EventType] = "run.cancelled"
    reason: str | None


class ScreenObserved(EventDataModel):
    """A screen the agent saw: its hierarchy inline (``hierarchy_xml``) or as an artifact."""

    event_type: ClassVar[EventType] = "screen.observed"
    activity: str | None = None
    hierarchy_xml: str | None = None
    hierarchy_artifact_id: str | None = None
    screenshot_artifact_id: str | None = None
    width: int | None = None
    height: int | None = None
    layout_hash: str | None = None
    perceptual_hash: str | None = None


class Target(Model):
    """The element an action was taken on: its pixel bounds ``(x1, y1, x2, y2)`` and what it says."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)
    bounds: tuple[int, int, int, int] | None = None
    resource_id: str | None = None
    class_name: str | None = None
    text: str | None = None
    content_desc: str | None = None


class ActionPerformed(EventDataModel):
    """An action the agent took on the screen it observed last."""

    event_type: ClassVar[EventType] = "action.performed"
    action_type: ActionType
    target: Target | None = None
    target_selector: str | None = None
    input_text: str | None = None
    direction: Literal["up", "down", "left", "right"] | None = None
    key_code: str | None = None
    intent: str | None = None

    @classmethod
    def on(
        cls,
        action: IdentifiedAction,
        *,
        input_text: str | None = None,
        direction: Literal["up", "down", "left", "right"] | None = None,
    ) -> ActionPerformed:
        """The record of taking an action ``identify`` gave: its type, selector and target in pixels."""
        target = None
        if action.bounds is not None:
            x1, y1, x2, y2 = (round(edge) for edge in action.bounds)
            target = Target(
                bounds=(x1, y1, x2, y2), resource_id=action.target_resource_id, class_name=action.target_class
            )
        return cls(
            action_type=action.action_type,
            target=target,
            target_selector=action.target_selector,
            input_text=input_text,
            direction=direction,
        )


EventData = (
    RunCreatedData
    | RunStartedData
    | RunCompletedData
    | RunFailedData
    | RunCancelledData
    | ScreenObserved
    | ActionPerformed
)

EVENT_DATA_MODELS: dict[str, type[EventDataModel]] = {
    model.event_type: model
    for model in (
        RunCreatedData,
        RunStartedData,
        RunCompletedData,
        RunFailedData,
        RunCancelledData,
        ScreenObserved,
        ActionPerformed,
    )
}


# --- graph service ----------------------------------------------------------------------------


class AppSummary(Model):
    app_package: str
    screens: int
    actions: int
    edges: int
    runs: int


class Seen(Model):
    """Where a row was seen: a run and the seq of the event in it."""

    run_id: str
    seq: int
    at: datetime


class Screen(Model):
    screen_id: str
    layout_hash: str
    identity_version: int | None
    activity: str | None
    width: int | None
    height: int | None
    title: str | None
    perceptual_hash: str | None
    screenshot_artifact_id: str | None
    first: Seen
    last: Seen
    observations: int


class Action(Model):
    action_id: str
    screen_id: str
    action_type: ActionType
    origin: Literal["discovered", "performed"]
    target_selector: str | None
    target_bounds: list[float] | None
    target_class: str | None
    target_resource_id: str | None


class Edge(Model):
    edge_id: str
    from_screen_id: str
    action_id: str
    to_screen_id: str
    first: Seen
    last: Seen
    observations: int


class Graph(Model):
    app_package: str
    screens: list[Screen]
    actions: list[Action]
    edges: list[Edge]


class ScreenPage(Model):
    screens: list[Screen]
    next_after: str | None


class LeadsTo(Model):
    edge_id: str
    to_screen_id: str
    observations: int


class ScreenAction(Action):
    """An action of a screen, with what the graph knows of it."""

    explored: bool
    leads_to: list[LeadsTo]


class ScreenDetail(Model):
    screen: Screen
    runs: int
    actions: list[ScreenAction]
    incoming: list[Edge]


class PathStep(Model):
    """One action of a path: where to act (``target_center`` in pixels) and where it leads."""

    from_screen_id: str
    action_id: str
    action_type: str
    target_selector: str | None
    target_bounds: list[float] | None
    target_center: tuple[int, int] | None
    to_screen_id: str


class Path(Model):
    """The fewest actions from one screen to another; no steps when they are the same."""

    from_: str = Field(alias="from")
    to: str
    steps: list[PathStep]


class FrontierEntry(Model):
    """An unexplored action, with the steps from ``from`` to its screen."""

    action_id: str
    screen_id: str
    action_type: str
    target_selector: str | None
    target_bounds: list[float] | None
    target_center: tuple[int, int] | None
    distance: int | None
    path: list[PathStep] | None


class Frontier(Model):
    """Unexplored actions, nearest to ``from_`` first when it is given."""

    from_: str | None = Field(alias="from")
    actions: list[FrontierEntry]


class RunCoverage(Model):
    run_id: str
    new_screens: int
    series: list[tuple[int, int]]


class Coverage(Model):
    app_package: str
    screens: int
    actions: int
    explored_actions: int
    explored_ratio: float
    edges: int
    runs: int
    per_run: list[RunCoverage]


class IdentifiedAction(Model):
    action_id: str
    action_type: ActionType
    target_selector: str | None
    label: str | None
    target_class: str | None
    target_resource_id: str | None
    bounds: tuple[float, float, float, float] | None
    center: tuple[int, int] | None
    instances: int
    explored: bool
    leads_to: list[LeadsTo]


class ScreenIdentity(Model):
    """Which screen a hierarchy is, whether the graph knows it, and its actions in pixels."""

    app_package: str
    layout_hash: str
    identity_version: int
    screen_id: str
    known: bool
    screen: Screen | None
    runs: int
    width: int | None
    height: int | None
    actions: list[IdentifiedAction]


class ActivitySummary(Model):
    activity: str | None
    screens: int
    actions: int
    explored_actions: int


class ActivityTransition(Model):
    from_activity: str | None
    to_activity: str | None
    edges: int
    observations: int


class LeastExplored(Model):
    screen_id: str
    activity: str | None
    actions: int
    unexplored_actions: int


class GraphSummary(Model):
    app_package: str
    screens: int
    actions: int
    explored_actions: int
    edges: int
    runs: int
    entry_screen_id: str | None
    entry_activity: str | None
    activities: list[ActivitySummary]
    transitions: list[ActivityTransition]
    least_explored: list[LeastExplored]


class Projection(Model):
    run_id: str
    app_package: str | None
    projected_seq: int
    head_seq: int | None
    lag: int | None
    current_screen_id: str | None
    outcomes: dict[str, int]


class RebuildResult(Model):
    app_package: str | None
    runs: int
    events: int
    duration_ms: int
    events_per_second: int


class IdentityRules(Model):
    version: int
    layout_hash: str
    rules: list[str]
    documentation: str

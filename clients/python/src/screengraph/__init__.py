"""ScreenGraph from Python: record Android exploration runs, query the screen graph every run builds.

    from screengraph import ScreenGraph

    with ScreenGraph(runs_url="http://127.0.0.1:3001", graph_url="http://127.0.0.1:3002") as sg:
        run = sg.runs.create_run("com.example.app")

``AsyncScreenGraph`` is the same for asyncio code. Errors are ``ScreenGraphError``\\s; the services'
refusals are ``ApiError``\\s carrying the stable ``SG_*`` code.
"""

from ._async.client import AsyncScreenGraph
from ._async.droidbot_import import import_droidbot as import_droidbot_async
from ._async.graph import AsyncGraphClient
from ._async.runs import MAX_EVENTS_PER_APPEND, AsyncRunsClient
from ._http import ConnectionLost, RetryPolicy
from ._sync.client import ScreenGraph
from ._sync.droidbot_import import import_droidbot
from ._sync.graph import GraphClient
from ._sync.runs import RunsClient
from .droidbot import DroidBotOutput, ImportSummary, read_droidbot_output
from .errors import ApiError, MalformedOutput, ProjectionTimeout, ScreenGraphError, ServiceUnreachable
from .events import AgentEvent, new_ulid
from .models import (
    Action,
    ActionPerformed,
    AppendResult,
    AppSummary,
    Artifact,
    Coverage,
    Edge,
    EventPage,
    Frontier,
    FrontierEntry,
    Graph,
    GraphSummary,
    IdentityRules,
    Outbox,
    Path,
    PathStep,
    Projection,
    RebuildResult,
    Replay,
    Run,
    RunEvent,
    RunPage,
    Screen,
    ScreenDetail,
    ScreenIdentity,
    ScreenObserved,
    ScreenPage,
    Snapshot,
    SnapshotReceipt,
    Target,
)

__version__ = "0.1.0"

__all__ = [
    "MAX_EVENTS_PER_APPEND",
    "Action",
    "ActionPerformed",
    "AgentEvent",
    "ApiError",
    "AppSummary",
    "AppendResult",
    "Artifact",
    "AsyncGraphClient",
    "AsyncRunsClient",
    "AsyncScreenGraph",
    "ConnectionLost",
    "Coverage",
    "DroidBotOutput",
    "Edge",
    "EventPage",
    "Frontier",
    "FrontierEntry",
    "Graph",
    "GraphClient",
    "GraphSummary",
    "IdentityRules",
    "ImportSummary",
    "MalformedOutput",
    "Outbox",
    "Path",
    "PathStep",
    "Projection",
    "ProjectionTimeout",
    "RebuildResult",
    "Replay",
    "RetryPolicy",
    "Run",
    "RunEvent",
    "RunPage",
    "RunsClient",
    "Screen",
    "ScreenDetail",
    "ScreenGraph",
    "ScreenGraphError",
    "ScreenIdentity",
    "ScreenObserved",
    "ScreenPage",
    "ServiceUnreachable",
    "Snapshot",
    "SnapshotReceipt",
    "Target",
    "__version__",
    "import_droidbot",
    "import_droidbot_async",
    "new_ulid",
    "read_droidbot_output",
]

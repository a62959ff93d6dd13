"""The models cannot drift from the services: each is checked against the OpenAPI documents.

For every model, the schema the services publish at ``/openapi.json`` for the answer it reads (and
the runs service's ``components.schemas`` for each event type's data) must have the same fields,
each required or optional as the model has it, nullable as the model has it, and of the same type,
down through nested objects, arrays and tuples. A schema change the models do not follow fails here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from screengraph import models

from .conftest import Stack

Shape = tuple[Any, ...]

# (model, service, method, path, status, where in the answer), or (model, "runs", component name).
ANSWERS: list[tuple[type[BaseModel], str, str, str, str, tuple[str, ...]]] = [
    (models.Run, "runs", "get", "/runs/{runId}", "200", ()),
    (models.RunPage, "runs", "get", "/runs", "200", ()),
    (models.AppendResult, "runs", "post", "/runs/{runId}/events", "201", ()),
    (models.EventPage, "runs", "get", "/runs/{runId}/events", "200", ()),
    (models.Outbox, "runs", "get", "/runs/{runId}/outbox", "200", ()),
    (models.Artifact, "runs", "post", "/runs/{runId}/artifacts", "201", ()),
    (models.Snapshot, "runs", "get", "/runs/{runId}/snapshots/latest", "200", ()),
    (models.SnapshotReceipt, "runs", "post", "/runs/{runId}/snapshots", "201", ()),
    (models.Replay, "runs", "get", "/runs/{runId}/replay", "200", ()),
    (models.AppSummary, "graph", "get", "/apps", "200", ("apps", "[]")),
    (models.Graph, "graph", "get", "/apps/{appPackage}/graph", "200", ()),
    (models.ScreenPage, "graph", "get", "/apps/{appPackage}/screens", "200", ()),
    (models.ScreenDetail, "graph", "get", "/apps/{appPackage}/screens/{screenId}", "200", ()),
    (models.ScreenDetail, "graph", "get", "/apps/{appPackage}/screens/lookup", "200", ()),
    (models.ScreenIdentity, "graph", "post", "/apps/{appPackage}/screens/identify", "200", ()),
    (models.Path, "graph", "get", "/apps/{appPackage}/path", "200", ()),
    (models.Frontier, "graph", "get", "/apps/{appPackage}/frontier", "200", ()),
    (models.Coverage, "graph", "get", "/apps/{appPackage}/coverage", "200", ()),
    (models.GraphSummary, "graph", "get", "/apps/{appPackage}/summary", "200", ()),
    (models.IdentityRules, "graph", "get", "/identity", "200", ()),
    (models.Projection, "graph", "get", "/runs/{runId}/projection", "200", ()),
    (models.RebuildResult, "graph", "post", "/admin/rebuild", "200", ()),
]
EVENT_DATA: list[tuple[type[BaseModel], str]] = [
    (models.RunCreatedData, "RunCreatedData"),
    (models.RunStartedData, "RunStartedData"),
    (models.RunCompletedData, "RunCompletedData"),
    (models.RunFailedData, "RunFailedData"),
    (models.RunCancelledData, "RunCancelledData"),
    (models.ScreenObserved, "ScreenObservedData"),
    (models.ActionPerformed, "ActionPerformedData"),
]


@pytest.fixture(scope="module")
def documents(stack: Stack) -> dict[str, dict[str, Any]]:
    return {
        name: httpx.get(f"{url}/openapi.json", headers={"authorization": f"Bearer {stack.token}"}, timeout=30)
        .raise_for_status()
        .json()
        for name, url in (("runs", stack.runs_url), ("graph", stack.graph_url))
    }


def shape(schema: dict[str, Any], defs: dict[str, Any]) -> Shape:
    """A schema reduced to what the models must agree on, from OpenAPI 3.0 or pydantic's JSON Schema."""
    if "$ref" in schema:
        return shape(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    nullable = bool(schema.get("nullable"))
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        rest = [each for each in variants if each.get("type") != "null"]
        if len(rest) == 1:
            inner = shape(rest[0], defs)
            return (*inner[:-1], True)
        return (
            "union",
            tuple(sorted(str(shape(each, defs)) for each in rest)),
            nullable or len(rest) < len(variants),
        )
    if "const" in schema:
        return ("enum", (schema["const"],), nullable)
    if "enum" in schema:
        return ("enum", tuple(sorted(schema["enum"])), nullable)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        if properties is None:
            values = schema.get("additionalProperties")
            return (
                "map",
                shape(values, defs) if isinstance(values, dict) and values else ("any", False),
                nullable,
            )
        required = set(schema.get("required", []))
        fields = {
            name: (name in required, _optional(shape(value, defs), name in required))
            for name, value in properties.items()
        }
        return ("object", tuple(sorted(fields.items())), nullable)
    if kind == "array":
        items = schema.get("prefixItems") or schema.get("items")
        if isinstance(items, list):
            return ("tuple", tuple(shape(each, defs) for each in items), nullable)
        return ("array", shape(items or {}, defs), nullable)
    if kind in ("string", "integer", "number", "boolean"):
        return (kind, nullable)
    return ("any", nullable)


def _optional(field: Shape, required: bool) -> Shape:
    # A field that may be absent: the model's None means "not sent", whatever nullable says.
    return field if required else (*field[:-1], False)


def differences(model: Shape, published: Shape, where: str = "") -> list[str]:
    """Where two shapes disagree, as readable lines."""
    if model[0] != published[0]:
        return [f"{where or '(root)'}: the model has {model[0]}, the service {published[0]}"]
    found: list[str] = []
    if model[-1] != published[-1]:
        found.append(f"{where or '(root)'}: nullable in the {'model' if model[-1] else 'service'} only")
    if model[0] == "object":
        ours, theirs = dict(model[1]), dict(published[1])
        for name in sorted(set(ours) | set(theirs)):
            if name not in theirs:
                found.append(f"{where}.{name}: in the model, not in the service's schema")
            elif name not in ours:
                found.append(f"{where}.{name}: in the service's schema, not in the model")
            else:
                if ours[name][0] != theirs[name][0]:
                    required = "required" if theirs[name][0] else "optional"
                    found.append(f"{where}.{name}: {required} in the service's schema, not in the model")
                found += differences(ours[name][1], theirs[name][1], f"{where}.{name}")
    elif model[0] in ("array", "map"):
        found += differences(model[1], published[1], f"{where}[]")
    elif model[0] == "tuple":
        if len(model[1]) != len(published[1]):
            found.append(
                f"{where}: a tuple of {len(model[1])} in the model, of {len(published[1])} in the service"
            )
        for index, (ours_item, theirs_item) in enumerate(zip(model[1], published[1], strict=False)):
            found += differences(ours_item, theirs_item, f"{where}[{index}]")
    elif model[0] in ("enum", "union") and model[1] != published[1]:
        found.append(f"{where}: {model[1]} in the model, {published[1]} in the service")
    return found


def model_shape(model: type[BaseModel]) -> Shape:
    schema = model.model_json_schema(by_alias=True)
    return shape(schema, schema.get("$defs", {}))


def answer_schema(
    document: dict[str, Any], method: str, path: str, status: str, where: tuple[str, ...]
) -> Shape:
    schema = document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    for step in where:
        schema = schema["items"] if step == "[]" else schema["properties"][step]
    return shape(schema, {})


@pytest.mark.parametrize(
    ("model", "service", "method", "path", "status", "where"),
    ANSWERS,
    ids=[f"{each[0].__name__}<-{each[2].upper()} {each[3]}" for each in ANSWERS],
)
def test_each_model_is_what_the_service_answers(
    documents: dict[str, dict[str, Any]],
    model: type[BaseModel],
    service: str,
    method: str,
    path: str,
    status: str,
    where: tuple[str, ...],
) -> None:
    found = differences(model_shape(model), answer_schema(documents[service], method, path, status, where))
    assert found == [], f"{model.__name__} has drifted from {method.upper()} {path}:\n" + "\n".join(found)


@pytest.mark.parametrize(("model", "component"), EVENT_DATA, ids=[each[1] for each in EVENT_DATA])
def test_each_event_data_model_is_the_event_contract(
    documents: dict[str, dict[str, Any]], model: type[BaseModel], component: str
) -> None:
    published = documents["runs"]["components"]["schemas"][component]
    found = differences(model_shape(model), shape(published, {}))
    assert found == [], f"{model.__name__} has drifted from the event contract {component}:\n" + "\n".join(
        found
    )


def test_a_changed_schema_is_reported(documents: dict[str, dict[str, Any]]) -> None:
    run = documents["runs"]["paths"]["/runs/{runId}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    changed = {**run["schema"], "properties": dict(run["schema"]["properties"])}
    changed["properties"]["priority"] = {"type": "integer"}
    changed["required"] = [*changed["required"], "priority"]
    del changed["properties"]["failureReason"]
    changed["properties"]["lastSeq"] = {"type": "string"}
    changed["properties"]["workerId"] = {"type": "string"}
    assert differences(model_shape(models.Run), shape(changed, {})) == [
        ".failureReason: in the model, not in the service's schema",
        ".lastSeq: the model has integer, the service string",
        ".priority: in the service's schema, not in the model",
        ".workerId: nullable in the model only",
    ]

"""The TypeScript client's retry rules, in Python: through a proxy that loses answers and says 503."""

from __future__ import annotations

import socket

import pytest

from screengraph import (
    ActionPerformed,
    ApiError,
    ConnectionLost,
    RetryPolicy,
    ScreenGraph,
    ServiceUnreachable,
)

from .conftest import FAST_RETRY, Stack
from .fault_proxy import fault_proxy
from .screens import observe

WORKER = "python-retries"


def test_a_dropped_connection_a_503_and_a_refused_connection_never_a_4xx(
    stack: Stack, app_package: str
) -> None:
    with (
        fault_proxy(stack.runs_url) as proxy,
        ScreenGraph(proxy.url, stack.graph_url, token=stack.token, retry=FAST_RETRY) as sg,
    ):
        run = sg.runs.create_run(app_package)
        claim_path = f"/runs/{run.run_id}/claim"
        proxy.inject("drop-after-forward", lambda method, path: (method, path) == ("POST", claim_path))
        assert sg.runs.claim_run(run.run_id, WORKER).status == "running", "claimed, the lost answer retried"
        assert proxy.count(f"POST {claim_path}") == 2

        append_path = f"/runs/{run.run_id}/events"
        proxy.inject("drop-after-forward", lambda method, path: (method, path) == ("POST", append_path))
        result = sg.runs.append(
            run.run_id, WORKER, [observe(app_package, f"Screen{i}", ["ok"]) for i in range(20)]
        )
        assert proxy.count(f"POST {append_path}") == 2, "the append reached the service twice"
        assert (result.first_seq, result.last_seq) == (3, 22), "the retry got the seqs of the first attempt"
        page = sg.runs.events(run.run_id, limit=1000)
        assert [e.seq for e in page.events] == list(range(1, 23)), "each event stored once"
        assert len({e.event_id for e in page.events}) == 22

        proxy.inject("unavailable", lambda method, path: (method, path) == ("POST", append_path))
        proxy.inject("unavailable", lambda method, path: (method, path) == ("POST", append_path))
        before = proxy.count(f"POST {append_path}")
        assert sg.runs.append(run.run_id, WORKER, [observe(app_package, "Again", ["ok"])]).last_seq == 23
        assert proxy.count(f"POST {append_path}") == before + 1, "two 503s (Retry-After: 0), then stored"

        proxy.inject("drop-after-forward", lambda method, path: (method, path) == ("POST", "/runs"))
        with pytest.raises(ConnectionLost):
            sg.runs.create_run(app_package)
        assert proxy.count("POST /runs") == 2, "creating a run is not sent again once it may have happened"
        proxy.inject("drop-after-forward", lambda method, path: (method, path) == ("POST", "/runs/claim"))
        with pytest.raises(ConnectionLost):
            sg.runs.claim(WORKER, app_package)
        assert proxy.count("POST /runs/claim") == 1, "nor is claiming the next queued run"

        before = proxy.count(f"POST {append_path}")
        # model_construct skips the model's own check, as a client in another language might.
        warp = ActionPerformed.model_construct(action_type="warp")  # type: ignore[arg-type]
        with pytest.raises(ApiError) as invalid:
            sg.runs.append(run.run_id, WORKER, [warp])
        assert invalid.value.status == 400 and invalid.value.code == "SG_INVALID_EVENT_DATA"
        assert proxy.count(f"POST {append_path}") == before + 1, "a 4xx is not retried"


def test_a_refused_connection_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = f"http://127.0.0.1:{port}"
    with ScreenGraph(
        nowhere, nowhere, retry=RetryPolicy(retries=2, initial_delay=0.001, max_delay=0.005)
    ) as sg:
        with pytest.raises(ServiceUnreachable) as unreachable:
            sg.runs.create_run("com.example.nowhere")
        assert unreachable.value.attempts == 3, "a connection never made is safe to retry, even a create"
        assert not sg.runs.ready()

"""The live stream: an iterator over Server-Sent Events that resumes from the last event it gave."""

from __future__ import annotations

import threading
import time

from screengraph import ActionPerformed, ScreenGraph

from .conftest import FAST_RETRY, Stack
from .fault_proxy import fault_proxy
from .screens import observe

WORKER = "python-live"


def test_a_cut_stream_is_resumed_each_event_once_in_order(
    stack: Stack, sg: ScreenGraph, app_package: str
) -> None:
    run = sg.runs.create_run(app_package)
    sg.runs.claim_run(run.run_id, WORKER)
    stream_path = f"/runs/{run.run_id}/events/stream"

    def produce() -> None:
        for i in range(12):
            sg.runs.append(
                run.run_id,
                WORKER,
                [observe(app_package, f"S{i}", ["ok"]), ActionPerformed(action_type="back")],
            )
            time.sleep(0.05)
        sg.runs.complete(run.run_id, WORKER)

    with (
        fault_proxy(stack.runs_url) as proxy,
        ScreenGraph(proxy.url, stack.graph_url, token=stack.token, retry=FAST_RETRY) as watcher,
    ):
        for _ in range(3):
            proxy.inject("cut-stream", lambda method, path: (method, path) == ("GET", stream_path))
        producer = threading.Thread(target=produce)
        producer.start()
        seqs = [event.seq for event in watcher.runs.watch(run.run_id)]
        producer.join()
        assert proxy.count(f"GET {stream_path}") >= 4, "cut three times, resumed each time"
    assert seqs == list(range(1, 28)), "every event once, in order, ending with run.completed"

"""Both services for the session, as the TypeScript suites start them.

``packages/testing/src/stack-cli.ts`` starts the runs and graph services on databases, ports, a
stream and a consumer of their own, prints their URLs, and stops exactly what it started when its
stdin closes. Tests that read ``../shared/data`` skip, saying so, in a clone without it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from screengraph import RetryPolicy, ScreenGraph

ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get("SCREENGRAPH_SHARED_DATA", ROOT.parent / "shared" / "data"))
NODE = ["node", "--conditions=@screengraph/source", "--import", "tsx"]
TOKEN = "python-client-test-token-0123"

# Quick retries: the tests wait for faults they make themselves.
FAST_RETRY = RetryPolicy(retries=6, initial_delay=0.01, max_delay=0.05)


@dataclass(frozen=True)
class Stack:
    runs_url: str
    graph_url: str
    token: str

    def client(self, **options: object) -> ScreenGraph:
        return ScreenGraph(self.runs_url, self.graph_url, token=self.token, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    child = subprocess.Popen(
        [*NODE, "packages/testing/src/stack-cli.ts", "--token", TOKEN],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    line = child.stdout.readline()
    if not line:
        child.wait(timeout=60)
        raise RuntimeError(f"the service stack did not start (exit {child.returncode}); its stderr is above")
    urls = json.loads(line)
    try:
        yield Stack(urls["runsUrl"], urls["graphUrl"], TOKEN)
    finally:
        child.stdin.close()
        child.wait(timeout=120)


@pytest.fixture
def sg(stack: Stack) -> Iterator[ScreenGraph]:
    with stack.client() as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app_package() -> str:
    """An app of the test's own, so tests sharing the stack never see each other's graphs."""
    return f"com.example.py{secrets.token_hex(4)}"


def shared_data(*parts: str) -> Path:
    """A file or folder of ``../shared/data``; the test skips, saying so, when it is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"no {path} beside this checkout (../shared/data or SCREENGRAPH_SHARED_DATA)")
    return path


def node(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Runs a TypeScript file of the repository (through tsx) and returns what it printed."""
    done = subprocess.run(
        [*NODE, script, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout

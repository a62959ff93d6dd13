"""Writes the synchronous client (``src/screengraph/_sync``) from the asynchronous one (``_async``).

The client is written once, with ``async``/``await``; this turns each module into its blocking twin
by token rules (``await x`` -> ``x``, ``AsyncTransport`` -> ``Transport``, ``asyncio.sleep`` ->
``time.sleep``, ...), as httpcore does, then lets ruff sort the imports and format the result.

    python scripts/unasync.py            # rewrite _sync
    python scripts/unasync.py --check    # fail if _sync is not what _async gives (the tests run this)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "screengraph"
SOURCE = PACKAGE / "_async"
TARGET = PACKAGE / "_sync"

# Whole-word replacements, in order.
WORDS = [
    ("AsyncScreenGraph", "ScreenGraph"),
    ("AsyncRunsClient", "RunsClient"),
    ("AsyncGraphClient", "GraphClient"),
    ("AsyncTransport", "Transport"),
    ("AsyncClient", "Client"),
    ("AsyncIterator", "Iterator"),
    ("asynccontextmanager", "contextmanager"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("aclose", "close"),
    ("aread", "read"),
    ("aiter_bytes", "iter_bytes"),
    ("aiter_sse", "iter_sse"),
    ("asynchronous", "synchronous"),
]
PATTERNS = [
    (re.compile(r"\basync def\b"), "def"),
    (re.compile(r"\basync for\b"), "for"),
    (re.compile(r"\basync with\b"), "with"),
    (re.compile(r"\bawait "), ""),
    (re.compile(r"\basyncio\.sleep\b"), "time.sleep"),
    (re.compile(r"^import asyncio$", re.MULTILINE), "import time"),
]
HEADER = "# Generated from ../_async/{name} by scripts/unasync.py: edit that file, then run the script.\n"


def unasync(text: str) -> str:
    for word, replacement in WORDS:
        text = re.sub(rf"\b{word}\b", replacement, text)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def generate(into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for source in sorted(SOURCE.glob("*.py")):
        (into / source.name).write_text(HEADER.format(name=source.name) + unasync(source.read_text()))
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(PACKAGE.parent.parent / "pyproject.toml")]
    # Duplicate `import time` lines (a module that used both), `yield from` where an `async for` was
    # a loop of yields, import order; then the layout.
    subprocess.run(
        [
            *ruff,
            "check",
            *config,
            "--fix",
            "--unsafe-fixes",
            "--select",
            "I,F401,F811,UP028",
            "-q",
            str(into),
        ],
        check=False,
    )
    subprocess.run([*ruff, "format", *config, "-q", str(into)], check=True)


def main() -> int:
    if "--check" not in sys.argv[1:]:
        generate(TARGET)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "_sync"
        generate(fresh)
        stale = [
            path.name
            for path in sorted(fresh.glob("*.py"))
            if not (TARGET / path.name).exists() or (TARGET / path.name).read_text() != path.read_text()
        ]
        extra = sorted({p.name for p in TARGET.glob("*.py")} - {p.name for p in fresh.glob("*.py")})
    if stale or extra:
        print(f"_sync is not what _async gives ({', '.join(stale + extra)}): run python scripts/unasync.py")
        return 1
    print("_sync is what _async gives")
    return 0


if __name__ == "__main__":
    sys.exit(main())

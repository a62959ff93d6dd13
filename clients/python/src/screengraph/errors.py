"""What the client raises: the services' stable ``SG_*`` codes, and the failures around them."""

from __future__ import annotations

from typing import Any


class ScreenGraphError(Exception):
    """The base of every error this client raises."""


class ApiError(ScreenGraphError):
    """A response that is not a success: the status, the service's stable ``SG_*`` code and message."""

    def __init__(self, status: int, body: dict[str, Any] | None, method: str, path: str) -> None:
        self.status = status
        self.body = body
        self.code: str = str(body["code"]) if body and isinstance(body.get("code"), str) else f"HTTP_{status}"
        self.message: str = str(body.get("message", "")) if body else ""
        super().__init__(f"{method} {path}: {status} {self.code} {self.message}".strip())


class ServiceUnreachable(ScreenGraphError):
    """Gave up on a request after the network failed every attempt."""

    def __init__(self, url: str, attempts: int, cause: BaseException) -> None:
        self.url = url
        self.attempts = attempts
        super().__init__(f"{url} unreachable after {attempts} attempt(s): {type(cause).__name__}: {cause}")
        self.__cause__ = cause


class ProjectionTimeout(ScreenGraphError):
    """A run's projection did not reach the awaited seq in time."""

    def __init__(self, run_id: str, projected_seq: int, awaited_seq: int | None) -> None:
        self.run_id = run_id
        self.projected_seq = projected_seq
        self.awaited_seq = awaited_seq
        head = "an unknown head" if awaited_seq is None else str(awaited_seq)
        super().__init__(f"run {run_id}: not projected in time (seq {projected_seq} of {head})")


class MalformedOutput(ScreenGraphError):
    """A DroidBot output folder that cannot be read: the file and what is wrong with it."""

    def __init__(self, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")

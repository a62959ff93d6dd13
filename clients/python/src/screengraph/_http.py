"""What the sync and the async transports share: a call, the retry rules, the error body."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from .errors import ApiError, ScreenGraphError

Query = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True)
class RetryPolicy:
    """When a request is sent again.

    Network errors and 503 are retried with exponential backoff and full jitter, waiting what a
    ``Retry-After`` header asks (at most ``max_delay``); a 4xx never is. A request that may have
    reached the service (the connection broke after it was sent) is sent again only when that is
    safe: never creating a run or claiming the next one.
    """

    retries: int = 6
    """Attempts after the first."""
    initial_delay: float = 0.1
    """Cap of the first pause, in seconds."""
    max_delay: float = 5.0
    """Cap of every pause, in seconds."""

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        asked = _retry_after_seconds(retry_after)
        if asked is not None:
            return min(asked, self.max_delay)
        return random.uniform(0, min(self.max_delay, self.initial_delay * 2**attempt))


@dataclass(frozen=True)
class Call:
    """One request to a service, with what makes it safe to send twice."""

    method: Literal["GET", "POST", "DELETE"]
    path: str
    idempotent: bool
    """Sending it twice does no harm: retried even when the connection broke after it was sent."""
    query: Query | None = None
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    ok: Callable[[int], bool] = lambda status: 200 <= status < 300
    """Statuses that are not errors."""
    retries: int | None = None
    """Attempts after the first, instead of the policy's."""

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = {"accept": "application/json", **self.headers}
        if self.content_type is not None:
            headers["content-type"] = self.content_type
        params = {key: _param(value) for key, value in (self.query or {}).items() if value is not None}
        return http.build_request(
            self.method,
            self.path,
            params=params,
            headers=headers,
            json=self.json,
            content=self.content,
        )


class ConnectionLost(ScreenGraphError):
    """The connection broke after the request was sent: it may have been carried out.

    Raised for requests that are not safe to repeat (creating a run, claiming the next queued one).
    """

    def __init__(self, method: str, path: str, cause: BaseException) -> None:
        super().__init__(f"{method} {path}: the connection broke after the request was sent ({cause!r})")
        self.__cause__ = cause


# Failures of a connection that never carried the request: always safe to retry.
NOT_SENT: tuple[type[BaseException], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def retryable(call: Call, error: httpx.TransportError) -> bool:
    return call.idempotent or isinstance(error, NOT_SENT)


def api_error(response: httpx.Response, call: Call) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return ApiError(response.status_code, body if isinstance(body, dict) else None, call.method, call.path)


def _param(value: str | int | float | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def auth_headers(token: str | None) -> dict[str, str]:
    """``Authorization: Bearer <token>`` when a token is set (SCREENGRAPH_API_TOKEN of the services)."""
    return {} if token is None else {"authorization": f"Bearer {token}"}

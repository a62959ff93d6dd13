"""Events an agent appends, each given its id (a ULID) and time once, before the first attempt."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .models import ActionPerformed, ScreenObserved

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A ULID: 48 bits of milliseconds and 80 random bits, 26 characters of Crockford base32."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(moment: datetime) -> datetime:
    """A time in UTC; one without a zone is taken to be UTC already."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class AgentEvent:
    """An event to append, with the id and time it keeps through every retry."""

    data: ScreenObserved | ActionPerformed
    event_id: str = field(default_factory=new_ulid)
    occurred_at: datetime = field(default_factory=_now)

    def wire(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "type": self.data.event_type,
            "occurredAt": _utc(self.occurred_at).isoformat().replace("+00:00", "Z"),
            "data": self.data.model_dump(by_alias=True, exclude_none=True, mode="json"),
        }


def identified(event: AgentEvent | ScreenObserved | ActionPerformed) -> AgentEvent:
    """The event with its id: an ``AgentEvent`` as it is, event data given one now."""
    return event if isinstance(event, AgentEvent) else AgentEvent(event)

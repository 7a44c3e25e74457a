"""Progress of a deploy, as typed events (:class:`Event`) handed to a callback."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Event", "EventKind"]


class EventKind(StrEnum):
    STEP = "step"  # a new phase
    PROGRESS = "progress"  # a transient update of the current phase
    INFO = "info"  # a line worth keeping
    WARNING = "warning"


@dataclass(frozen=True)
class Event:
    """One progress message of a deploy: its text and what kind of message it is."""

    text: str
    kind: EventKind = EventKind.INFO

    def __str__(self) -> str:
        return self.text

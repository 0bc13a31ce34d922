"""Time as a seam: code asks a clock passed in, never `datetime.now()` deep inside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock for tests and for `as_of` runs: it says what it was told."""

    at: datetime

    def now(self) -> datetime:
        return self.at

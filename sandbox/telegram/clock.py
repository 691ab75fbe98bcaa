"""The emulated Telegram's time: a virtual clock for everything an update shows, real time for the rest."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from .. import SandboxError


class VirtualClock:
    """Unix seconds that start at `start` and only move forward; call it for the current second.

    Nothing that appears in an update reads the wall clock, so the same seed gives the same dates. Real time
    (`monotonic`, replaceable in tests) is read only for retry delays, the setWebhook rate limit and long polls.
    The caller holds the emulator's lock.
    """

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.monotonic = time.monotonic
        self.reset()

    def reset(self) -> None:
        self._unix = int(self.start.timestamp())

    def __call__(self) -> int:
        return self._unix

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self._unix, timezone.utc)

    def advance(self, seconds: int) -> int:
        if seconds < 0:
            raise SandboxError("O relógio do sandbox só anda para frente.")
        self._unix += int(seconds)
        return self._unix

"""Flood control on the messages a bot sends, with the limits Telegram documents.

core.telegram.org/bots/faq ("My bot is hitting limits, how do I avoid this?"): a bot "will not be able to send
more than 20 messages per minute to the same group", and for messages to many chats "the API will not allow
more than 30 messages per second or so". Beyond them Telegram answers 429 "Too Many Requests: retry after N"
with parameters.retry_after, which client libraries' rate limiters and retry helpers read. The FAQ's third rule,
about one message per second in a single chat, tolerates short bursts and so has no exact limit to enforce here.

Real seconds (`monotonic`, replaceable in tests) count here, as they do for the bot sending.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

GROUP_LIMIT = (20, 60.0)  # messages, seconds: to one group (or supergroup, or channel)
OVERALL_LIMIT = (30, 1.0)  # messages, seconds: to all chats together


class FloodControl:
    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._sent: dict[int | None, deque[float]] = {}  # chat id (None: every chat) -> times of recent sends

    def reset(self) -> None:
        self._sent.clear()

    def retry_after(self, chat_id: int) -> int:
        """0 when a message to this chat may go now, else the whole seconds to wait (Telegram's retry_after)."""
        now = self._monotonic()
        waits = [self._wait(None, OVERALL_LIMIT, now)]
        if chat_id < 0:  # groups, supergroups and channels have negative ids
            waits.append(self._wait(chat_id, GROUP_LIMIT, now))
        return max(waits)

    def sent(self, chat_id: int) -> None:
        now = self._monotonic()
        for key in (None, chat_id):
            self._sent.setdefault(key, deque()).append(now)

    def _wait(self, key: int | None, limit: tuple[int, float], now: float) -> int:
        count, window = limit
        times = self._sent.get(key)
        while times and times[0] <= now - window:
            times.popleft()
        if not times or len(times) < count:
            return 0
        return max(1, math.ceil(times[-count] + window - now))

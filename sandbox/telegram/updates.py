"""The bot's update queue: updates serialized once, one queue per chat, getUpdates offsets and long polls."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from .clock import VirtualClock

UPDATE_TTL = 24 * 3600  # Telegram keeps an undelivered update until 24 h after its date
# Every update type name the server knows, in its order (Client::get_update_type_name, Bot API 10.0).
UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "inline_query", "chosen_inline_result",
    "callback_query", "custom_event", "custom_query", "shipping_query", "pre_checkout_query", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
    "message_reaction", "message_reaction_count", "business_connection", "business_message",
    "edited_business_message", "deleted_business_messages", "purchased_paid_media", "managed_bot",
    "guest_message",
)  # fmt: skip
# Update types a bot gets when allowed_updates is empty or was never given (DEFAULT_ALLOWED_UPDATE_TYPES).
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
DEFAULT_UPDATES = frozenset(UPDATE_TYPES) - NOT_BY_DEFAULT
MEMBER_UPDATES = frozenset({"my_chat_member", "chat_member", "chat_join_request"})


def dumps(value: object) -> bytes:
    """Compact JSON with non-ASCII escaped, as the Bot API server writes it."""
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Pending:
    update_id: int
    kind: str
    body: bytes  # serialized once: getUpdates and the webhook send the very same bytes
    queue: tuple  # ("chat" or "member", chat id): a webhook gets one request at a time per queue
    expires_at: int  # virtual clock: the update's date (or edit date) + 24 h


class PollSuperseded(Exception):
    """A waiting getUpdates call ended with 409: a newer call or a setWebhook arrived (Client::abort_long_poll)."""


SUPERSEDED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


class UpdateQueue:
    """Updates the bot has not confirmed, oldest first; expired ones (24 h on the virtual clock) are gone.

    The caller holds the emulator's lock, `changed`: a Condition notified whenever an update arrives, so the
    webhook's scheduler and long polls wake up.
    """

    def __init__(self, clock: VirtualClock, changed: threading.Condition) -> None:
        self.clock = clock
        self._changed = changed
        self.polls = 0  # getUpdates calls so far; a newer one ends the one still waiting
        self._interruptions = 0
        self._conflict: str | None = None
        self.refill: Callable[[], None] = lambda: None  # called when the bot has read every update
        self._refilling = False
        self.reset(first_update_id=1)

    def reset(self, first_update_id: int) -> None:
        self._next_update_id = first_update_id
        self._pending: OrderedDict[int, Pending] = OrderedDict()
        self._queues: dict[tuple, deque[int]] = {}
        self.allowed_updates: list[str] | None = None
        self.interrupt_polls()

    # ---- producing -------------------------------------------------------------------------------------
    def enqueue(self, kind: str, payload: dict, chat_id: int) -> dict | None:
        """Queue an update for the bot; None when allowed_updates filters it out or it is already 24 h old.

        Telegram keeps an update until 24 h after its date, the edit date for an edit, not after it was queued,
        and never queues one older than that (Client::add_message_update, Client::need_skip_update_message)."""
        allowed = self.allowed_updates
        if (allowed and kind not in allowed) or (not allowed and kind in NOT_BY_DEFAULT):
            return None
        expires_at = (payload.get("edit_date") or payload.get("date") or self.clock()) + UPDATE_TTL
        if expires_at <= self.clock():
            return None
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, kind: payload}
        queue = ("member" if kind in MEMBER_UPDATES else "chat", chat_id)
        self._pending[update_id] = Pending(update_id, kind, dumps(update), queue, expires_at)
        self._queues.setdefault(queue, deque()).append(update_id)
        self._changed.notify_all()
        return update

    # ---- reading ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        self._expire()
        return len(self._pending)

    def peek(self) -> list[dict]:
        """Every pending update, oldest first; nothing is confirmed."""
        self._expire()
        return [json.loads(p.body) for p in self._pending.values()]

    def bodies(self, limit: int) -> list[bytes]:
        self._expire()
        return [pending.body for _, pending in zip(range(limit), self._pending.values(), strict=False)]

    def heads(self) -> list[Pending]:
        """The oldest update of every queue, oldest first: the only ones a webhook may be sent now."""
        self._expire()
        return sorted((self._pending[q[0]] for q in self._queues.values()), key=lambda p: p.update_id)

    # ---- removing --------------------------------------------------------------------------------------
    def remove(self, update_id: int) -> None:
        pending = self._pending.pop(update_id, None)
        if pending is None:
            return
        queue = self._queues[pending.queue]
        if queue[0] == update_id:
            queue.popleft()
        else:
            queue.remove(update_id)
        if not queue:
            del self._queues[pending.queue]

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: forget updates below it; a negative offset keeps only the last -offset."""
        ids = list(self._pending)
        doomed = ids[: max(0, len(ids) + offset)] if offset < 0 else [u for u in ids if u < offset]
        for update_id in doomed:
            self.remove(update_id)

    def drop(self) -> None:
        """drop_pending_updates."""
        self._pending.clear()
        self._queues.clear()

    def has_pending(self) -> bool:
        return bool(self._pending)

    def _expire(self) -> None:
        """Forget expired updates; with none left, let the class talk on (`refill`, the group's play)."""
        for pending in [p for p in self._pending.values() if p.expires_at <= self.clock()]:
            self.remove(pending.update_id)
        if not self._pending and not self._refilling:
            self._refilling = True
            try:
                self.refill()
            finally:
                self._refilling = False

    # ---- long polling ----------------------------------------------------------------------------------
    def interrupt_polls(self, conflict: str | None = None) -> None:
        """A getUpdates still waiting answers at once: 409 `conflict` if given (setWebhook), else no updates."""
        self._interruptions += 1
        self._conflict = conflict
        self._changed.notify_all()

    def poll(self, offset: int, limit: int, timeout: int) -> list[bytes]:
        """getUpdates: confirm below `offset`, then wait up to `timeout` s for updates (at most `limit`).

        Raises PollSuperseded when a newer call arrives meanwhile, as Telegram ends the older one."""
        self.polls += 1
        poll, interruptions = self.polls, self._interruptions
        self._changed.notify_all()  # the poll still waiting learns it is superseded
        # An offset more than 10 past the next update id is ignored: td's TQueue::get refuses it ("Specified
        # from_id is in the future") and Client::do_get_updates then reads the queue from its head.
        if offset <= self._next_update_id + 10:
            self.confirm(offset)
        deadline = self.clock.monotonic() + timeout
        while True:
            if self._interruptions != interruptions:
                if self._conflict:
                    raise PollSuperseded(self._conflict)
                return []
            if self.polls != poll:
                raise PollSuperseded(SUPERSEDED)
            bodies = self.bodies(limit)
            remaining = deadline - self.clock.monotonic()
            if bodies or remaining <= 0:
                return bodies
            self._changed.wait(timeout=remaining)

"""The emulated Telegram as one object: builds its parts for a seed and is what the server, CLI and tests use.

The parts, each with its own role, share one lock (a Condition, so threads can wait on it):

- `clock` (clock.py): the virtual time every update shows;
- `group` (group.py): the bot, the people, their chats and messages, what reaches the bot;
- `updates` (updates.py): the update queue, getUpdates' offsets and long polls;
- `delivery` (delivery.py): the webhook, its scheduler thread, retries and last error;
- `wsgi_app` (botapi.py, control.py): the HTTP face, the Bot API and the control routes.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime

from .. import config
from . import webhook
from .botapi import make_wsgi_app
from .clock import VirtualClock
from .delivery import Transport, Webhook, WebhookDelivery
from .generator import generate_conversation
from .group import ClassGroup
from .people import Person, Roster, random_token_secret
from .updates import UpdateQueue


class TelegramSandbox:
    """Offline Telegram for one bot in a simulated class group. See the package docstring for the routes."""

    def __init__(
        self,
        seed: int = config.DEFAULT_SEED,
        start: datetime = config.DEFAULT_START,
        transport: Transport | None = None,
        resolver: Callable[[str], bool] | None = None,
        time_scale: float = 0.01,
        token_secret: str | None = None,
    ) -> None:
        # The bot's id and everything shown follow the seed; the token's secret half is random unless given,
        # so no web page can guess it (a seed-derived token would be the same on every install).
        self._token_secret = token_secret or random_token_secret()
        self.lock = threading.Condition(threading.RLock())  # hold it across calls that must see one state
        self.seed = seed
        self.wsgi_app = make_wsgi_app(self)
        with self.lock:
            self.clock = VirtualClock(start)
            self.updates = UpdateQueue(self.clock, self.lock)
            self.delivery = WebhookDelivery(
                self.updates,
                self.clock,
                self.lock,
                transport or webhook.requests_transport,
                resolver or webhook.dns_resolver,
                time_scale,
                on_reply=self.wsgi_app.api.run_webhook_reply,
            )
            self.reset(seed)

    # ---- lifecycle -------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Back to the initial state; the same seed gives the same bot id, people and updates."""
        with self.lock:
            if seed is not None:
                self.seed = seed
            base = f"telegram:{self.seed}"
            world = random.Random(f"{base}:world")  # draws, in this order: bot id, group ids, first update id
            self.clock.reset()
            self.group = ClassGroup(base, world, self._token_secret, self.clock, self.updates)
            self.updates.refill = self.group.play
            self.updates.reset(first_update_id=world.randint(100_000_000, 900_000_000))
            self.delivery.reset(random.Random(f"{base}:retries"))
            self.wsgi_app.api.flood.reset()
            self.group.open()

    def start(self) -> None:
        """Start webhook delivery (a scheduler thread plus one thread per request in flight)."""
        self.delivery.start()

    def stop(self) -> None:
        """Stop delivering; requests in flight finish in the background and their results still count."""
        self.delivery.stop()

    # ---- what the group shows --------------------------------------------------------------------------
    @property
    def token(self) -> str:
        return self.group.token

    @property
    def bot(self) -> Person:
        return self.group.bot

    @property
    def group_chat_id(self) -> int:
        return self.group.group_chat_id

    @property
    def roster(self) -> Roster:
        return self.group.roster

    @property
    def webhook(self) -> Webhook | None:
        return self.delivery.webhook

    @property
    def now(self) -> datetime:
        return self.clock.now

    def group_chat(self) -> dict:
        with self.lock:
            return self.group.group_chat()

    def person(self, who: str | int | Person) -> Person:
        with self.lock:
            return self.group.person(who)

    def participants(self) -> list[dict]:
        with self.lock:
            return self.group.participants()

    def pending_updates(self) -> list[dict]:
        """Undelivered/unconfirmed updates, oldest first (a peek: nothing is confirmed)."""
        with self.lock:
            return self.updates.peek()

    def status(self) -> dict:
        with self.lock:
            group, hook, error = self.group, self.delivery.webhook, self.delivery.last_error
            return {
                "bot": {
                    "id": group.bot.id,
                    "username": group.bot.username,
                    "first_name": group.bot.first_name,
                },
                "token": group.token,
                "group": {**group.group_chat(), "bot_is_member": group.bot_in_group},
                "privacy_mode": group.privacy,
                "bot_reads_all_group_messages": group.bot_reads_all,
                "pending_update_count": len(self.updates),
                "webhook": {
                    "url": hook.url if hook else "",
                    "delivering": self.delivery.running,
                    "last_error_message": error[1] if error else None,
                },
                "clock": {"unix": self.clock(), "iso": self.clock.now.isoformat()},
                "seed": self.seed,
                "participants": group.headcount(),
                "messages": group.message_count(),
                "scheduled_messages": group.scheduled,
            }

    # ---- what happens in it (the control routes' Python API) --------------------------------------------
    def advance_clock(self, seconds: int) -> int:
        """Move the virtual clock forward (e.g. 25 h to watch undelivered updates expire)."""
        with self.lock:
            unix = self.clock.advance(seconds)
            self.lock.notify_all()  # the scheduler and long polls look again: updates may have expired
            return unix

    def post(self, who, text: str, *, reply_to: int | None = None, private: bool = False) -> dict:
        """A participant sends a text (in the group, or privately to the bot). Returns message and update_id."""
        with self.lock:
            return self.group.post(who, text, reply_to=reply_to, private=private)

    def post_photo(self, who, caption: str | None = None, *, reply_to: int | None = None) -> dict:
        with self.lock:
            return self.group.post_photo(who, caption, reply_to=reply_to)

    def post_sticker(self, who, emoji: str | None = None, *, reply_to: int | None = None) -> dict:
        with self.lock:
            return self.group.post_sticker(who, emoji, reply_to=reply_to)

    def post_voice(self, who, duration: int | None = None, *, reply_to: int | None = None) -> dict:
        with self.lock:
            return self.group.post_voice(who, duration, reply_to=reply_to)

    def post_document(self, who, file_name: str = "material.pdf", caption: str | None = None) -> dict:
        with self.lock:
            return self.group.post_document(who, file_name, caption)

    def post_poll(self, who, question: str, options: list[str]) -> dict:
        with self.lock:
            return self.group.post_poll(who, question, options)

    def post_location(self, who, latitude: float, longitude: float) -> dict:
        with self.lock:
            return self.group.post_location(who, latitude, longitude)

    def edit(self, message_id: int, text: str, *, chat_id: int | None = None) -> dict:
        with self.lock:
            return self.group.edit(message_id, text, chat_id=chat_id)

    def join(self, who: str | int | None = None) -> dict:
        with self.lock:
            return self.group.join(who)

    def leave(self, who: str | int) -> dict:
        with self.lock:
            return self.group.leave(who)

    def migrate(self, who: str | int | None = None) -> dict:
        with self.lock:
            return self.group.migrate(who)

    def set_privacy(self, enabled: bool, readd: bool = True) -> dict:
        with self.lock:
            return self.group.set_privacy(enabled, readd)

    def generate(
        self, participants: int = 12, days: int = 7, messages_count: int = 2000, seed: int | None = None
    ) -> dict:
        """Plan a class conversation over the `days` after now; it happens as the bot reads (see group.play)."""
        with self.lock:
            summary, script = generate_conversation(
                self.group, participants, days, messages_count, self.seed if seed is None else seed
            )
            self.group.schedule(summary, script)
            self.lock.notify_all()  # the webhook's scheduler and a waiting long poll look again
            return summary

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: forget updates below it."""
        with self.lock:
            self.updates.confirm(offset)

    def deliver_external(self, update: object) -> dict:
        return self.delivery.deliver_external(update)

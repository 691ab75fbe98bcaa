"""State of the emulated Telegram: one bot, its class group, its update queue and its webhook delivery."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import config
from . import messages, webhook
from .people import (
    GIFT_TYPES,
    GROUP_ANONYMOUS_BOT,
    GROUP_TITLE,
    Person,
    Roster,
    make_bot,
    make_group_ids,
    make_token,
    random_token_secret,
)

logger = logging.getLogger(__name__)

UPDATE_TTL = 24 * 3600  # Telegram keeps an undelivered update for 24 h
# Update types a bot gets when allowed_updates is empty or was never given.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MEMBER_UPDATES = frozenset({"my_chat_member", "chat_member", "chat_join_request"})

Transport = Callable[[str, dict, bytes, float], tuple[int, bytes]]


class SandboxError(ValueError):
    """A request the simulated group cannot honour; the message is pt-BR and shown to the learner."""


@dataclass
class Pending:
    update_id: int
    kind: str
    body: bytes  # serialized once: getUpdates and the webhook send the very same bytes
    queue: tuple
    queued_at: int  # virtual clock
    failures: int = 0
    next_attempt: float = 0.0  # monotonic seconds


@dataclass
class Webhook:
    url: str
    max_connections: int
    secret_token: str | None
    ip_address: str | None


def dumps(value: object) -> bytes:
    """Compact JSON with non-ASCII escaped, as the Bot API server writes it."""
    return json.dumps(value, separators=(",", ":")).encode()


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
        self.transport = transport or webhook.requests_transport
        self.resolver = resolver or webhook.dns_resolver
        self.time_scale = time_scale
        self._start = start
        self._monotonic = time.monotonic  # real time, only for retries, rate limits and long polls
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # new update, delivery done, webhook changed
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._poll_generation = 0
        self._epoch = 0
        self.seed = seed
        self.reset(seed)
        from .botapi import make_wsgi_app

        self.wsgi_app = make_wsgi_app(self)

    # ---- lifecycle -------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Back to the initial state; the same seed gives the same bot id, people and updates."""
        with self._lock:
            if seed is not None:
                self.seed = seed
            base = f"telegram:{self.seed}"
            world = random.Random(f"{base}:world")
            self._rng = random.Random(f"{base}:events")
            self._retry_rng = random.Random(f"{base}:retries")
            self.files = messages.Files(random.Random(f"{base}:files"))
            bot_id, _ = make_token(world)  # still drawn, so the ids drawn after it stay the same
            self.token = f"{bot_id}:{self._token_secret}"
            self.bot = make_bot(world, bot_id)
            # The class starts as a basic group, as every new Telegram group does; `migrate` makes it a supergroup.
            self.group_chat_id, self._supergroup_id = make_group_ids(world)
            self.group_type = "group"
            self.upgraded: dict[int, int] = {}  # old basic group id -> its supergroup's id
            self.roster = Roster(random.Random(f"{base}:roster"))
            self.roster.add(is_admin=True)  # the teacher, who manages the group
            for _ in range(15):
                self.roster.add()
            self.roster.add_bot()
            self.privacy = True  # BotFather's setting; new bots start with privacy mode on
            self.bot_in_group = False
            self._sees_all = False  # privacy as it was when the bot joined: that is what counts
            self._clock = int(self._start.timestamp())
            self._message_ids: dict[int, int] = {}
            self._messages: dict[tuple[int, int], dict] = {}
            self._private_started: set[int] = set()
            self._next_update_id = world.randint(100_000_000, 900_000_000)
            self._pending: OrderedDict[int, Pending] = OrderedDict()
            self._queues: dict[tuple, deque[int]] = {}
            self._in_flight: dict[tuple, int] = {}
            self.allowed_updates: list[str] | None = None
            self.webhook: Webhook | None = None
            self.last_error: tuple[int, str] | None = None
            self.next_set_webhook = 0.0
            self._epoch += 1
            self._poll_generation += 1
            self._initial_scene()
            self._changed.notify_all()

    def start(self) -> None:
        """Start webhook delivery (a scheduler thread plus one thread per request in flight)."""
        with self._lock:
            if self._thread and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._delivery_loop, name="telegram-webhook", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop delivering; requests in flight finish in the background and their results still count."""
        with self._lock:
            self._stopping = True
            self._changed.notify_all()
            thread = self._thread
        if thread:
            thread.join(timeout=5)
        self._thread = None

    # ---- clock -----------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock, timezone.utc)

    def clock(self) -> int:
        return self._clock

    def advance_clock(self, seconds: int) -> int:
        """Move the virtual clock forward (e.g. 25 h to watch undelivered updates expire)."""
        if seconds < 0:
            raise SandboxError("O relógio do sandbox só anda para frente.")
        with self._lock:
            self._clock += int(seconds)
            self._expire_locked()
            self._changed.notify_all()
            return self._clock

    def _tick(self, low: int = 3, high: int = 25) -> int:
        self._clock += self._rng.randint(low, high)
        self._expire_locked()
        return self._clock

    # ---- people and chats ------------------------------------------------------------------------------
    def person(self, who: str | int | Person) -> Person:
        if isinstance(who, Person):
            return who
        if str(who).lstrip("@").casefold() == self.bot.username.casefold():
            raise SandboxError("O próprio bot não posta pelo sandbox: use sendMessage na Bot API.")
        found = self.roster.find(who)
        if not found:
            raise SandboxError(f"Participante '{who}' não existe. Veja: python -m sandbox chat participants")
        if len(found) > 1:
            names = ", ".join(f"{p.full_name} (@{p.username or p.id})" for p in found)
            raise SandboxError(f"'{who}' é ambíguo: {names}. Use o username ou o id.")
        return found[0]

    def participants(self) -> list[dict]:
        with self._lock:
            return [
                {**p.to_json(), "is_admin": p.is_admin, "in_group": p.in_group} for p in self.roster.people
            ]

    def group_chat(self) -> dict:
        if self.group_type == "supergroup":
            return {"id": self.group_chat_id, "title": GROUP_TITLE, "type": "supergroup"}
        # Basic groups' chat objects carry two keys the Bot API documents nowhere; real updates have them.
        return {
            "id": self.group_chat_id,
            "title": GROUP_TITLE,
            "type": "group",
            "all_members_are_administrators": False,
            "accepted_gift_types": dict.fromkeys(GIFT_TYPES, False),  # a group cannot receive gifts
        }

    def chat_for(self, chat_id: int) -> dict | None:
        if chat_id == self.group_chat_id:
            return self.group_chat()
        for p in self.roster.people:
            if p.id == chat_id and not p.is_bot:
                return p.private_chat()
        return None

    # ---- messages and updates --------------------------------------------------------------------------
    def _new_message(
        self, chat: dict, sender: Person, content: dict, reply_to: int | None = None, date: int | None = None
    ) -> dict:
        chat_id = chat["id"]
        message_id = self._message_ids.get(chat_id, 0) + 1
        message: dict = {
            "message_id": message_id,
            "from": sender.to_json(),
            "chat": chat,
            "date": date or self._clock,
        }
        if reply_to is not None:
            original = self._messages.get((chat_id, reply_to))
            if original is None:
                raise SandboxError(f"A mensagem {reply_to} não existe neste chat.")
            message["reply_to_message"] = {k: v for k, v in original.items() if k != "reply_to_message"}
        message.update(content)
        self._message_ids[chat_id] = message_id
        self._messages[(chat_id, message_id)] = message
        return message

    def _bot_sees(self, message: dict, sender: Person) -> bool:
        """Whether Telegram hands this message to our bot (privacy mode, membership, bots)."""
        if sender.is_bot:
            return False  # no bot sees other bots' messages
        if message["chat"]["type"] == "private":
            return True
        if not self.bot_in_group:
            return False
        if self._sees_all or "new_chat_members" in message or "left_chat_member" in message:
            return True
        replied = message.get("reply_to_message")
        if replied and replied["from"]["id"] == self.bot.id:
            return True
        text = message.get("text") or message.get("caption") or ""
        for entity in message.get("entities") or message.get("caption_entities") or []:
            if entity["type"] == "bot_command":
                command = text.encode("utf-16-le")[
                    entity["offset"] * 2 : (entity["offset"] + entity["length"]) * 2
                ]
                _, _, target = command.decode("utf-16-le").partition("@")
                if not target or target.casefold() == self.bot.username.casefold():
                    return True
        return False

    def _enqueue(self, kind: str, payload: dict, chat_id: int) -> dict | None:
        allowed = self.allowed_updates
        if (allowed and kind not in allowed) or (not allowed and kind in NOT_BY_DEFAULT):
            return None
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, kind: payload}
        queue = ("member" if kind in MEMBER_UPDATES else "chat", chat_id)
        self._pending[update_id] = Pending(update_id, kind, dumps(update), queue, self._clock)
        self._queues.setdefault(queue, deque()).append(update_id)
        self._changed.notify_all()
        return update

    def _publish(self, message: dict, sender: Person, kind: str = "message") -> dict:
        update = (
            self._enqueue(kind, message, message["chat"]["id"]) if self._bot_sees(message, sender) else None
        )
        return {"message": message, "update_id": update["update_id"] if update else None}

    def _member_change(self, admin: Person, old: str, new: str) -> None:
        payload = {
            "chat": self.group_chat(),
            "from": admin.to_json(),
            "date": self._clock,
            "old_chat_member": {"user": self.bot.to_json(), "status": old},
            "new_chat_member": {"user": self.bot.to_json(), "status": new},
        }
        self._enqueue("my_chat_member", payload, self.group_chat_id)

    def _add_bot(self, admin: Person) -> None:
        self.bot_in_group = True
        self._sees_all = not self.privacy
        self._member_change(admin, "left", "member")
        message = self._new_message(self.group_chat(), admin, messages.new_members_content([self.bot]))
        self._publish(message, admin)

    def _remove_bot(self, admin: Person) -> None:
        self._member_change(admin, "member", "left")
        self.bot_in_group = False
        self._new_message(self.group_chat(), admin, messages.left_member_content(self.bot))

    def _initial_scene(self) -> None:
        """The bot was just added by the teacher; a couple of people already talked to it."""
        teacher, student = self.roster.people[0], self.roster.people[1]
        self._tick()
        self._add_bot(teacher)
        self._tick()
        self.post(teacher, "Pessoal, adicionei o bot que vai guardar as mensagens da turma 🤖")
        self.post(student, f"/start@{self.bot.username}")

    def _sender_in_group(self, who: str | int | Person) -> Person:
        sender = self.person(who)
        if not sender.in_group:
            raise SandboxError(
                f"{sender.full_name} não está no grupo. Rode: python -m sandbox chat join --from {who}"
            )
        return sender

    def _post_content(self, who, content: dict, reply_to: int | None = None, private: bool = False) -> dict:
        with self._lock:
            sender = self.person(who) if private else self._sender_in_group(who)
            self._tick()
            if private:
                self._private_started.add(sender.id)
                chat = sender.private_chat()
            else:
                chat = self.group_chat()
            return self._publish(self._new_message(chat, sender, content, reply_to), sender)

    def post(self, who, text: str, *, reply_to: int | None = None, private: bool = False) -> dict:
        """A participant sends a text (in the group, or privately to the bot). Returns message and update_id."""
        if not text.strip():
            raise SandboxError("O texto da mensagem está vazio.")
        if len(text) > 4096:
            raise SandboxError("O texto passa de 4096 caracteres, o limite do Telegram.")
        return self._post_content(who, messages.text_content(text), reply_to, private)

    def post_photo(self, who, caption: str | None = None, *, reply_to: int | None = None) -> dict:
        with self._lock:
            return self._post_content(who, messages.photo_content(self._rng, self.files, caption), reply_to)

    def post_sticker(self, who, emoji: str | None = None, *, reply_to: int | None = None) -> dict:
        with self._lock:
            return self._post_content(who, messages.sticker_content(self._rng, self.files, emoji), reply_to)

    def post_voice(self, who, duration: int | None = None, *, reply_to: int | None = None) -> dict:
        with self._lock:
            return self._post_content(who, messages.voice_content(self._rng, self.files, duration), reply_to)

    def post_document(self, who, file_name: str = "material.pdf", caption: str | None = None) -> dict:
        with self._lock:
            return self._post_content(
                who, messages.document_content(self._rng, self.files, file_name, caption)
            )

    def post_poll(self, who, question: str, options: list[str]) -> dict:
        if not 2 <= len(options) <= 10:
            raise SandboxError("Uma enquete precisa de 2 a 10 opções.")
        with self._lock:
            return self._post_content(who, messages.poll_content(self._rng, question, options))

    def post_location(self, who, latitude: float, longitude: float) -> dict:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise SandboxError("Latitude vai de -90 a 90 e longitude de -180 a 180.")
        return self._post_content(who, messages.location_content(latitude, longitude))

    def edit(self, message_id: int, text: str, *, chat_id: int | None = None) -> dict:
        """The author edits a text (or a caption): an edited_message with the same id and original date."""
        with self._lock:
            chat_id = chat_id or self.group_chat_id
            original = self._messages.get((chat_id, message_id))
            if original is None:
                raise SandboxError(f"A mensagem {message_id} não existe neste chat.")
            author = self.person(original["from"]["id"])
            if author.is_bot and author.id == self.bot.id:
                raise SandboxError("Mensagens do bot se editam pela Bot API (editMessageText).")
            if not any(key in original for key in ("text", "photo", "document", "voice")):
                raise SandboxError("Só dá para editar mensagens de texto ou a legenda de uma mídia.")
            self._tick()
            edited = self._edited(original, text, self._clock)
            self._messages[(chat_id, message_id)] = edited
            return self._publish(edited, author, kind="edited_message")

    def _edited(self, original: dict, text: str, edit_date: int) -> dict:
        """The new version of a message: same id and date, `edit_date` added, text or caption replaced."""
        content = messages.text_content(text) if "text" in original else messages.caption_content(text)
        edited = {
            k: v for k, v in original.items() if k not in ("text", "entities", "caption", "caption_entities")
        }
        edited["edit_date"] = edit_date
        edited.update(content)
        return edited

    def join(self, who: str | int | None = None) -> dict:
        """Someone joins through the invite link: a returning participant, or a new person when `who` is None."""
        with self._lock:
            person = self.person(who) if who is not None else self.roster.add(in_group=False)
            if person.in_group:
                raise SandboxError(f"{person.full_name} já está no grupo.")
            person.in_group = True
            self._tick()
            message = self._new_message(self.group_chat(), person, messages.new_members_content([person]))
            return self._publish(message, person)

    def leave(self, who: str | int) -> dict:
        with self._lock:
            person = self._sender_in_group(who)
            person.in_group = False
            self._tick()
            message = self._new_message(self.group_chat(), person, messages.left_member_content(person))
            return self._publish(message, person)

    def migrate(self, who: str | int | None = None) -> dict:
        """An admin changes a setting that needs a supergroup (history for new members, a public link, ...):
        Telegram upgrades the group. The old chat ends with a `migrate_to_chat_id` message from that admin; the
        supergroup, a new chat with a new id, starts with a `migrate_from_chat_id` message from
        GroupAnonymousBot. Every later message carries the new id; Bot API calls to the old one are refused."""
        with self._lock:
            if self.group_type == "supergroup":
                raise SandboxError("O grupo já é um supergrupo: um supergrupo não muda mais de id.")
            admin = self.roster.people[0] if who is None else self._sender_in_group(who)
            if not admin.is_admin:
                raise SandboxError(
                    f"{admin.full_name} não é admin do grupo: só um admin muda essas configurações."
                )
            old_chat, new_id = self.group_chat(), self._supergroup_id
            self._tick()
            farewell = self._new_message(old_chat, admin, {"migrate_to_chat_id": new_id})
            self.group_chat_id, self.group_type = new_id, "supergroup"
            self.upgraded[old_chat["id"]] = new_id
            new_chat = self.group_chat()
            welcome = {
                "message_id": 1,
                "from": GROUP_ANONYMOUS_BOT.to_json(),
                "sender_chat": new_chat,
                "chat": new_chat,
                "date": self._clock,
                "migrate_from_chat_id": old_chat["id"],
            }
            self._message_ids[new_id] = 1
            self._messages[(new_id, 1)] = welcome
            updates = []
            if self.bot_in_group:  # service messages reach the bot whatever its privacy mode
                for message in (farewell, welcome):
                    update = self._enqueue("message", message, message["chat"]["id"])
                    updates.append(update["update_id"] if update else None)
            return {
                "old_chat_id": old_chat["id"],
                "new_chat_id": new_id,
                "messages": [farewell, welcome],
                "update_ids": updates,
            }

    def set_privacy(self, enabled: bool, readd: bool = True) -> dict:
        """BotFather /setprivacy. Telegram applies it to a group only when the bot is removed and re-added,
        so with `readd` the teacher does exactly that (two my_chat_member updates and a join message)."""
        with self._lock:
            changed = self.privacy != enabled
            self.privacy = enabled
            readded = False
            if readd and self.bot_in_group and self._sees_all == enabled:
                teacher = self.roster.people[0]
                self._tick()
                self._remove_bot(teacher)
                self._tick()
                self._add_bot(teacher)
                readded = True
            return {
                "privacy_mode": enabled,
                "changed": changed,
                "readded": readded,
                "effective_in_group": self.bot_in_group and self._sees_all != enabled,
            }

    def generate(
        self, participants: int = 12, days: int = 7, messages_count: int = 2000, seed: int | None = None
    ):
        """Write a class conversation spread over the `days` before now (see generator.py)."""
        from .generator import generate_conversation

        with self._lock:
            return generate_conversation(
                self, participants, days, messages_count, self.seed if seed is None else seed
            )

    # ---- status ----------------------------------------------------------------------------------------
    def pending_updates(self) -> list[dict]:
        """Undelivered/unconfirmed updates, oldest first (a peek: nothing is confirmed)."""
        with self._lock:
            self._expire_locked()
            return [json.loads(p.body) for p in self._pending.values()]

    def status(self) -> dict:
        with self._lock:
            self._expire_locked()
            return {
                "bot": {"id": self.bot.id, "username": self.bot.username, "first_name": self.bot.first_name},
                "token": self.token,
                "group": {**self.group_chat(), "bot_is_member": self.bot_in_group},
                "privacy_mode": self.privacy,
                "bot_reads_all_group_messages": self.bot_in_group and self._sees_all,
                "pending_update_count": len(self._pending),
                "webhook": {
                    "url": self.webhook.url if self.webhook else "",
                    "delivering": bool(self._thread and self._thread.is_alive()),
                    "last_error_message": self.last_error[1] if self.last_error else None,
                },
                "clock": {"unix": self._clock, "iso": self.now.isoformat()},
                "seed": self.seed,
                "participants": sum(1 for p in self.roster.people if p.in_group and not p.is_bot),
                "messages": len(self._messages),
            }

    # ---- queue maintenance -----------------------------------------------------------------------------
    def _remove(self, update_id: int) -> None:
        pending = self._pending.pop(update_id, None)
        if pending is None:
            return
        queue = self._queues.get(pending.queue)
        if queue and queue[0] == update_id:
            queue.popleft()
        elif queue:
            queue.remove(update_id)
        if queue is not None and not queue:
            del self._queues[pending.queue]

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: forget updates below it; a negative offset keeps only the last -offset."""
        ids = list(self._pending)
        if offset < 0:
            doomed = ids[: max(0, len(ids) + offset)]
        else:
            doomed = [u for u in ids if u < offset]
        for update_id in doomed:
            self._remove(update_id)

    def drop_pending(self) -> None:
        self._pending.clear()
        self._queues.clear()
        self._in_flight.clear()

    def _expire_locked(self) -> None:
        while self._pending:
            first = next(iter(self._pending.values()))
            if first.queued_at + UPDATE_TTL > self._clock:
                break
            self._remove(first.update_id)

    # ---- webhook delivery ------------------------------------------------------------------------------
    def webhook_changed(self) -> None:
        """A new or removed webhook: in-flight results are void, every update is due at once."""
        self._epoch += 1
        self._in_flight.clear()
        for pending in self._pending.values():
            pending.failures, pending.next_attempt = 0, 0.0
        self._poll_generation += 1
        self._changed.notify_all()

    def _delivery_loop(self) -> None:
        with self._lock:
            while not self._stopping:
                self._expire_locked()
                wait = self._dispatch_due()
                self._changed.wait(timeout=wait)

    def _dispatch_due(self) -> float | None:
        """Start one request per queue whose head is due, within max_connections; seconds to the next due."""
        hook = self.webhook
        if hook is None:
            return None
        now = self._monotonic()
        next_due = None
        heads = sorted((q[0], key) for key, q in self._queues.items() if q and key not in self._in_flight)
        for update_id, key in heads:
            if len(self._in_flight) >= hook.max_connections:
                break
            pending = self._pending[update_id]
            if pending.next_attempt > now:
                next_due = min(next_due or pending.next_attempt, pending.next_attempt)
                continue
            self._in_flight[key] = update_id
            threading.Thread(target=self._deliver, args=(hook, pending, self._epoch), daemon=True).start()
        return None if next_due is None else max(0.0, next_due - now)

    def _deliver(self, hook: Webhook, pending: Pending, epoch: int) -> None:
        headers = webhook.request_headers(pending.body, hook.secret_token)
        error, answer = None, b""
        try:
            status, answer = self.transport(hook.url, headers, pending.body, webhook.DELIVERY_TIMEOUT)
            if not 200 <= status < 300:
                error = webhook.wrong_response_text(status)
        except OSError as exc:
            error = webhook.connection_error_text(exc)
        except Exception:
            logger.exception("webhook transport failed for update %s", pending.update_id)
            error = "Webhook connection closed"
        with self._lock:
            if epoch != self._epoch:
                return  # the webhook changed or the sandbox was reset meanwhile
            self._in_flight.pop(pending.queue, None)
            if error is None:
                self._remove(pending.update_id)
            else:
                self.last_error = (self._clock, error)
                pending.failures += 1
                delay = webhook.retry_delay(pending.failures, self._retry_rng) * self.time_scale
                pending.next_attempt = self._monotonic() + delay
                logger.info("webhook delivery of update %s failed: %s", pending.update_id, error)
            self._changed.notify_all()
        if error is None and answer:
            self._api.run_webhook_reply(answer)

    def deliver_external(self, update: object) -> dict:
        """Deliver, now and once, an update that came from elsewhere (the live bridge) to the webhook.

        The request is the one Telegram sends (same body encoding, headers and secret). It bypasses the
        queue: the caller confirms the update at its source only after a 2xx and retries otherwise, which
        keeps its order. A failure is kept as last_error, as getWebhookInfo shows it. A method call in the
        answer is not executed: it would act on this bot, not on the one the update came from.
        """
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool) or len(update) < 2:
            raise SandboxError(
                "O update precisa ser um objeto JSON com update_id inteiro e um tipo (message...)."
            )
        with self._lock:
            hook = self.webhook
        if hook is None:
            raise SandboxError(
                "O sandbox ainda não tem webhook: rode os notebooks 02 e 03 "
                "(ou python -m sandbox demo) antes."
            )
        body = dumps(update)
        status, error = None, None
        try:
            status, _ = self.transport(
                hook.url, webhook.request_headers(body, hook.secret_token), body, webhook.DELIVERY_TIMEOUT
            )
            if not 200 <= status < 300:
                error = webhook.wrong_response_text(status)
        except OSError as exc:
            error = webhook.connection_error_text(exc)
        except Exception:
            logger.exception("webhook transport failed for external update %s", update_id)
            error = "Webhook connection closed"
        if error is not None:
            with self._lock:
                self.last_error = (self._clock, error)
        return {"update_id": update_id, "delivered": error is None, "status": status, "error": error}

    @property
    def _api(self):
        return self.wsgi_app.api

"""The class group: the bot, the people, their chats and messages, and which messages reach the bot."""

from __future__ import annotations

import random
from collections.abc import Iterator

from .. import SandboxError
from . import messages
from .clock import VirtualClock
from .people import (
    GIFT_TYPES,
    GROUP_ANONYMOUS_BOT,
    GROUP_TITLE,
    Person,
    Roster,
    make_bot,
    make_group_ids,
    make_token,
)
from .updates import UpdateQueue

PLAY_SPAN = 3600  # seconds of a generated conversation released at once when the bot has read everything


class ClassGroup:
    """One bot (privacy mode on, as BotFather creates it) that the teacher has just added to a basic group, and
    the people who write there or privately to the bot.

    Everything follows the seed: `world` gives the bot's and the group's ids, the other streams derive from
    `base`. Each message moves the virtual clock a few seconds and queues the update the bot receives, if it
    receives it. The caller holds the emulator's lock.
    """

    def __init__(
        self, base: str, world: random.Random, token_secret: str, clock: VirtualClock, updates: UpdateQueue
    ) -> None:
        self.clock, self.updates = clock, updates
        self.rng = random.Random(f"{base}:events")
        self.files = messages.Files(random.Random(f"{base}:files"))
        bot_id, _ = make_token(world)  # still drawn, so the ids drawn after it stay the same
        self.token = f"{bot_id}:{token_secret}"
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
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._private_started: set[int] = set()
        self._script: Iterator[int] | None = None  # a generated conversation still to happen (generator.py)
        self._next_at: int | None = None  # the date of its next message
        self.scheduled = 0  # how many of its messages are still to come

    def open(self) -> None:
        """The opening scene: the teacher has just added the bot; a student already typed its command."""
        teacher, student = self.roster.people[0], self.roster.people[1]
        self._tick()
        self._add_bot(teacher)
        self._tick()
        self.post(teacher, "Pessoal, adicionei o bot que vai guardar as mensagens da turma 🤖")
        self.post(student, f"/start@{self.bot.username}")

    def _tick(self) -> None:
        self.clock.advance(self.rng.randint(3, 25))

    # ---- a generated conversation, as simulated time passes ---------------------------------------------
    def schedule(self, summary: dict, script: Iterator[int]) -> None:
        if self._next_at is not None:
            raise SandboxError(
                f"A conversa gerada antes ainda não terminou: faltam {self.scheduled} mensagens, que chegam "
                "conforme o bot lê os updates (getUpdates ou o webhook)."
            )
        self._script, self.scheduled = script, summary["messages"]
        self._next_at = next(script, None)

    def play(self) -> None:
        """The bot has read everything: the class talks on. The clock moves to the next planned messages, an
        hour of them at a time, until one reaches the bot or the conversation ends. So each update reaches
        the bot within minutes of its date, as on Telegram, and a week of chat never waits as a backlog."""
        while self._next_at is not None and not self.updates.has_pending():
            until = self._next_at + PLAY_SPAN
            while self._next_at is not None and self._next_at <= until:
                self._next_at = next(self._script, None)
                self.scheduled -= 1
        if self._next_at is None:
            self._script, self.scheduled = None, 0

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
        return [{**p.to_json(), "is_admin": p.is_admin, "in_group": p.in_group} for p in self.roster.people]

    def headcount(self) -> int:
        """People in the group, bots apart."""
        return sum(1 for p in self.roster.people if p.in_group and not p.is_bot)

    def member_count(self) -> int:
        """getChatMemberCount: everyone in the group, other bots and ours included."""
        return sum(1 for p in self.roster.people if p.in_group) + 1

    @property
    def bot_reads_all(self) -> bool:
        """Whether the bot gets every group message (in the group, privacy off when it was added)."""
        return self.bot_in_group and self._sees_all

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

    def started_private_chat(self, user_id: int) -> bool:
        """Whether this person opened a private chat with the bot (a bot cannot write first)."""
        return user_id in self._private_started

    # ---- messages ------------------------------------------------------------------------------------
    def message(self, chat_id: int, message_id: int) -> dict | None:
        return self._messages.get((chat_id, message_id))

    def message_count(self) -> int:
        return len(self._messages)

    def new_message(
        self, chat: dict, sender: Person, content: dict, reply_to: int | None = None, date: int | None = None
    ) -> dict:
        """Store a message (dated now unless `date` is given); it reaches the bot only through `publish`."""
        chat_id = chat["id"]
        message_id = self._message_ids.get(chat_id, 0) + 1
        message: dict = {
            "message_id": message_id,
            "from": sender.to_json(),
            "chat": chat,
            "date": date or self.clock(),
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

    def revise(self, original: dict, text: str, edit_date: int) -> dict:
        """Store the edited version of a message: same id and date, `edit_date` added, text or caption replaced."""
        content = messages.text_content(text) if "text" in original else messages.caption_content(text)
        edited = {
            k: v for k, v in original.items() if k not in ("text", "entities", "caption", "caption_entities")
        }
        edited["edit_date"] = edit_date
        edited.update(content)
        self._messages[(original["chat"]["id"], original["message_id"])] = edited
        return edited

    def send_as_bot(self, chat: dict, text: str, entities: list[dict], reply_to: int | None) -> dict:
        """sendMessage: the bot answers a second later; its messages are stored but never come back as updates."""
        self.clock.advance(1)
        content = {"text": text, "entities": entities} if entities else {"text": text}
        return self.new_message(chat, self.bot, content, reply_to)

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

    def publish(self, message: dict, sender: Person, kind: str = "message") -> dict:
        """Queue the update for a stored message if the bot sees it: {"message", "update_id" (or None)}."""
        update = (
            self.updates.enqueue(kind, message, message["chat"]["id"])
            if self._bot_sees(message, sender)
            else None
        )
        return {"message": message, "update_id": update["update_id"] if update else None}

    # ---- the bot's membership --------------------------------------------------------------------------
    def _member_change(self, admin: Person, old: str, new: str) -> None:
        payload = {
            "chat": self.group_chat(),
            "from": admin.to_json(),
            "date": self.clock(),
            "old_chat_member": {"user": self.bot.to_json(), "status": old},
            "new_chat_member": {"user": self.bot.to_json(), "status": new},
        }
        self.updates.enqueue("my_chat_member", payload, self.group_chat_id)

    def _add_bot(self, admin: Person) -> None:
        self.bot_in_group = True
        self._sees_all = not self.privacy
        self._member_change(admin, "left", "member")
        message = self.new_message(self.group_chat(), admin, messages.new_members_content([self.bot]))
        self.publish(message, admin)

    def _remove_bot(self, admin: Person) -> None:
        self._member_change(admin, "member", "left")
        self.bot_in_group = False
        self.new_message(self.group_chat(), admin, messages.left_member_content(self.bot))

    # ---- what people do --------------------------------------------------------------------------------
    def _sender_in_group(self, who: str | int | Person) -> Person:
        sender = self.person(who)
        if not sender.in_group:
            raise SandboxError(
                f"{sender.full_name} não está no grupo. Rode: python -m sandbox chat join --from {who}"
            )
        return sender

    def _post_content(self, who, content: dict, reply_to: int | None = None, private: bool = False) -> dict:
        sender = self.person(who) if private else self._sender_in_group(who)
        self._tick()
        if private:
            self._private_started.add(sender.id)
            chat = sender.private_chat()
        else:
            chat = self.group_chat()
        return self.publish(self.new_message(chat, sender, content, reply_to), sender)

    def post(self, who, text: str, *, reply_to: int | None = None, private: bool = False) -> dict:
        if not text.strip():
            raise SandboxError("O texto da mensagem está vazio.")
        if len(text) > 4096:
            raise SandboxError("O texto passa de 4096 caracteres, o limite do Telegram.")
        return self._post_content(who, messages.text_content(text), reply_to, private)

    def post_photo(self, who, caption: str | None = None, *, reply_to: int | None = None) -> dict:
        return self._post_content(who, messages.photo_content(self.rng, self.files, caption), reply_to)

    def post_sticker(self, who, emoji: str | None = None, *, reply_to: int | None = None) -> dict:
        return self._post_content(who, messages.sticker_content(self.rng, self.files, emoji), reply_to)

    def post_voice(self, who, duration: int | None = None, *, reply_to: int | None = None) -> dict:
        return self._post_content(who, messages.voice_content(self.rng, self.files, duration), reply_to)

    def post_document(self, who, file_name: str = "material.pdf", caption: str | None = None) -> dict:
        return self._post_content(who, messages.document_content(self.rng, self.files, file_name, caption))

    def post_poll(self, who, question: str, options: list[str]) -> dict:
        if not 2 <= len(options) <= 10:
            raise SandboxError("Uma enquete precisa de 2 a 10 opções.")
        return self._post_content(who, messages.poll_content(self.rng, question, options))

    def post_location(self, who, latitude: float, longitude: float) -> dict:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise SandboxError("Latitude vai de -90 a 90 e longitude de -180 a 180.")
        return self._post_content(who, messages.location_content(latitude, longitude))

    def edit(self, message_id: int, text: str, *, chat_id: int | None = None) -> dict:
        """The author edits a text (or a caption): an edited_message with the same id and original date."""
        original = self.message(chat_id or self.group_chat_id, message_id)
        if original is None:
            raise SandboxError(f"A mensagem {message_id} não existe neste chat.")
        author = self.person(original["from"]["id"])
        if author.is_bot and author.id == self.bot.id:
            raise SandboxError("Mensagens do bot se editam pela Bot API (editMessageText).")
        if not any(key in original for key in ("text", "photo", "document", "voice")):
            raise SandboxError("Só dá para editar mensagens de texto ou a legenda de uma mídia.")
        self._tick()
        return self.publish(self.revise(original, text, self.clock()), author, kind="edited_message")

    def join(self, who: str | int | None = None) -> dict:
        """Someone joins through the invite link: a returning participant, or a new person when `who` is None."""
        person = self.person(who) if who is not None else self.roster.add(in_group=False)
        if person.in_group:
            raise SandboxError(f"{person.full_name} já está no grupo.")
        person.in_group = True
        self._tick()
        message = self.new_message(self.group_chat(), person, messages.new_members_content([person]))
        return self.publish(message, person)

    def leave(self, who: str | int) -> dict:
        person = self._sender_in_group(who)
        person.in_group = False
        self._tick()
        message = self.new_message(self.group_chat(), person, messages.left_member_content(person))
        return self.publish(message, person)

    def migrate(self, who: str | int | None = None) -> dict:
        """An admin changes a setting that needs a supergroup (history for new members, a public link, ...):
        Telegram upgrades the group. The old chat ends with a `migrate_to_chat_id` message from that admin; the
        supergroup, a new chat with a new id, starts with a `migrate_from_chat_id` message from
        GroupAnonymousBot. Every later message carries the new id; Bot API calls to the old one are refused."""
        if self.group_type == "supergroup":
            raise SandboxError("O grupo já é um supergrupo: um supergrupo não muda mais de id.")
        admin = self.roster.people[0] if who is None else self._sender_in_group(who)
        if not admin.is_admin:
            raise SandboxError(
                f"{admin.full_name} não é admin do grupo: só um admin muda essas configurações."
            )
        old_chat, new_id = self.group_chat(), self._supergroup_id
        self._tick()
        farewell = self.new_message(old_chat, admin, {"migrate_to_chat_id": new_id})
        self.group_chat_id, self.group_type = new_id, "supergroup"
        self.upgraded[old_chat["id"]] = new_id
        new_chat = self.group_chat()
        welcome = {
            "message_id": 1,
            "from": GROUP_ANONYMOUS_BOT.to_json(),
            "sender_chat": new_chat,
            "chat": new_chat,
            "date": self.clock(),
            "migrate_from_chat_id": old_chat["id"],
        }
        self._message_ids[new_id] = 1
        self._messages[(new_id, 1)] = welcome
        updates = []
        if self.bot_in_group:  # service messages reach the bot whatever its privacy mode
            for message in (farewell, welcome):
                update = self.updates.enqueue("message", message, message["chat"]["id"])
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

"""The simulated world derived from a seed: the bot, its token, the class group and its participants."""

from __future__ import annotations

import random
import secrets
import string
import unicodedata
from dataclasses import dataclass, field

TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"
GROUP_TITLE = "Turma de Engenharia de Dados"
# AcceptedGiftTypes' keys (Bot API 9.x): chat objects carry them, and clients require every one.
GIFT_TYPES = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)

_FIRST_NAMES = [
    "Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela", "João",
    "Júlia", "Lucas", "Mariana", "Matheus", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago",
    "Vitória", "Yuri", "Beatriz", "Caio", "Larissa", "Gustavo", "Camila", "Pedro", "Letícia", "Renato",
    "Fernanda", "Vinícius", "Aline", "Rodrigo", "Bianca", "Leonardo", "Priscila", "Marcelo", "Tatiane",
    "Igor",
]  # fmt: skip
_LAST_NAMES = [
    "Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Rodrigues", "Almeida", "Nascimento",
    "Carvalho", "Ribeiro", "Gomes", "Martins", "Araújo", "Barbosa", "Rocha", "Dias", "Moreira", "Teixeira",
]  # fmt: skip
_BOT_NAMES = ["coletor", "arquivista", "escriba", "registro", "memoria"]


@dataclass
class Person:
    """A Telegram user: a participant of the group, our bot or another bot."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_admin: bool = False
    in_group: bool = True
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The User object as updates carry it (`from`, `new_chat_member`, ...), in Telegram's key order."""
        user: dict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code and not self.is_bot:
            user["language_code"] = self.language_code
        return user

    def private_chat(self) -> dict:
        chat: dict = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        chat["type"] = "private"
        return chat

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name, so `--from joao` finds "João"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip().lstrip("@")


def make_token(rng: random.Random) -> tuple[int, str]:
    """A bot id and token of the real shape: 10-digit id, ':', 35 chars of [A-Za-z0-9_-] (starting "AA")."""
    bot_id = rng.randint(6_000_000_000, 8_499_999_999)
    secret = "AA" + "".join(rng.choice(TOKEN_ALPHABET) for _ in range(33))
    return bot_id, f"{bot_id}:{secret}"


def random_token_secret() -> str:
    """The part of a token after ':', from a CSPRNG: it is what authenticates, so no seed may predict it."""
    return "AA" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(33))


def make_bot(rng: random.Random, bot_id: int) -> Person:
    name = rng.choice(_BOT_NAMES)
    return Person(
        id=bot_id,
        first_name=f"{name.capitalize()} da Turma",
        username=f"{name}_turma_{rng.randint(100, 999)}_bot",
        is_bot=True,
    )


# The user Telegram shows as the author of an anonymous admin's messages and of a supergroup's first message.
GROUP_ANONYMOUS_BOT = Person(id=1087968824, first_name="Group", username="GroupAnonymousBot", is_bot=True)


def make_group_ids(rng: random.Random) -> tuple[int, int]:
    """A new basic group's id (negative, 10 digits, as new groups get today) and the -100... id Telegram gives
    it if it ever becomes a supergroup. One draw for both, so the seeded ids drawn after it never shift."""
    serial = rng.randint(1_500_000_000, 2_999_999_999)
    return -(2_500_000_000 + serial), -(1_000_000_000_000 + serial)


class Roster:
    """The group's people, created on demand from a dedicated random stream (same seed -> same people)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.people: list[Person] = []
        self._used_ids: set[int] = set()
        self._used_usernames: set[str] = set()
        # Distinct first names for the first 40 people (so `--from ana` is unambiguous); Ana is always a
        # student, so the tutorial's examples work with any seed.
        firsts = [name for name in _FIRST_NAMES if name != "Ana"]
        rng.shuffle(firsts)
        firsts.insert(1, "Ana")
        self._names = [(first, rng.choice(_LAST_NAMES)) for first in firsts]
        self._names += [(first, last) for last in _LAST_NAMES for first in firsts]
        self._without_username = {3, 8}  # a couple of participants never set a username

    def _new_id(self) -> int:
        while True:
            user_id = self._rng.randint(100_000_000, 7_999_999_999)
            if user_id not in self._used_ids:
                self._used_ids.add(user_id)
                return user_id

    def _username(self, first: str, last: str) -> str:
        base = fold(first).replace(" ", "")
        candidates = [f"{base}_{fold(last)}", f"{base}{fold(last)[:3]}", f"{base}.dados"]
        for candidate in candidates:
            candidate = candidate.replace(".", "_")
            if candidate not in self._used_usernames and 5 <= len(candidate) <= 32:
                break
        else:
            candidate = f"{base}_{self._rng.randint(10, 9999)}"
        self._used_usernames.add(candidate)
        return candidate

    def add(self, *, is_admin: bool = False, in_group: bool = True) -> Person:
        index = len(self.people)
        first, last = self._names[index % len(self._names)]
        rng = self._rng
        has_last = rng.random() < 0.7
        language = rng.choices(["pt-br", None, "en"], weights=[80, 15, 5])[0]
        person = Person(
            id=self._new_id(),
            first_name=first,
            last_name=last if has_last else None,
            username=None if index in self._without_username else self._username(first, last),
            language_code=language,
            is_admin=is_admin,
            in_group=in_group,
        )
        self.people.append(person)
        return person

    def add_bot(self) -> Person:
        """Another bot in the group (a moderation helper): no bot ever sees another bot's messages."""
        bot = Person(id=self._new_id(), first_name="Monitor", username="monitor_da_turma_bot", is_bot=True)
        self.people.append(bot)
        return bot

    def humans(self, count: int | None = None) -> list[Person]:
        humans = [p for p in self.people if not p.is_bot]
        return humans if count is None else humans[:count]

    def find(self, who: str | int) -> list[Person]:
        key = fold(str(who))
        exact = [
            p
            for p in self.people
            if key in {str(p.id), fold(p.username or "\0"), fold(p.full_name), fold(p.first_name)}
        ]
        return exact

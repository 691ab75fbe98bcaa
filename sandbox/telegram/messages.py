"""Pure builders for the Message contents Telegram sends: text, media, service messages (real key order)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .entities import parse_entities
from .people import TOKEN_ALPHABET, Person

# Real file_id prefixes per file type (they encode the type); the rest is random in the sandbox.
_FILE_ID_PREFIX = {
    "photo": "AgACAgEAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "voice": "AwACAgEAAxkBAAI",
    "document": "BQACAgEAAxkBAAI",
}
_STICKERS = [
    ("👍", "TurmaDeDadosPack"),
    ("😂", "TurmaDeDadosPack"),
    ("🔥", "PythonistasBR"),
    ("🤯", "PythonistasBR"),
    ("🙏", "GatinhosDev"),
    ("😴", "GatinhosDev"),
]
_PHOTO_SHAPES = [(1280, 960), (1280, 720), (960, 1280), (1080, 1080), (1600, 900)]


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_size: int
    file_path: str


class Files:
    """Every file the group has seen, for getFile and downloads under /file/bot<token>/."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.by_id: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}

    def new(self, kind: str, size: int, folder: str, ext: str, unique_id: str | None = None) -> StoredFile:
        chars = "".join(self._rng.choice(TOKEN_ALPHABET) for _ in range(56))
        unique_id = unique_id or ("AQAD" if kind == "photo" else "AgAD") + chars[:12]
        stored = StoredFile(
            file_id=_FILE_ID_PREFIX[kind] + chars,
            file_unique_id=unique_id,
            file_size=size,
            file_path=f"{folder}/file_{len(self.by_id)}.{ext}",
        )
        self.by_id[stored.file_id] = stored
        self.by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def content(stored: StoredFile) -> bytes:
        """Deterministic bytes of the announced size (the sandbox keeps no real media)."""
        return random.Random(stored.file_unique_id).randbytes(stored.file_size)


def file_json(stored: StoredFile, **extra: int | str) -> dict:
    """A file's ids and size, then `extra` (width, height, file_path...), in Telegram's key order."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        **extra,
    }


def _with_entities(text: str, key: str, entities_key: str) -> dict:
    content: dict = {key: text}
    entities = parse_entities(text)
    if entities:
        content[entities_key] = entities
    return content


def text_content(text: str) -> dict:
    return _with_entities(text, "text", "entities")


def caption_content(caption: str | None) -> dict:
    return _with_entities(caption, "caption", "caption_entities") if caption else {}


def photo_content(rng: random.Random, files: Files, caption: str | None = None) -> dict:
    """A photo is an array of sizes (thumbnail to original), each a file of its own; no `text`."""
    width, height = rng.choice(_PHOTO_SHAPES)
    sizes = []
    unique_base = "".join(rng.choice(TOKEN_ALPHABET) for _ in range(10))
    for index, side in enumerate((90, 320, 800, max(width, height))):
        scale = min(1.0, side / max(width, height))
        w, h = round(width * scale), round(height * scale)
        size = int(w * h * rng.uniform(0.05, 0.12)) + 600
        stored = files.new("photo", size, "photos", "jpg", unique_id=f"AQAD{unique_base}{'abcd'[index]}x")
        sizes.append(file_json(stored, width=w, height=h))
    return {"photo": sizes, **caption_content(caption)}


def sticker_content(rng: random.Random, files: Files, emoji: str | None = None) -> dict:
    choices = [s for s in _STICKERS if s[0] == emoji] or _STICKERS
    sticker_emoji, set_name = rng.choice(choices)
    thumb = files.new("sticker", rng.randint(3_000, 9_000), "thumbnails", "webp")
    stored = files.new("sticker", rng.randint(15_000, 60_000), "stickers", "webp")
    thumb_json = file_json(thumb, width=128, height=128)
    sticker = {
        "width": 512,
        "height": 512,
        "emoji": emoji or sticker_emoji,
        "set_name": set_name,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
        "thumbnail": thumb_json,
        "thumb": dict(thumb_json),
        **file_json(stored),
    }
    return {"sticker": sticker}


def voice_content(rng: random.Random, files: Files, duration: int | None = None) -> dict:
    duration = duration or rng.randint(2, 75)
    stored = files.new("voice", duration * rng.randint(1_800, 2_600), "voice", "oga")
    return {"voice": {"duration": duration, "mime_type": "audio/ogg", **file_json(stored)}}


def document_content(rng: random.Random, files: Files, file_name: str, caption: str | None = None) -> dict:
    mime = {
        "pdf": "application/pdf",
        "csv": "text/csv",
        "ipynb": "application/x-ipynb+json",
        "py": "text/x-python",
        "sql": "application/sql",
        "zip": "application/zip",
    }.get(file_name.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    stored = files.new("document", rng.randint(2_000, 2_500_000), "documents", file_name.rsplit(".", 1)[-1])
    return {
        "document": {"file_name": file_name, "mime_type": mime, **file_json(stored)},
        **caption_content(caption),
    }


def poll_content(rng: random.Random, question: str, options: list[str]) -> dict:
    poll_id = str(rng.randint(5_000_000_000_000_000_000, 5_999_999_999_999_999_999))
    return {
        "poll": {
            "id": poll_id,
            "question": question,
            # Bot API 9.6 made persistent_id required (clients reject options without it); the sandbox
            # numbers options as MTProto does.
            "options": [
                {"persistent_id": str(index), "text": option, "voter_count": 0}
                for index, option in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": False,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": True,  # sendPoll's default for regular polls (Bot API 9.6)
            "members_only": False,  # required since Bot API 10.1
        }
    }


def location_content(latitude: float, longitude: float) -> dict:
    return {"location": {"latitude": round(latitude, 6), "longitude": round(longitude, 6)}}


def new_members_content(members: list[Person]) -> dict:
    """Joins carry the legacy single-member keys next to `new_chat_members`, as Telegram still sends them."""
    first = members[0].to_json()
    return {
        "new_chat_participant": first,
        "new_chat_member": dict(first),
        "new_chat_members": [m.to_json() for m in members],
    }


def left_member_content(member: Person) -> dict:
    return {"left_chat_participant": member.to_json(), "left_chat_member": member.to_json()}

"""Message entities as Telegram computes them: offsets and lengths in UTF-16 code units."""

from __future__ import annotations

import re

# Order matters: earlier kinds win where matches overlap (an e-mail is not also a url and a mention).
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"(?<![\w.@+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    (
        "url",
        re.compile(
            r"(?<![\w@/.])(?:https?://)?(?:[A-Za-z0-9-]+\.)+(?:com|br|org|net|io|dev|ai|gov|edu|me|app|co)"
            r"(?::\d{1,5})?(?:/[^\s]*)?(?![\w-])",
            re.IGNORECASE,
        ),
    ),
    # td's match_bot_commands: not after or before a word character, '/', '<' or '>' (so "</b>" is no command).
    ("bot_command", re.compile(r"(?<![\w/@<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]
# Telegram leaves trailing punctuation out of a url ("veja https://aws.amazon.com.").
_URL_TRAILING = ".,;:!?)'\""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: characters outside the BMP (most emoji) count twice."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def parse_entities(text: str) -> list[dict]:
    """Entities Telegram detects in a plain text, ordered by offset, keys as Telegram sends them."""
    taken: list[tuple[int, int, str]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind == "url":
                while end > start and text[end - 1] in _URL_TRAILING:
                    end -= 1
            if any(start < t_end and t_start < end for t_start, t_end, _ in taken):
                continue
            taken.append((start, end, kind))
    taken.sort()
    return [
        {"offset": utf16_len(text[:start]), "length": utf16_len(text[start:end]), "type": kind}
        for start, end, kind in taken
    ]


def entity_text(text: str, entity: dict) -> str:
    """The piece of `text` an entity covers (inverse of the UTF-16 arithmetic, for checks and filters)."""
    encoded = text.encode("utf-16-le")
    start = entity["offset"] * 2
    return encoded[start : start + entity["length"] * 2].decode("utf-16-le")

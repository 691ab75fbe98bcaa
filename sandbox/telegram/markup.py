"""sendMessage's parse_mode: HTML, MarkdownV2 and Markdown turned into plain text and entities, as Telegram does.

The grammar, the entity each piece of markup makes and every refusal text follow td's parsers, which the Bot API
server calls (tdlib/td td/telegram/MessageEntity.cpp: parse_html, parse_markdown_v2, parse_markdown; the Bot API
server's Client::get_formatted_text picks one by the lowercased parse_mode). A refusal is a MarkupError whose
text the server sends as "Bad Request: can't parse entities: <text>"; its byte offsets count UTF-8 bytes.

Written for the sandbox, smaller than td: custom emoji keep only their id, `tg-time` / `tg://time` dates and
links to users (`tg://user?id=`) are not turned into entities, and a link is kept only when it is http(s) or
tg:// with a host (td also normalizes and checks more schemes).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from .entities import parse_entities, utf16_len

HTML_TAGS = frozenset({
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji", "tg-time", "span",
    "pre", "code", "blockquote",
})  # fmt: skip
_HTML_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "span": "spoiler", "code": "code", "pre": "pre", "a": "text_link", "tg-emoji": "custom_emoji",
    "blockquote": "blockquote",
}  # fmt: skip
# The names td gives entity types in its refusals ("Can't find end of Bold entity ...").
_TD_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "pre_code": "PreCode", "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji", "blockquote": "BlockQuote",
}  # fmt: skip
# td's MessageEntity::get_type_priority: entities at one offset, the longer first, then by this order.
_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49, "mention": 50,
    "hashtag": 50, "bot_command": 50, "url": 50, "email": 50, "bold": 90, "italic": 91, "underline": 92,
    "strikethrough": 93, "spoiler": 94, "custom_emoji": 99,
}  # fmt: skip
_RESERVED_V2 = set("_*[]()~`>#+-=|{}.!\n")


class MarkupError(ValueError):
    """Markup Telegram refuses; str() is td's text."""


class UnsupportedParseMode(ValueError):
    pass


def parse(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """The text a message shows and its entities: the markup's, then those Telegram detects in the plain text."""
    mode = (parse_mode or "").lower()
    if not text or mode in ("", "none"):
        return text, parse_entities(text)
    parsers = {"html": _parse_html, "markdownv2": _parse_markdown_v2, "markdown": _parse_markdown}
    if mode not in parsers:
        raise UnsupportedParseMode(parse_mode)
    plain, marked = parsers[mode](text)
    # Telegram still finds links, mentions, hashtags and commands in the plain text, but not inside code or links.
    covered = [
        (e["offset"], e["offset"] + e["length"]) for e in marked if e["type"] in ("code", "pre", "text_link")
    ]
    found = [
        e for e in parse_entities(plain)
        if not any(start < e["offset"] + e["length"] and e["offset"] < end for start, end in covered)
    ]  # fmt: skip
    return plain, sorted(
        marked + found, key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50))
    )


def _entity(kind: str, offset: int, length: int, **extra: str) -> dict:
    return {"offset": offset, "length": length, "type": kind, **extra}


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _checked_link(url: str) -> str | None:
    """The link a text_link keeps (no scheme means http://, no path means /), or None when Telegram drops it."""
    url = url.strip()
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
    except ValueError:
        return None
    if parts.scheme.lower() == "tg" and parts.netloc:
        return parts.geturl()
    if parts.scheme.lower() not in ("http", "https") or "." not in (parts.hostname or ""):
        return None
    return urlunsplit(parts._replace(path=parts.path or "/"))


# ---- HTML ---------------------------------------------------------------------------------------------------
def _html_entity(text: str, i: int) -> tuple[str, int] | None:
    """&lt; &gt; &amp; &quot; or a numeric reference at text[i] ('&'): (character, index after it), else None."""
    if match := re.match(r"&#(x[0-9A-Fa-f]*|[0-9]*)", text[i:]):
        digits = match.group(1)
        code = int(digits[1:] or "0", 16) if digits.startswith("x") else int(digits or "0")
        if code == 0 or code >= 0x10FFFF or len(match.group(0)) >= 10:
            return None
        char, end = chr(code), i + len(match.group(0))
    else:
        name = re.match(r"&([A-Za-z]*)", text[i:]).group(1)
        char = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name)
        if char is None:
            return None
        end = i + 1 + len(name)
    return char, end + (text[end : end + 1] == ";")


def _parse_html(text: str) -> tuple[str, list[dict]]:
    out: list[str] = []
    offset = 0  # UTF-16 units written so far
    entities: list[dict] = []
    stack: list[tuple[str, str, int, int]] = []  # (tag, argument, UTF-16 offset, index in out)
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&" and (decoded := _html_entity(text, i)):
            out.append(decoded[0])
            offset += utf16_len(decoded[0])
            i = decoded[1]
            continue
        if char != "<":
            out.append(char)
            offset += utf16_len(char)
            i += 1
            continue
        begin = i
        at = _byte_offset(text, begin)
        i += 1
        if i < n and text[i] == "/":  # an end tag
            if not stack:
                raise MarkupError(f"Unexpected end tag at byte offset {at}")
            end = i + 1
            while end < n and not text[end].isspace() and text[end] != ">":
                end += 1
            name = text[i + 1 : end].lower()
            while end < n and text[end].isspace():
                end += 1
            if end >= n or text[end] != ">":
                raise MarkupError(f"Unclosed end tag at byte offset {at}")
            tag, argument, start, start_index = stack.pop()
            if name and name != tag:
                raise MarkupError(
                    f'Unmatched end tag at byte offset {at}, expected "</{tag}>", found "</{name}>"'
                )
            if offset > start:
                entity = _html_entity_for(tag, argument, start, offset - start, "".join(out[start_index:]))
                _merge_pre_code(entities, entity)
            i = end + 1
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] != ">":
            end += 1
        if end >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {at}")
        tag = text[i:end].lower()
        if tag not in HTML_TAGS:
            raise MarkupError(f'Unsupported start tag "{tag}" at byte offset {at}')
        argument, i = _html_attributes(text, end, tag, at)
        if tag == "span" and argument != "spoiler":
            raise MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        stack.append((tag, argument, offset, len(out)))
        i += 1  # past '>'
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return "".join(out), entities


def _html_attributes(text: str, i: int, tag: str, at: int) -> tuple[str, int]:
    """Read a start tag's attributes from text[i] to its '>': (the argument that matters, index of '>')."""
    n, argument = len(text), ""
    while i < n and text[i] != ">":
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == ">":
            break
        name_begin = i
        while i < n and not text[i].isspace() and text[i] not in "=>/\"'":
            i += 1
        name = text[name_begin:i]
        if not name:
            raise MarkupError(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            if i >= n:
                raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {at}')
            if tag == "blockquote" and name == "expandable":
                argument = "1"
            continue
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {at}')
        if text[i] not in "'\"":  # a name token: letters, digits, periods and hyphens, case-insensitive
            token_begin = i
            while i < n and (text[i].isascii() and text[i].isalnum() or text[i] in ".-"):
                i += 1
            value = text[token_begin:i].lower()
            if i >= n or not (text[i].isspace() or text[i] == ">"):
                raise MarkupError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                )
        else:
            quote, i, chars = text[i], i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "&" and (decoded := _html_entity(text, i)):
                    chars.append(decoded[0])
                    i = decoded[1]
                    continue
                chars.append(text[i])
                i += 1
            i += i < n  # past the closing quote
            value = "".join(chars)
        if i >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {at}")
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value
        elif tag == "blockquote" and name == "expandable":
            argument = "1"
    return argument, i


def _html_entity_for(tag: str, argument: str, offset: int, length: int, inner: str) -> dict | None:
    kind = _HTML_TYPES.get(tag)
    if tag == "tg-time" or kind is None:
        return None
    if kind == "custom_emoji":
        if not argument.isdigit() or int(argument) == 0:
            raise MarkupError("Invalid custom emoji identifier specified")
        return _entity(kind, offset, length, custom_emoji_id=argument)
    if kind == "text_link":
        url = _checked_link(argument or inner)
        return _entity(kind, offset, length, url=url) if url else None
    if kind == "blockquote" and argument:
        return _entity("expandable_blockquote", offset, length)
    if kind == "code":
        return _entity(kind, offset, length, language=argument)
    return _entity(kind, offset, length)


def _merge_pre_code(entities: list[dict], entity: dict | None) -> None:
    """<pre><code class="language-x"> (either order) is one pre entity with that language."""
    if entity is None:
        return
    last = entities[-1] if entities else None
    same = last and (last["offset"], last["length"]) == (entity["offset"], entity["length"])
    if same and {last["type"], entity["type"]} == {"pre", "code"}:
        language = last.get("language") or entity.get("language")
        if language:
            last.clear()
            last.update(_entity("pre", entity["offset"], entity["length"], language=language))
            return
    entities.append(entity)


# ---- MarkdownV2 ---------------------------------------------------------------------------------------------
def _reserved(char: str) -> MarkupError:
    return MarkupError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


def _parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    out: list[str] = []
    offset = 0
    entities: list[dict] = []
    stack: list[dict] = []  # open entities: kind, argument, offset, byte offset, index in out
    quote_open = False
    line_start = True  # a '>' here starts a block quote
    i, n = 0, len(text)

    def at(index: int) -> str:
        return text[index] if index < n else ""

    def cannot_end(entry: dict) -> MarkupError:
        return MarkupError(
            f"Can't find end of {_TD_NAMES[entry['kind']]} entity at byte offset {entry['byte']}"
        )

    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            offset += 1
            if text[i + 1] != "\r":
                line_start = text[i + 1] == "\n"
            i += 2
            continue
        in_code = bool(stack) and stack[-1]["kind"] in ("code", "pre", "pre_code")
        if char not in ("`" if in_code else _RESERVED_V2):
            out.append(char)
            offset += utf16_len(char)
            if char != "\r":
                line_start = False
            i += 1
            continue
        top = stack[-1]["kind"] if stack else None
        ends = top is not None and (
            (quote_open and char == "\n" and at(i + 1) != ">")
            or (top == "bold" and char == "*")
            or (top == "italic" and char == "_" and at(i + 1) != "_")
            or (top == "code" and char == "`")
            or (top in ("pre", "pre_code") and text.startswith("```", i))
            or (top in ("text_link", "custom_emoji") and char == "]")
            or (top == "underline" and text.startswith("__", i))
            or (top == "strikethrough" and char == "~")
            or (top == "spoiler" and text.startswith("||", i))
        )
        if not ends:
            i = _open_v2(text, i, stack, out, offset, line_start, quote_open)
            if char == "\n":
                offset += 1
                line_start = True
            elif char == ">" and line_start:
                quote_open = True
            continue
        entry = stack[-1]
        kind, argument = entry["kind"], entry["argument"]
        if char == "\n" and kind != "blockquote":
            # Only a spoiler right at a quote's end (">...||\n") closes it: the quote becomes expandable.
            spoiler_just_opened = kind == "spoiler" and entry["byte"] in (
                _byte_offset(text, i) - 2, _byte_offset(text, i) - 3
            )  # fmt: skip
            if not spoiler_just_opened:
                raise cannot_end(entry)
            stack.pop()
            if stack[-1]["kind"] != "blockquote":
                raise cannot_end(stack[-1])
            entry, kind = stack[-1], "expandable_blockquote"
        skip = offset == entry["offset"]
        extra: dict = {}
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind in ("pre", "pre_code"):
            i += 2
        elif kind in ("text_link", "custom_emoji"):
            url, i = _v2_link(text, i, out, entry)
            if kind == "custom_emoji":
                emoji = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                if not emoji:
                    raise MarkupError("Invalid tg://emoji or tg://time URL specified")
                extra = {"custom_emoji_id": emoji.group(1)}
            else:
                checked = _checked_link(url)
                skip = skip or checked is None
                extra = {"url": checked}
        elif kind in ("blockquote", "expandable_blockquote"):
            quote_open, line_start, skip = False, True, False
            out.append(char)
            offset += 1
        if not skip:
            if kind == "pre_code":
                kind, extra = "pre", {"language": argument}
            entities.append(_entity(kind, entry["offset"], offset - entry["offset"], **extra))
        stack.pop()
        i += 1
    if quote_open and stack:
        kind = "blockquote"
        if stack[-1]["kind"] == "spoiler" and stack[-1]["byte"] == len(text.encode()) - 2:
            stack.pop()
            kind = "expandable_blockquote"
        if stack and stack[-1]["kind"] == "blockquote":
            entry = stack.pop()
            if offset > entry["offset"]:
                entities.append(_entity(kind, entry["offset"], offset - entry["offset"]))
    if stack:
        raise cannot_end(stack[-1])
    return "".join(out), entities


def _open_v2(text: str, i: int, stack: list[dict], out: list[str], offset: int, line_start: bool,
             quote_open: bool) -> int:  # fmt: skip
    """Open the entity whose markup starts at text[i] (or refuse it); the index after its opening markup."""
    char, n = text[i], len(text)
    byte = _byte_offset(text, i)
    argument = ""
    if char == "_":
        kind = "underline" if text.startswith("__", i) else "italic"
        i += 1 if kind == "underline" else 0
    elif char == "*":
        kind = "bold"
    elif char == "~":
        kind = "strikethrough"
    elif char == "|" and text.startswith("||", i):
        kind, i = "spoiler", i + 1
    elif char == "[":
        kind = "text_link"
    elif char == "`" and text.startswith("```", i):
        i += 3
        kind, end = "pre", i
        while end < n and not text[end].isspace() and text[end] != "`":
            end += 1
        if end != i and end < n and text[end] != "`":
            kind, argument, i = "pre_code", text[i:end], end
        if text[i : i + 1] in ("\n", "\r"):  # one line break after the opening fence is not shown
            i += 2 if text[i + 1 : i + 2] in ("\n", "\r") and text[i + 1] != text[i] else 1
        i -= 1
    elif char == "`":
        kind = "code"
    elif char == "!" and text.startswith("![", i):
        kind, i = "custom_emoji", i + 1
    elif char == "\n":
        out.append("\n")
        return i + 1
    elif char == ">" and line_start:
        if quote_open:
            return i + 1
        kind = "blockquote"
    else:
        raise _reserved(char)
    stack.append({"kind": kind, "argument": argument, "offset": offset, "byte": byte, "index": len(out)})
    return i + 1


def _v2_link(text: str, i: int, out: list[str], entry: dict) -> tuple[str, int]:
    """At a link's ']': its URL, from '(...)' after it or else its own text; the index of its last character."""
    if text[i + 1 : i + 2] != "(":
        if entry["kind"] == "custom_emoji":
            raise MarkupError("The entity must contain a tg://emoji or tg://time URL")
        return "".join(out[entry["index"] :]), i
    i += 2
    begin, url = i, []
    while i < len(text) and text[i] != ")":
        if text[i] == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126:
            url.append(text[i + 1])
            i += 2
            continue
        url.append(text[i])
        i += 1
    if i >= len(text):
        raise MarkupError(f"Can't find end of a URL at byte offset {_byte_offset(text, begin)}")
    return "".join(url), i


# ---- Markdown (legacy) --------------------------------------------------------------------------------------
def _parse_markdown(text: str) -> tuple[str, list[dict]]:
    out: list[str] = []
    offset = 0
    entities: list[dict] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.append(text[i + 1])
            offset += 1
            i += 2
            continue
        if char not in "_*`[":
            out.append(char)
            offset += utf16_len(char)
            i += 1
            continue
        begin, closing = i, "]" if char == "[" else char
        i += 1
        pre, language = False, ""
        if char == "`" and text.startswith("``", i):
            i, pre = i + 2, True
            end = i
            while end < n and not text[end].isspace() and text[end] != "`":
                end += 1
            if end != i and end < n and text[end] != "`":
                language, i = text[i:end], end
            if text[i : i + 1] in ("\n", "\r"):
                i += 2 if text[i + 1 : i + 2] in ("\n", "\r") and text[i + 1] != text[i] else 1
        start, start_index = offset, len(out)
        while i < n and (text[i] != closing or (pre and not text.startswith("``", i + 1))):
            out.append(text[i])
            offset += utf16_len(text[i])
            i += 1
        if i >= n:
            raise MarkupError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        if offset != start:
            kinds = {"_": "italic", "*": "bold"}
            if char in kinds:
                entities.append(_entity(kinds[char], start, offset - start))
            elif char == "[":
                url = "".join(out[start_index:])
                if text[i + 1 : i + 2] == "(":
                    close = text.find(")", i + 2)
                    close = n if close < 0 else close
                    url, i = text[i + 2 : close], close
                if checked := _checked_link(url):
                    entities.append(_entity("text_link", start, offset - start, url=checked))
            elif pre:
                extra = {"language": language} if language else {}
                entities.append(_entity("pre", start, offset - start, **extra))
            else:
                entities.append(_entity("code", start, offset - start))
        i += 3 if pre else 1
    return "".join(out), entities

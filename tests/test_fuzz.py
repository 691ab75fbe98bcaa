"""Property-based fuzzing of both handlers: Telegram-shaped updates and hostile variations, in every envelope.

Invariants (issues 13 and 26):
- the ingestion handler answers 2xx to every request with the right secret, 401 or 403 (writing nothing) to any
  other, and never raises (a 5xx) unless S3 itself fails, and then it does raise: Telegram's webhook server
  holds a chat's later updates behind any answer that is not 2xx, for up to 24 hours;
- it stores an object under telegram/ exactly when the update is well formed and belongs to the group, byte for
  byte, under the key of its day; "well formed" and "belongs" are spelled out here, independently of the
  handler's helpers. Every other signed body that is not deliberately ignored is kept whole in quarentena/:
  nothing is lost;
- the ETL never raises on a stored object, and every stored group message becomes exactly one row (one per
  chat and message id, edits merged) or one skipped entry.

Runs in-process against moto. `HYPOTHESIS_PROFILE=deep` (see tests/conftest.py) runs many more examples.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import boto3
import hypothesis
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, note, settings
from hypothesis import strategies as st
from moto import mock_aws

RAW = "turma-fuzz-raw"
ENRICHED = "turma-fuzz-enriched"
GROUP_ID = -1001987654321
SECRET = "Fz9_secret-token-for-fuzzing_Q2"
TZ = ZoneInfo("America/Sao_Paulo")
ETL_DAY_START = int(datetime(2025, 3, 17, tzinfo=TZ).timestamp())  # the day the ETL examples are written on
ENVELOPES = {
    "rest_v1": "apigateway_rest_v1.json",
    "http_v2": "apigateway_http_v2.json",
    "function_url": "function_url.json",
}
EVENTS = {
    kind: json.loads((Path(__file__).parent / "events" / name).read_text(encoding="utf-8"))
    for kind, name in ENVELOPES.items()
}


# --- The environment: one moto account and one execution environment for the whole module ---------------------
@pytest.fixture(scope="module")
def handler():
    env = {
        "AWS_S3_BUCKET": RAW,
        "AWS_S3_ENRICHED": ENRICHED,
        "TELEGRAM_CHAT_ID": str(GROUP_ID),
        "TELEGRAM_SECRET_TOKEN": SECRET,
        "TIMEZONE": "America/Sao_Paulo",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "sa-east-1",
    }
    saved = {
        name: os.environ.get(name) for name in [*env, "AWS_ENDPOINT_URL", "TELEGRAM_SECRET_TOKEN_OPTIONAL"]
    }
    os.environ.update(env)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("TELEGRAM_SECRET_TOKEN_OPTIONAL", None)
    try:
        with mock_aws():
            client = boto3.client("s3", region_name="sa-east-1")
            for bucket in (RAW, ENRICHED):
                client.create_bucket(
                    Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"}
                )
            import lambda_function

            module = importlib.reload(lambda_function)
            # A day here has at most six objects: 32 threads per run would only cost time.
            module.ETL_WORKERS = 2
            yield module
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def s3():
    return boto3.client("s3", region_name="sa-east-1")


def objects(bucket: str = RAW) -> dict[str, bytes]:
    client = s3()
    keys = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def empty_buckets() -> None:
    client = s3()
    for bucket in (RAW, ENRICHED):
        keys = [{"Key": item["Key"]} for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys})


def fresh_environment(handler) -> None:
    """Each example in a fresh execution environment: empty buckets and no migration recorded before it."""
    empty_buckets()
    handler._migrations.clear()


# --- Telegram-shaped updates ---------------------------------------------------------------------------------------
CHATS = {
    GROUP_ID: {
        "id": GROUP_ID,
        "title": "Turma de Engenharia de Dados",
        "is_forum": True,
        "type": "supergroup",
    },
    -1002000000001: {"id": -1002000000001, "title": "Outro grupo", "type": "supergroup"},
    -4012345678: {
        "id": -4012345678,
        "title": "Grupo antigo",
        "type": "group",
        "all_members_are_administrators": True,
    },
    5512345678: {"id": 5512345678, "first_name": "Ana", "username": "ana_dados", "type": "private"},
    -1001500000000: {"id": -1001500000000, "title": "Canal da turma", "type": "channel"},
}
OTHER_CHAT_IDS = [chat_id for chat_id in CHATS if chat_id != GROUP_ID]
# Weighted towards the group, so most examples exercise the stored path.
chat_ids = st.one_of(st.just(GROUP_ID), st.sampled_from(list(CHATS)))
# Valid Unicode only (no surrogates); hostile strategies add those on purpose.
plain_text = st.text(st.characters(codec="utf-8"), max_size=20)
words = st.sampled_from(["Bom dia", "turma", "ação", "Athena", "👋", "🚀🔥", "👨‍👩‍👧", "é", " ", "\n", "𝕏"])
users = st.fixed_dictionaries(
    {"id": st.integers(1, 2**40), "is_bot": st.booleans(), "first_name": st.one_of(words, plain_text)},
    optional={
        "username": st.from_regex(r"[a-z][a-z0-9_]{4,12}", fullmatch=True),
        "language_code": st.just("pt-br"),
    },
)
# Realistic send times (2020 to 2030) plus the edges of what a date can be.
dates = st.one_of(st.integers(1_577_836_800, 1_893_456_000), st.sampled_from([0, 1, 253402257599]))
ENTITY_PARTS = {
    "hashtag": st.from_regex(r"#[a-zà-ú0-9_]{1,10}", fullmatch=True),
    "mention": st.from_regex(r"@[a-z][a-z0-9_]{4,10}", fullmatch=True),
    "url": st.sampled_from(["https://aws.amazon.com", "docs.python.org/3", "t.me/turma"]),
    "bot_command": st.sampled_from(["/start", "/ajuda@coletor_turma_bot"]),
    "bold": words,
    "text_link": words,
}


@st.composite
def text_with_entities(draw) -> tuple[str, list[dict]]:
    """Text built from pieces, with entities whose offsets and lengths count UTF-16 code units, as Telegram's."""
    text, entities = "", []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            text += draw(st.one_of(words, plain_text))
            continue
        kind = draw(st.sampled_from(sorted(ENTITY_PARTS)))
        part = draw(ENTITY_PARTS[kind])
        entity = {"offset": len(text.encode("utf-16-le")) // 2, "length": len(part.encode("utf-16-le")) // 2}
        entity["type"] = kind
        if kind == "text_link":
            entity["url"] = "https://example.com"
        text += part
        entities.append(entity)
    return text, entities


MEDIA = {
    "photo": st.just([{"file_id": "AgACAgEAAx0", "file_unique_id": "AQADs", "width": 90, "height": 67}]),
    "sticker": st.just({"file_id": "CAACAgIAAx", "file_unique_id": "AgAD", "emoji": "😂", "type": "regular"}),
    "voice": st.just(
        {"duration": 4, "mime_type": "audio/ogg", "file_id": "AwACAgE", "file_unique_id": "AgAD"}
    ),
    "document": st.just({"file_name": "aula.pdf", "file_id": "BQACAgE", "file_unique_id": "AgADdoc"}),
    "video": st.just(
        {"duration": 12, "width": 640, "height": 360, "file_id": "BAACAgE", "file_unique_id": "A"}
    ),
    "animation": st.just(
        {"duration": 2, "width": 320, "height": 240, "file_id": "CgACAgE", "file_unique_id": "A"}
    ),
    "location": st.just({"latitude": -23.55052, "longitude": -46.633308}),
    "poll": st.just({"id": "5123", "question": "Qual?", "options": [{"text": "IAM", "voter_count": 0}]}),
}
SERVICE = {
    "new_chat_members": st.lists(users, min_size=1, max_size=2),
    "left_chat_member": users,
    "new_chat_title": words,
    "pinned_message": st.just(
        {"message_id": 3, "chat": CHATS[GROUP_ID], "date": 1742223600, "text": "fixada"}
    ),
    "migrate_to_chat_id": st.just(-1009999999999),
    "group_chat_created": st.just(True),
}


@st.composite
def messages(draw, chat_id: int | None = None, date: int | None = None, edited: bool = False) -> dict:
    chat_id = draw(chat_ids) if chat_id is None else chat_id
    sent = draw(dates) if date is None else date
    message = {"message_id": draw(st.integers(1, 2**31 - 1)), "chat": CHATS[chat_id], "date": sent}
    if CHATS[chat_id]["type"] != "channel":
        message["from"] = draw(users)
    content = draw(st.sampled_from(["text", "text", "media", "service", "migrate_from"]))
    if content == "text":
        message["text"], entities = draw(text_with_entities())
        if entities:
            message["entities"] = entities
    elif content == "media":
        kind = draw(st.sampled_from(sorted(MEDIA)))
        message[kind] = draw(MEDIA[kind])
        if kind == "animation":
            message["document"] = {"file_id": "CgACAgE", "file_unique_id": "A"}  # GIFs carry both
        if draw(st.booleans()):
            message["caption"], entities = draw(text_with_entities())
            if entities:
                message["caption_entities"] = entities
    elif content == "service":
        kind = draw(st.sampled_from(sorted(SERVICE)))
        message[kind] = draw(SERVICE[kind])
    else:
        # The first message of a supergroup made from a group: the old id comes along.
        message["migrate_from_chat_id"] = draw(st.sampled_from([GROUP_ID, -4012345678]))
        message["sender_chat"] = CHATS[chat_id]
    if draw(st.integers(0, 4)) == 0:
        message["reply_to_message"] = {"message_id": 1, "chat": CHATS[chat_id], "date": sent, "text": "oi"}
    if draw(st.integers(0, 4)) == 0:
        message["message_thread_id"] = draw(st.integers(1, 1000))
    if edited:
        message["edit_date"] = sent + draw(st.integers(0, 3 * 86400))
    return message


@st.composite
def updates(
    draw,
    date: int | None = None,
    message_ids: st.SearchStrategy[int] | None = None,
    only_messages: bool = False,
) -> dict:
    """One update as the Bot API delivers it to a group bot: exactly one field besides update_id."""
    kind = draw(
        st.sampled_from(["message", "edited_message"])
        if only_messages
        else st.sampled_from(
            [
                "message",
                "message",
                "message",
                "edited_message",
                "channel_post",
                "edited_channel_post",
                "my_chat_member",
                "chat_member",
                "callback_query",
                "message_reaction",
                "poll",
                "chat_join_request",
                "message_annotation_v9",
            ]
        )  # fmt: skip
    )
    update_id = draw(st.integers(0, 2**31 - 1))
    sent = draw(dates) if date is None else date
    if kind in ("message", "edited_message"):
        payload = draw(messages(date=sent, edited=kind == "edited_message"))
    elif kind in ("channel_post", "edited_channel_post"):
        payload = draw(messages(chat_id=draw(st.sampled_from([-1001500000000, GROUP_ID])), date=sent))
        payload.pop("from", None)
    elif kind in ("my_chat_member", "chat_member"):
        member = {"user": draw(users), "status": "member"}
        payload = {"chat": CHATS[draw(chat_ids)], "from": draw(users), "date": sent,
                   "old_chat_member": {**member, "status": "left"}, "new_chat_member": member}  # fmt: skip
    elif kind == "callback_query":
        payload = {"id": "4382", "from": draw(users), "chat_instance": "-5", "data": draw(plain_text),
                   "message": draw(messages(chat_id=GROUP_ID, date=sent))}  # fmt: skip
    elif kind == "message_reaction":
        payload = {"chat": CHATS[draw(chat_ids)], "message_id": 7, "date": sent, "user": draw(users),
                   "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}  # fmt: skip
    elif kind == "poll":
        payload = {"id": "5123", "question": draw(words), "options": [], "total_voter_count": 1}
    elif kind == "chat_join_request":
        payload = {"chat": CHATS[draw(chat_ids)], "from": draw(users), "user_chat_id": 1, "date": sent}
    else:  # a type Telegram adds later, with or without a chat
        payload = {"date": sent, **({"chat": CHATS[draw(chat_ids)]} if draw(st.booleans()) else {})}
    if message_ids is not None and "message_id" in payload:
        payload["message_id"] = draw(message_ids)
    return {"update_id": update_id, kind: payload}


def telegram_json(update: object, ascii_only: bool = False) -> bytes:
    # Telegram sends compact UTF-8; an encoder that escapes non-ASCII ("\ud83d\ude80") is just as valid JSON.
    return json.dumps(update, ensure_ascii=ascii_only, separators=(",", ":")).encode("utf-8")


# --- Hostile variations --------------------------------------------------------------------------------------------
WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**53, 2**63, -(2**63) - 1, 10**30, 253402300800, -1]),
    st.floats(allow_nan=False, allow_infinity=False),
    plain_text,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["id", "type", "x"]), st.integers(), max_size=2),
)
LONE_SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\ude00\ud83d"])


def paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside nested dicts and lists."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replaced(value: object, path: tuple, new: object, delete: bool = False) -> object:
    value = json.loads(json.dumps(value))  # a deep copy
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return value


HUGE_INTS = st.sampled_from([2**63, -(2**63) - 1, 10**20, 253402300800, -(2**62), 2**53])
HOW = ["wrong_type", "huge_int", "delete", "extra_payload", "no_payload", "surrogate", "surrogate_key", "truncate",
       "insert_bytes", "invalid_utf8", "bom", "not_an_object", "duplicate_key", "nan"]  # fmt: skip


@st.composite
def hostile_bodies(
    draw, base: st.SearchStrategy[dict] | None = None, record_level: bool = False
) -> tuple[bytes, str]:
    """A Telegram-shaped update broken in one way a forger, a proxy or a buggy client could break it.

    record_level: only breakages of the fields a row is made of that leave valid JSON (the ETL's own test adds
    raw bytes separately).
    """
    update = draw(updates() if base is None else base)
    how = draw(
        st.sampled_from(["wrong_type", "huge_int", "surrogate", "extra_payload"] if record_level else HOW)
    )
    # Leaves first: Hypothesis favours (and shrinks towards) the first choices, and a broken leaf is the subtle case.
    targets = paths(update)[::-1]
    if record_level:
        # The fields a row is made of (message.*, from.*, chat.*, entities[n].*), not deep copies like replies.
        near = [
            path
            for path in targets
            if len(path) <= 3 or (len(path) == 4 and path[1] in ("entities", "caption_entities"))
        ]
        targets = [path for path in near if "reply_to_message" not in path and "pinned_message" not in path]
    integers = [path for path in targets if type(_get(update, path)) is int]
    if how == "huge_int" and integers:
        body = telegram_json(replaced(update, draw(st.sampled_from(integers)), draw(HUGE_INTS)))
    elif how in ("wrong_type", "huge_int"):
        body = telegram_json(replaced(update, draw(st.sampled_from(targets)), draw(WRONG_VALUES)))
    elif how == "delete":
        body = telegram_json(replaced(update, draw(st.sampled_from(targets)), None, delete=True))
    elif how == "extra_payload":
        other = draw(updates())
        extra_kind = next(key for key in other if key != "update_id")
        if extra_kind in update:
            extra_kind += "_extra"
        order = draw(st.booleans())
        payload_kind = next(key for key in update if key != "update_id")
        fields = [
            (payload_kind, update[payload_kind]),
            (extra_kind, other[next(iter(other.keys() - {"update_id"}))]),
        ]
        body = telegram_json({"update_id": update["update_id"], **dict(fields if order else fields[::-1])})
    elif how == "no_payload":
        body = telegram_json({"update_id": update["update_id"]})
    elif how == "surrogate":
        strings = [path for path in targets if isinstance(_get(update, path), str)] or [("update_id",)]
        path = draw(st.sampled_from(strings))
        current = _get(update, path)
        cut = draw(st.integers(0, len(current) if isinstance(current, str) else 0))
        new = current[:cut] + draw(LONE_SURROGATES) + current[cut:] if isinstance(current, str) else "\ud800"
        body = telegram_json(replaced(update, path, new), ascii_only=True)
    elif how == "surrogate_key":
        body = telegram_json({**update, "x\udc80": 1}, ascii_only=True)
    elif how == "truncate":
        full = telegram_json(update)
        body = full[: draw(st.integers(0, len(full) - 1))]
    elif how == "insert_bytes":
        full = telegram_json(update)
        at = draw(st.integers(0, len(full)))
        body = full[:at] + draw(st.binary(min_size=1, max_size=4)) + full[at:]
    elif how == "invalid_utf8":
        full = telegram_json(update).replace(b'"date"', b'"d\xe4te"', 1)
        bad = draw(
            st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"])
        )
        body = full[:-1] + b',"x":"' + bad + b'"}' if full.endswith(b"}") else full + bad
    elif how == "bom":
        body = b"\xef\xbb\xbf" + telegram_json(update)
    elif how == "not_an_object":
        body = telegram_json(draw(st.sampled_from([[update], "update", None, 7, update["update_id"]])))
    elif how == "duplicate_key":
        full = telegram_json(update)
        body = full[:-1] + b',"update_id":' + str(update["update_id"] + 1).encode() + b"}"
    else:
        body = telegram_json(update).replace(b'"update_id":', b'"update_id":NaN,"u":', 1)
    return body, how


def _get(value: object, path: tuple) -> object:
    for step in path:
        value = value[step]
    return value


# --- Envelopes -----------------------------------------------------------------------------------------------------
@st.composite
def envelopes(draw, body: bytes, hostile: bool = False) -> tuple[dict, str]:
    """The event API Gateway (REST v1, HTTP API 2.0) or a Function URL would hand the function for `body`."""
    kind = draw(st.sampled_from(sorted(ENVELOPES)))
    event = json.loads(json.dumps(EVENTS[kind]))
    # API Gateway base64-encodes what it deems binary; a Function URL always does for this content type.
    b64 = draw(st.booleans()) if kind != "function_url" else True
    event["isBase64Encoded"] = b64
    if b64:
        event["body"] = base64.b64encode(body).decode()
    else:
        # An HTTP API hands over a text body as a str; bytes that are not UTF-8 arrive as replacement characters.
        event["body"] = body.decode("utf-8", errors="replace")
    header = "X-Telegram-Bot-Api-Secret-Token" if kind == "rest_v1" else "x-telegram-bot-api-secret-token"
    event["headers"][header] = SECRET
    if "multiValueHeaders" in event:
        event["multiValueHeaders"][header] = [SECRET]
    change = draw(st.sampled_from(["none"] * 6 + (ENVELOPE_CHANGES if hostile else [])))
    apply_envelope_change(event, kind, header, change, draw)
    return event, change


ENVELOPE_CHANGES = [
    "no_secret", "wrong_secret", "surrogate_secret", "request_context_string", "huge_time_epoch",
    "time_epoch_string", "no_request_context", "headers_list", "b64_flag_string", "invalid_base64",
    "base64_with_spaces", "empty_body", "body_not_string",
]  # fmt: skip


def apply_envelope_change(event: dict, kind: str, header: str, change: str, draw) -> None:
    time_field = "requestTimeEpoch" if kind == "rest_v1" else "timeEpoch"
    if change == "no_secret":
        del event["headers"][header]
    elif change == "wrong_secret":
        event["headers"][header] = draw(st.sampled_from([SECRET + "x", SECRET[:-1], "", SECRET.upper()]))
    elif change == "surrogate_secret":
        event["headers"][header] = SECRET[:-1] + "\udc00"
    elif change == "request_context_string":
        event["requestContext"] = "contexto"
    elif change == "huge_time_epoch":
        event["requestContext"][time_field] = draw(st.sampled_from([2**63, 253402300800_000, -5]))
    elif change == "time_epoch_string":
        event["requestContext"][time_field] = str(event["requestContext"][time_field])
    elif change == "no_request_context":
        del event["requestContext"]
    elif change == "headers_list":
        event["headers"] = list(event["headers"].items())
    elif change == "b64_flag_string":
        event["isBase64Encoded"] = draw(st.sampled_from(["true", "false", 1, 0]))
    elif change == "invalid_base64":
        event["isBase64Encoded"] = True
        event["body"] = draw(st.sampled_from(["not base64!!", "e30", "é30=", "\ud800AA=", "=="]))
    elif change == "base64_with_spaces":
        event["isBase64Encoded"] = True
        event["body"] = " ".join(event["body"][i : i + 8] for i in range(0, len(event["body"]), 8)) or " "
    elif change == "empty_body":
        event["body"] = draw(st.sampled_from(["", None]))
    elif change == "body_not_string":
        event["body"] = draw(st.sampled_from([{"update_id": 1}, 7, ["x"]]))


# --- The oracle: what the handler must do, spelled out from Telegram's and AWS's rules -----------------------------
NOT_THE_GROUP = {"channel_post", "edited_channel_post", "callback_query"}


def _strict_object(pairs: list) -> dict:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _integer(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value < high


def _local_day(epoch: float) -> str | None:
    try:
        return datetime.fromtimestamp(epoch, tz=timezone.utc).astimezone(TZ).date().isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def received(event: dict) -> bytes:
    """The bytes the request carried: base64 undone when valid, any other text as it came."""
    body, flag = event.get("body"), event.get("isBase64Encoded")
    if body is None:
        return b""
    if not isinstance(body, str):
        return json.dumps(body, ensure_ascii=False).encode("utf-8")
    if flag is True:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            pass
    return body.encode("utf-8", "surrogatepass")


def quarantine_day(raw: bytes, context: object, now: float) -> str:
    """The day of the body's own date (its first payload's), else of the gateway's arrival time, else now."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        data = None
    for name, payload in data.items() if isinstance(data, dict) else ():
        if name != "update_id" and isinstance(payload, dict) and _integer(payload.get("date"), 0, 2**53):
            day = _local_day(payload["date"])
            if day is not None:
                return day
    if isinstance(context, dict):
        arrival = context.get("timeEpoch" if "timeEpoch" in context else "requestTimeEpoch")
        if _integer(arrival, 0, 2**53) and _local_day(arrival / 1000) is not None:
            return _local_day(arrival / 1000)
    return _local_day(now)


def expected_outcome(event: dict, now: float) -> tuple[int, dict[str, bytes]]:
    """(status, objects stored) for an event: 401/403 refused; 200 stored, kept in quarantine or ignored.

    A quarantined body is given as {"quarentena/<day>/<sha256>.json": the body's bytes}.
    """
    headers = event.get("headers")
    secret = {name.lower(): value for name, value in headers.items()}.get(
        "x-telegram-bot-api-secret-token"
    ) if isinstance(headers, dict) else None  # fmt: skip
    if secret is None:
        return 401, {}
    if secret != SECRET:
        return 403, {}
    raw = received(event)
    quarantine = {f"quarentena/{quarantine_day(raw, event.get('requestContext'), now)}/"
                  f"{hashlib.sha256(raw).hexdigest()}.json": raw}  # fmt: skip
    flag, context = event.get("isBase64Encoded"), event.get("requestContext")
    if flag not in (None, True, False) or (context is not None and not isinstance(context, dict)):
        return 200, quarantine
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return 200, quarantine
    try:
        raw = base64.b64decode(body, validate=True) if flag else body.encode("utf-8")
        update = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_strict_object, parse_constant=_no_constant
        )
        json.dumps(update, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere
    except (ValueError, RecursionError, TypeError):
        return 200, quarantine
    if not raw or not isinstance(update, dict) or not _integer(update.get("update_id"), 0, 2**53):
        return 200, quarantine
    kinds = [key for key in update if key != "update_id"]
    if len(kinds) != 1 or not isinstance(update[kinds[0]], dict):
        return 200, quarantine
    kind, payload = kinds[0], update[kinds[0]]
    chat = payload.get("chat")
    if chat is not None and not (isinstance(chat, dict) and type(chat.get("id")) is int):
        return 200, quarantine
    for name in ("migrate_from_chat_id", "migrate_to_chat_id"):
        if payload.get(name) is not None and type(payload[name]) is not int:
            return 200, quarantine
    if "date" in payload:
        if not _integer(payload["date"], 0, 2**53):
            return 200, quarantine
        day = _local_day(payload["date"])
    else:
        context = context or {}
        name = "timeEpoch" if "timeEpoch" in context else "requestTimeEpoch"
        arrival = context.get(name)
        if arrival is not None and not _integer(arrival, 0, 2**53):
            return 200, quarantine
        day = _local_day(now if arrival is None else arrival / 1000)
    if day is None:
        return 200, quarantine
    # The envelope's arrival time is checked even when the update has a date of its own.
    if context and ("timeEpoch" in context or "requestTimeEpoch" in context):
        name = "timeEpoch" if "timeEpoch" in context else "requestTimeEpoch"
        if context[name] is not None and not _integer(context[name], 0, 2**53):
            return 200, quarantine
    belongs = kind not in NOT_THE_GROUP and (
        (chat is not None and chat["id"] == GROUP_ID) or payload.get("migrate_from_chat_id") == GROUP_ID
    )
    if chat is None:
        belongs = False
    if not belongs:
        return 200, {}
    stored = {f"telegram/context_date={day}/{update['update_id']}.json": raw}
    # Telegram's migration messages of the group (to a supergroup, whose ids are below -10^12) are also
    # recorded, so that the supergroup's later messages are kept: one small object outside telegram/.
    old_id, new_id = None, None
    if chat["id"] == GROUP_ID and payload.get("migrate_to_chat_id") is not None:
        old_id, new_id = GROUP_ID, payload["migrate_to_chat_id"]
    elif payload.get("migrate_from_chat_id") == GROUP_ID:
        old_id, new_id = GROUP_ID, chat["id"]
    if new_id is not None and new_id != old_id and new_id < -(10**12):
        record = {"migrate_from_chat_id": old_id, "migrate_to_chat_id": new_id}
        stored[f"estado/migracoes/{new_id}.json"] = json.dumps(record).encode()
    return 200, stored


def check_handler(handler, event: dict) -> tuple[int, str | None]:
    """Run the handler on event and check every ingestion invariant; returns (status, stored key)."""
    fresh_environment(handler)
    now = datetime.now(timezone.utc).timestamp()
    expected_status, expected_objects = expected_outcome(event, now)

    response = handler.lambda_handler(event, None)  # raising here would be a 5xx

    status = response["statusCode"]
    assert status in (200, 401, 403), response
    assert "method" not in json.loads(response["body"])
    stored = objects()
    note(f"status={status} stored={sorted(stored)} expected={expected_status} {sorted(expected_objects)}")
    assert status == expected_status, response["body"]
    # A quarantine record holds the body whole (base64), with the reason and the time of arrival.
    kept = {key: json.loads(body) for key, body in stored.items() if key.startswith("quarentena/")}
    assert all(record["reason"] and datetime.fromisoformat(record["arrived_at"]) for record in kept.values())
    readable = {key: base64.b64decode(kept[key]["body_base64"]) if key in kept else body
                for key, body in stored.items()}  # fmt: skip
    assert readable == expected_objects
    return status, next((key for key in expected_objects if key.startswith("telegram/")), None)


# --- Properties ----------------------------------------------------------------------------------------------------
# An ETL example runs the whole ETL against moto (~0.15 s): half the examples of the profile keep the default fast.
ETL_SETTINGS = settings(max_examples=max(10, settings.default.max_examples // 2))


@given(data=st.data())
def test_every_telegram_update_is_stored_exactly_when_it_belongs_to_the_group(handler, data):
    update = data.draw(updates(), label="update")
    body = telegram_json(update, ascii_only=data.draw(st.booleans(), label="ascii_only"))
    event, _ = data.draw(envelopes(body), label="envelope")

    status, key = check_handler(handler, event)

    assert (
        status == 200
    )  # a real update is never refused: Telegram would hold the chat's next ones for 24 hours
    kind = next(k for k in update if k != "update_id")
    hypothesis.event(f"{kind}: {'stored' if key else 'ignored'}")


@given(data=st.data())
def test_hostile_update_is_stored_when_well_formed_and_of_the_group_else_kept_in_quarantine(handler, data):
    body, how = data.draw(hostile_bodies(), label="body")
    note(f"body={body!r}")
    event, change = data.draw(envelopes(body, hostile=True), label="envelope")

    status, key = check_handler(handler, event)

    # Bodies that break one of Telegram's rules are never an update, whatever the rest of them holds: 200, and
    # kept in quarantine. (Not UTF-8 is only that when base64-encoded: a text body reaches the function with
    # replacement characters instead.)
    never = {"extra_payload", "no_payload", "surrogate", "surrogate_key", "bom", "not_an_object", "nan",
             "duplicate_key"} | ({"invalid_utf8"} if event["isBase64Encoded"] is True else set())  # fmt: skip
    if how in never and change == "none":
        assert status == 200 and key is None
        assert [key for key in objects() if not key.startswith("quarentena/")] == []
    hypothesis.event(f"{how}: {status}")
    hypothesis.event(f"envelope {change}: {status}")


@given(data=st.data())
def test_s3_failure_makes_the_invocation_fail_so_telegram_retries(handler, data):
    update = data.draw(updates(), label="update")
    event, _ = data.draw(envelopes(telegram_json(update)), label="envelope")
    status, stored = expected_outcome(event, datetime.now(timezone.utc).timestamp())
    handler._migrations.clear()
    # S3 is needed to store the update, or to ask whether the group became this supergroup-shaped chat.
    needs_s3 = bool(stored) or (status == 200 and asks_for_a_migration(update))

    with mock.patch.object(handler, "AWS_S3_BUCKET", "bucket-que-nao-existe-raw"):
        if not needs_s3:
            assert handler.lambda_handler(event, None)["statusCode"] == 200
        else:
            with pytest.raises(ClientError, match="NoSuchBucket"):
                handler.lambda_handler(event, None)
    hypothesis.event(f"s3 failure: {'raised' if needs_s3 else 'ignored'}")


def asks_for_a_migration(update: dict) -> bool:
    """A chat with a supergroup's id (below -10^12) that is not the group: it may be what the group became."""
    kind = next(name for name in update if name != "update_id")
    chat = update[kind].get("chat") or {}
    return kind not in NOT_THE_GROUP and chat.get("id", 0) < -(10**12) and chat["id"] != GROUP_ID


# Updates that pass the handler (well formed, of the group) but whose other fields are broken: the ETL's job.
@st.composite
def group_updates_for_the_etl(draw, day_start: int, only_messages: bool = False) -> dict:
    sent = day_start + draw(st.integers(0, 86399))
    update = draw(updates(date=sent, message_ids=st.integers(1, 4), only_messages=only_messages))
    kind = next(key for key in update if key != "update_id")
    if "chat" in update[kind]:
        update[kind]["chat"] = CHATS[GROUP_ID]
    if draw(st.integers(0, 2)) == 0:
        # Break one field the handler does not read: the record must then be skipped or still make a row.
        targets = [
            path
            for path in paths(update)[::-1]
            if path[0] != "update_id" and path[1:] not in (("chat",), ("chat", "id"), ("date",))
            and path[1:2] not in (("migrate_from_chat_id",), ("migrate_to_chat_id",)) and len(path) > 1
        ]  # fmt: skip
        if targets:
            path = draw(st.sampled_from(targets))
            if draw(st.booleans()):
                update = replaced(update, path, draw(WRONG_VALUES))
            else:
                update = replaced(update, path, None, delete=True)
    return update


def is_message(update: dict) -> bool:
    """What the dataset holds: a message or an edit, not a service message (members joining, pins, ...)."""
    kinds = [key for key in update if key != "update_id"]
    service = {"new_chat_members", "left_chat_member", "new_chat_title", "pinned_message", "migrate_to_chat_id",
               "migrate_from_chat_id", "group_chat_created"}  # fmt: skip
    return (
        len(kinds) == 1
        and kinds[0] in ("message", "edited_message")
        and isinstance(update[kinds[0]], dict)
        and service.isdisjoint(update[kinds[0]])
    )


@ETL_SETTINGS
@given(data=st.data())
def test_every_stored_group_message_becomes_exactly_one_row_or_one_skipped_entry(handler, data):
    fresh_environment(handler)
    batch = data.draw(
        st.lists(group_updates_for_the_etl(ETL_DAY_START), min_size=1, max_size=6), label="batch"
    )
    for update in batch:
        event, _ = data.draw(envelopes(telegram_json(update)), label="envelope")
        response = handler.lambda_handler(event, None)
        assert response["statusCode"] == 200
    # What the ETL reads: the updates under telegram/ (a group migration's record lives under estado/).
    stored = {key: body for key, body in objects().items() if key.startswith("telegram/")}

    summary = handler.etl_handler({"date": "2025-03-17"}, None)  # must never raise

    [detail] = summary["details"]
    skipped = {item["key"] for item in summary["skipped"]}
    assert detail["objects"] == len(stored)
    assert skipped <= set(stored)
    parsed = {key: json.loads(body) for key, body in stored.items()}
    expected = {
        (update[kind]["chat"]["id"], update[kind]["message_id"])
        for key, update in parsed.items()
        if key not in skipped and is_message(update)
        for kind in [next(k for k in update if k != "update_id")]
    }
    not_messages = [key for key, update in parsed.items() if not is_message(update)]
    assert set(not_messages).isdisjoint(skipped)
    assert detail["ignored"] == len(not_messages)
    assert detail["rows"] == len(expected)
    if expected:
        body = s3().get_object(Bucket=ENRICHED, Key=detail["output_key"])["Body"].read()
        rows = pq.read_table(io.BytesIO(body)).to_pylist()
        assert {(row["chat_id"], row["message_id"]) for row in rows} == expected
        assert len(rows) == len(expected)
    else:
        assert detail["output_key"] is None
    hypothesis.event(f"{len(skipped)} skipped, {detail['rows']} rows")


def broken_group_messages(day_start: int) -> st.SearchStrategy[bytes]:
    base = group_updates_for_the_etl(day_start, only_messages=True)
    return hostile_bodies(base=base, record_level=True).map(lambda pair: pair[0])


@ETL_SETTINGS
@given(data=st.data())
def test_etl_never_raises_on_any_stored_object(handler, data):
    """Objects put straight into the raw bucket (an old version of the handler, a learner's upload, a bug)."""
    fresh_environment(handler)
    # Every day has broken group messages (the records that reach every step of the ETL) among sound ones.
    broken = data.draw(st.lists(broken_group_messages(ETL_DAY_START), min_size=1, max_size=3), label="broken")
    others = st.one_of(group_updates_for_the_etl(ETL_DAY_START).map(telegram_json), st.binary(max_size=40))
    bodies = data.draw(st.permutations(broken + data.draw(st.lists(others, max_size=3), label="others")))
    client = s3()
    for number, body in enumerate(bodies):
        client.put_object(Bucket=RAW, Key=f"telegram/context_date=2025-03-17/{number}.json", Body=body)

    summary = handler.etl_handler({"date": "2025-03-17"}, None)

    [detail] = summary["details"]
    assert detail["objects"] == len(bodies)
    skipped = {item["key"] for item in detail["skipped"]}
    assert skipped <= {f"telegram/context_date=2025-03-17/{number}.json" for number in range(len(bodies))}
    # Every object not skipped is JSON the ETL read: a message (one row per chat and message id, edits merged)
    # or something else it ignored.
    expected, not_messages = set(), 0
    for number, body in enumerate(bodies):
        if f"telegram/context_date=2025-03-17/{number}.json" in skipped:
            continue
        update = json.loads(body.decode("utf-8"))
        if is_message(update):
            payload = update[next(key for key in update if key != "update_id")]
            expected.add((payload["chat"]["id"], payload["message_id"]))
        else:
            not_messages += 1
    assert detail["ignored"] == not_messages
    assert detail["rows"] == len(expected)
    json.dumps(summary)  # the summary goes back through Lambda as JSON
    hypothesis.event(f"{len(skipped)} skipped of {len(bodies)}")

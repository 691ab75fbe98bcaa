"""The deployed AWS Lambda code of the pipeline.

Two handlers live in this one file, deployed as two functions:

- ``lambda_handler``: Telegram's webhook calls Amazon API Gateway, which invokes this handler with the update;
  it stores the update, as received, in the raw bucket at
  ``telegram/context_date=YYYY-MM-DD/{update_id}.json``. When the group becomes a supergroup (a new chat id), it
  records that in ``estado/migracoes/{new id}.json`` and keeps storing the group under either id. A signed request
  it cannot store as an update is kept, with the reason, in ``quarentena/YYYY-MM-DD/{sha256}.json``.
- ``etl_handler``: the daily ETL from the raw JSON to the enriched Parquet dataset.

Only the standard library and boto3 are imported at module level: both come with the Lambda Python runtime.
The ETL's pyarrow comes from the AWS-managed AWSSDKPandas layer and is imported inside the ETL path only.
Configuration and clients are created once per execution environment, at import time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import logging
import os
import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# --- Configuration (read once per execution environment) -------------------------------------------------------
AWS_S3_BUCKET = os.environ.get("AWS_S3_BUCKET", "")
# The group's id; a comma-separated list is accepted too. A group that becomes a supergroup needs no change here:
# the handler records the migration in the raw bucket (see "Group migration" below).
TELEGRAM_CHAT_ID = os.environ.get("TELEGRAM_CHAT_ID", "")
TELEGRAM_SECRET_TOKEN = os.environ.get("TELEGRAM_SECRET_TOKEN", "")
# Without a secret anyone who finds the URL can write to the bucket, so an empty secret is a configuration error
# unless the deployer says, with this variable set to "true", that accepting unsigned requests is deliberate.
TELEGRAM_SECRET_TOKEN_OPTIONAL = os.environ.get("TELEGRAM_SECRET_TOKEN_OPTIONAL", "")
TIMEZONE = ZoneInfo(os.environ.get("TIMEZONE", "America/Sao_Paulo"))
RAW_PREFIX = "telegram"
# Signed requests that are not a storable update: outside telegram/, so the ETL and Athena never read them.
QUARANTINE_PREFIX = "quarentena"

logger = logging.getLogger("lambda_function")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# The ETL mostly waits for S3's first byte (tens of ms per GET), so it keeps many GETs in flight. Measured with
# benchmarks/etl.py at 50 ms per request: 16 in flight fetch ~20% slower than 32, and 64 add nothing more.
ETL_WORKERS = 32
# One client for both handlers; botocore keeps 10 connections by default, and every ETL worker needs its own.
s3 = boto3.client("s3", config=Config(max_pool_connections=ETL_WORKERS))

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name, not a secret
# Update types that carry a chat but never belong in the dataset: a channel is not the group, and a button press
# (callback_query) is an interaction, not a message.
IGNORED_TYPES = frozenset({"channel_post", "edited_channel_post", "callback_query"})
# Telegram ids fit in 52 bits; anything larger (or negative for update_id) is forged.
MAX_ID = 2**53
# setWebhook's secret_token: 1 to 256 of A-Z, a-z, 0-9, _ and - (https://core.telegram.org/bots/api#setwebhook).
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# A lone surrogate can only arrive as a JSON escape (\ud800 to \udfff): strict UTF-8 has no bytes for one.
LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class Rejected(Exception):
    """A request without the right secret (401 or 403): not Telegram, so nothing of it is written anywhere."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class NotAnUpdate(Exception):
    """A signed request that cannot be stored as an update: it is kept in quarantine and answered 200.

    Telegram's webhook server treats every answer other than 2xx alike: it redelivers the update until it is
    24 hours past its date, and holds that chat's later updates meanwhile (one update at a time per chat; see
    WebhookActor in tdlib/telegram-bot-api). A 4xx would stall the group for up to a day, without a trace.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- Ingestion: API Gateway -> S3 ----------------------------------------------------------------------------------
def lambda_handler(event: dict, context) -> dict:
    """Store one Telegram update from an API Gateway (REST v1, HTTP API v2) or Function URL event."""
    chat_ids = configured_chat_ids(TELEGRAM_CHAT_ID)
    secret = configured_secret(TELEGRAM_SECRET_TOKEN, TELEGRAM_SECRET_TOKEN_OPTIONAL)
    if not AWS_S3_BUCKET:
        # A misconfigured function must fail loudly (and Telegram retry) rather than drop updates.
        raise RuntimeError("AWS_S3_BUCKET não está definida nas variáveis de ambiente da função")
    try:
        check_secret(normalized_headers(event), secret)
    except Rejected as rejected:
        log_decision(None, None, "rejected", status=rejected.status, reason=rejected.reason)
        return http_response(rejected.status, {"ok": False, "error": rejected.reason})
    try:
        check_envelope(event)
        body = request_body(event)
        update = parse_update(body)
        day = partition_date(update, update_type(update), arrival_epoch(event), TIMEZONE)
    except NotAnUpdate as odd:
        key = quarantine(event, odd.reason)
        log_decision(None, None, "quarantined", reason=odd.reason, key=key)
        return http_response(200, {"ok": True})

    update_id = update["update_id"]
    kind = update_type(update)
    chat_id = update_chat_id(update, kind)
    if not belongs_to_group(kind, chat_id, update, chat_ids):
        log_decision(update_id, kind, "ignored", chat_id=chat_id)
        return http_response(200, {"ok": True})

    key = raw_key(update_id, day)
    migration = migration_in(update[kind], chat_id, chat_ids)
    if migration is not None:
        # Recorded before the update is stored and answered: once Telegram sees the 2xx, it delivers the new
        # chat's next messages, and whichever execution environment gets them must find the record.
        record_migration(*migration)
        log_decision(
            update_id, kind, "migration_recorded", from_chat_id=migration[0], to_chat_id=migration[1]
        )
    store(key, body)
    log_decision(update_id, kind, "stored", key=key)
    return http_response(200, {"ok": True})


def belongs_to_group(kind: str | None, chat_id: int | None, update: dict, chat_ids: frozenset[int]) -> bool:
    """Everything of the group's chat is kept, whatever its type (including types Telegram adds later)."""
    if kind is None or kind in IGNORED_TYPES or chat_id is None:
        return False
    if chat_id in chat_ids:
        return True
    # The first message of a supergroup made from our group: keep it, it links the group's two ids.
    migrated_from = update[kind].get("migrate_from_chat_id")
    if _is_int(migrated_from) and migrated_from in chat_ids:
        return True
    # A later message of that supergroup: its id is not configured, but the migration was recorded.
    return recorded_migration(chat_id) in chat_ids


def update_type(update: dict) -> str | None:
    """An update has exactly one field besides update_id: its type (message, edited_message, ...)."""
    return next((key for key in update if key != "update_id"), None)


def update_chat_id(update: dict, kind: str | None) -> int | None:
    chat = (update.get(kind) or {}).get("chat") if kind else None
    return chat["id"] if chat else None


def partition_date(update: dict, kind: str, arrived: float, tz: ZoneInfo) -> str:
    """The day, in the configured time zone, that the update belongs to.

    A message's own ``date`` is its original send time, also in ``edited_message``, so an edit lands beside the
    message it changes. Member updates carry the event's ``date``; anything else uses the arrival time.
    """
    epoch = update[kind].get("date")
    try:
        return local_datetime(arrived if epoch is None else epoch, tz).date().isoformat()
    except ValueError:
        field = f"{kind}.date" if epoch is not None else "a hora de chegada (requestContext)"
        raise NotAnUpdate(f"{field} está fora das datas possíveis (anos 1 a 9999)") from None


def arrival_epoch(event: dict) -> float:
    """When API Gateway received the request (HTTP API: timeEpoch, REST: requestTimeEpoch), else now."""
    context = event.get("requestContext") or {}
    name = "timeEpoch" if "timeEpoch" in context else "requestTimeEpoch"
    epoch_ms = context.get(name)
    if epoch_ms is None:
        return time.time()
    if not (_is_int(epoch_ms) and 0 <= epoch_ms < MAX_ID):
        raise NotAnUpdate(f"requestContext.{name} deve ser um inteiro (milissegundos desde 1970)")
    return epoch_ms / 1000


def local_datetime(epoch: float, tz: ZoneInfo) -> datetime:
    """The moment `epoch` (seconds since 1970) in tz; ValueError when it falls outside years 1 to 9999."""
    try:
        return datetime.fromtimestamp(epoch, tz=timezone.utc).astimezone(tz)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{epoch!r} não é uma data entre os anos 1 e 9999") from None


def raw_key(update_id: int, day: str) -> str:
    # One key per update_id: a redelivered update overwrites itself instead of becoming a duplicate.
    return f"{RAW_PREFIX}/context_date={day}/{update_id}.json"


def store(key: str, body: bytes) -> None:
    try:
        s3.put_object(Bucket=AWS_S3_BUCKET, Key=key, Body=body, ContentType="application/json")
    except (BotoCoreError, ClientError):
        # Not swallowed: the invocation fails, API Gateway answers 5xx and Telegram delivers the update again.
        logger.exception(json.dumps({"decision": "s3_error", "key": key}))
        raise


def http_response(status: int, payload: dict) -> dict:
    # Telegram executes a "method" found in a 2xx answer: this payload never has one.
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload, ensure_ascii=False),
    }


def log_decision(update_id: int | None, kind: str | None, decision: str, **fields) -> None:
    """One structured line per request: ids and decisions only, never message text or secrets."""
    logger.info(json.dumps({"update_id": update_id, "type": kind, "decision": decision, **fields}))


def quarantine(event: object, reason: str) -> str:
    """Keep a signed request that is not a storable update, with why and when; returns its key.

    The key is the body's SHA-256 under the day of its own date (else of its arrival): a redelivery of the same
    body overwrites the same object instead of adding one.
    """
    body = received_bytes(event)
    arrived = arrival_or_now(event)
    epoch = own_date(body)
    day = local_datetime(arrived if epoch is None else epoch, TIMEZONE).date().isoformat()
    digest = hashlib.sha256(body).hexdigest()
    record = {
        "reason": reason,
        "arrived_at": datetime.fromtimestamp(arrived, tz=timezone.utc).isoformat(timespec="milliseconds"),
        "sha256": digest,
        "body_base64": base64.b64encode(body).decode("ascii"),
    }
    key = f"{QUARANTINE_PREFIX}/{day}/{digest}.json"
    store(key, json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return key


def received_bytes(event: object) -> bytes:
    """The request's body as it reached the function, however malformed: quarantine must lose nothing.

    The base64 of API Gateway is undone when it is valid; otherwise the text is kept as it came (surrogatepass:
    a lone surrogate round-trips). A body that is not text (only a direct invocation sends one) is kept as JSON.
    """
    if not isinstance(event, dict):
        return json.dumps(event, ensure_ascii=False, default=repr).encode("utf-8", "surrogatepass")
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        return json.dumps(body, ensure_ascii=False, default=repr).encode("utf-8", "surrogatepass")
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            pass
    return body.encode("utf-8", "surrogatepass")


def own_date(body: bytes) -> int | None:
    """The `date` of the body's first payload, when the body is a JSON object holding one the calendar can hold."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    for name, payload in data.items():
        epoch = payload.get("date") if name != "update_id" and isinstance(payload, dict) else None
        if _is_int(epoch) and 0 <= epoch < MAX_ID:
            try:
                local_datetime(epoch, TIMEZONE)
            except ValueError:
                continue
            return epoch
    return None


def arrival_or_now(event: object) -> float:
    """The gateway's arrival time when the envelope holds a usable one; else the function's own clock."""
    if not isinstance(event, dict) or not isinstance(event.get("requestContext") or {}, dict):
        return time.time()
    try:
        arrived = arrival_epoch(event)
        local_datetime(arrived, TIMEZONE)
    except (NotAnUpdate, ValueError):
        return time.time()
    return arrived


# --- Ingestion, defensive checks: the configuration, and input forged or malformed ---------------------------------
# Each one is exercised by tests/test_ingestion.py (secrets, envelopes, bodies, lone surrogates), tests/test_fuzz.py
# (Hypothesis: every shape of update Telegram or an attacker can send) and tests/test_hostile_input.py (requests
# to the deployed URL, through API Gateway).
def configured_chat_ids(value: str) -> frozenset[int]:
    """Parse TELEGRAM_CHAT_ID ("-1001234567890" or a comma-separated list) into ints."""
    try:
        ids = frozenset(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise RuntimeError(
            f"TELEGRAM_CHAT_ID inválido: {value!r} (esperado um número como -1001234567890)"
        ) from None
    if not ids:
        raise RuntimeError("TELEGRAM_CHAT_ID não está definida nas variáveis de ambiente da função")
    return ids


def configured_secret(secret: str, optional: str) -> str:
    """The secret Telegram must send; an empty one is allowed only when TELEGRAM_SECRET_TOKEN_OPTIONAL=true."""
    opt_out = optional.strip().lower()
    if opt_out not in ("", "true", "false"):
        raise RuntimeError(f"TELEGRAM_SECRET_TOKEN_OPTIONAL inválido: {optional!r} (use true ou false)")
    if not secret and opt_out != "true":
        raise RuntimeError(
            "TELEGRAM_SECRET_TOKEN não está definida nas variáveis de ambiente da função: sem ela qualquer um "
            "poderia gravar no bucket. Defina o mesmo secret_token do setWebhook (ou, para aceitar requisições "
            "sem segredo de propósito, TELEGRAM_SECRET_TOKEN_OPTIONAL=true)"
        )
    if secret and not SECRET_TOKEN.fullmatch(secret):
        # Telegram can never send such a secret (setWebhook refuses it), so every update would get 403.
        raise RuntimeError(
            f"TELEGRAM_SECRET_TOKEN inválido ({len(secret)} caracteres): o Telegram só aceita de 1 a 256 caracteres "
            "A-Z, a-z, 0-9, _ e -. Confira espaços ou quebras de linha coladas junto e use o mesmo secret_token do "
            "setWebhook"
        )
    return secret


def check_envelope(event: object) -> None:
    """The fields of the API Gateway / Function URL event the handler reads must have AWS's types.

    AWS always sends them so; anything else is a hand-made event (a direct invocation) that can never succeed.
    """
    if not isinstance(event, dict):
        raise NotAnUpdate("evento inválido: esperado um objeto JSON")
    for name, kind, label in (
        ("headers", dict, "um objeto"),
        ("isBase64Encoded", bool, "true ou false"),
        ("requestContext", dict, "um objeto"),
    ):
        if event.get(name) is not None and not isinstance(event[name], kind):
            raise NotAnUpdate(f"{name} do evento deve ser {label}")


def normalized_headers(event: object) -> dict[str, str]:
    """Headers with lower-case names: REST APIs keep the client's case, HTTP APIs and Function URLs lower it.

    An event whose headers are not an object (only a direct invocation can send one) has no secret to read.
    """
    headers = event.get("headers") if isinstance(event, dict) else None
    if not isinstance(headers, dict):
        return {}
    return {str(name).lower(): value for name, value in headers.items() if isinstance(value, str)}


def check_secret(headers: dict[str, str], expected: str) -> None:
    """Telegram sends setWebhook's secret_token in a header; without it anyone could write to the bucket."""
    if not expected:
        return  # only when the deployer opted out with TELEGRAM_SECRET_TOKEN_OPTIONAL=true
    received = headers.get(SECRET_HEADER)
    if received is None:
        raise Rejected(401, "cabeçalho X-Telegram-Bot-Api-Secret-Token ausente")
    # surrogatepass: a forged header with a lone surrogate is just a wrong secret, not a crash.
    if not hmac.compare_digest(
        received.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    ):
        raise Rejected(403, "X-Telegram-Bot-Api-Secret-Token incorreto")


def request_body(event: dict) -> bytes:
    """The body exactly as Telegram sent it (API Gateway may base64-encode it)."""
    body = event.get("body")
    if body is None or body == "":
        raise NotAnUpdate("corpo da requisição ausente ou vazio")
    if not isinstance(body, str):
        raise NotAnUpdate("corpo da requisição não é texto")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise NotAnUpdate("corpo em base64 inválido") from None
        # Never empty: `body` is not, and strict base64 of at least one character decodes to at least one byte.
        return raw
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: the text was not valid UTF-8 on the wire.
        raise NotAnUpdate("corpo da requisição não é UTF-8 válido") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("chave duplicada no JSON")
    return dict(pairs)


def _reject_constant(name: str):
    raise ValueError(f"{name} não é JSON válido")


def parse_update(body: bytes) -> dict:
    """Decode and check the few fields the pipeline relies on; everything else is kept as it came."""
    try:
        text = body.decode("utf-8")
        update = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise NotAnUpdate("corpo da requisição não é UTF-8 válido") from None
    except RecursionError:
        raise NotAnUpdate("JSON aninhado demais") from None
    except ValueError as error:
        raise NotAnUpdate(f"corpo não é JSON válido: {error}") from None
    if not isinstance(update, dict):
        raise NotAnUpdate("o update deve ser um objeto JSON")
    if LONE_SURROGATE_ESCAPE.search(text) and not _valid_unicode(update):
        raise NotAnUpdate("o update tem texto com surrogate UTF-16 isolado (não é Unicode válido)")
    update_id = update.get("update_id")
    if not _is_int(update_id) or not 0 <= update_id < MAX_ID:
        raise NotAnUpdate("update sem update_id inteiro válido")
    check_payload(update, check_one_payload(update))
    return update


def check_one_payload(update: dict) -> str:
    """Telegram's rule: besides update_id, an update has exactly one field, named after its type.

    A second one would be a forgery: it could pass the chat filter with the first and carry another chat's
    message in the second, which the ETL would then turn into a row.
    """
    kinds = [key for key in update if key != "update_id"]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "nenhum"
        raise NotAnUpdate(f"o update deve ter exatamente um campo além de update_id (veio: {found})")
    return kinds[0]


def check_payload(update: dict, kind: str) -> None:
    """The payload's fields that the handler reads have Telegram's types; others are stored as they came."""
    payload = update[kind]
    if not isinstance(payload, dict):
        raise NotAnUpdate(f"{kind} deve ser um objeto JSON")
    chat = payload.get("chat")
    if chat is not None and (not isinstance(chat, dict) or not _is_int(chat.get("id"))):
        raise NotAnUpdate(f"{kind}.chat.id deve ser um número inteiro")
    for name in ("migrate_from_chat_id", "migrate_to_chat_id"):
        if payload.get(name) is not None and not _is_int(payload[name]):
            raise NotAnUpdate(f"{kind}.{name} deve ser um número inteiro")
    if "date" in payload and not (_is_int(payload["date"]) and 0 <= payload["date"] < MAX_ID):
        raise NotAnUpdate(f"{kind}.date deve ser um inteiro (segundos desde 1970)")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_unicode(value: object) -> bool:
    """False when a string anywhere in value (keys included) holds a lone UTF-16 surrogate ("\\ud800" in JSON).

    Strict UTF-8 cannot carry one, so such an update could never be stored faithfully nor read by the ETL.
    """
    try:
        (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- Group migration: the group's new id, remembered across execution environments ---------------------------------
# Telegram turns a basic group into a supergroup when some settings change (history visible to new members, a
# public link, some admin rights): the group gets a new id (-100...) and every later message carries it. The old
# chat gets a message with `migrate_to_chat_id`; the new one starts with a message with `migrate_from_chat_id`.
# Either one, coming from (or pointing at) a configured chat, is recorded as one small object in the raw bucket,
# outside `telegram/` so the ETL and Athena never read it. Every execution environment can then find it: a cold
# start, or a concurrent environment that never saw the migration message.
MIGRATION_PREFIX = "estado/migracoes/"
# Only supergroups are ever the target of a migration, and their ids are -100 followed by 10 digits: any other id
# (private chats, basic groups) is never looked up, so the bot's private messages cost no S3 request.
SUPERGROUP_ID_BELOW = -(10**12)
# new chat id -> old chat id, for the life of this execution environment. Only found records are kept: an
# absence may end at any moment, when another execution environment records the migration.
_migrations: dict[int, int] = {}


def migration_in(payload: dict, chat_id: int, chat_ids: frozenset[int]) -> tuple[int, int] | None:
    """(old id, new id) when this message announces a migration of a configured chat, else None."""
    to_id, from_id = payload.get("migrate_to_chat_id"), payload.get("migrate_from_chat_id")
    # A chat never migrates to itself: such a message records nothing (found by the fuzzing tests).
    if chat_id in chat_ids and _is_int(to_id) and to_id < SUPERGROUP_ID_BELOW and to_id != chat_id:
        return chat_id, to_id
    if _is_int(from_id) and from_id in chat_ids and chat_id < SUPERGROUP_ID_BELOW and from_id != chat_id:
        return from_id, chat_id
    return None


def migration_key(new_chat_id: int) -> str:
    return f"{MIGRATION_PREFIX}{new_chat_id}.json"


def record_migration(old_chat_id: int, new_chat_id: int) -> None:
    """Write the record; both service messages write the same bytes, so their order and repeats do not matter."""
    body = json.dumps({"migrate_from_chat_id": old_chat_id, "migrate_to_chat_id": new_chat_id}).encode()
    store(migration_key(new_chat_id), body)
    _migrations[new_chat_id] = old_chat_id


def recorded_migration(chat_id: int) -> int | None:
    """The old id of the group that became `chat_id`, when that migration was recorded; None otherwise.

    A listing of the one key, not a GET: S3 answers a GET of a missing key with 403 AccessDenied unless the role
    may list the bucket, so the role lists only this prefix (an s3:prefix condition) and reads only this prefix.
    """
    if chat_id in _migrations:
        return _migrations[chat_id]
    if chat_id >= SUPERGROUP_ID_BELOW:
        return None
    key = migration_key(chat_id)
    try:
        listing = s3.list_objects_v2(Bucket=AWS_S3_BUCKET, Prefix=key, MaxKeys=1)
        if not any(item["Key"] == key for item in listing.get("Contents", [])):
            return None
        record = json.loads(s3.get_object(Bucket=AWS_S3_BUCKET, Key=key)["Body"].read())
    except (BotoCoreError, ClientError):
        # Not swallowed: this may be the group's message, and Telegram delivers it again after a 5xx.
        logger.exception(json.dumps({"decision": "s3_error", "key": key}))
        raise
    old_chat_id = record.get("migrate_from_chat_id") if isinstance(record, dict) else None
    if not _is_int(old_chat_id) or record.get("migrate_to_chat_id") != chat_id:
        raise RuntimeError(f"registro de migração inválido em s3://{AWS_S3_BUCKET}/{key}")
    _migrations[chat_id] = old_chat_id
    return old_chat_id


# --- ETL: raw JSON -> enriched Parquet ---
# Only the ETL function has an enriched bucket, so its absence is checked when the ETL runs, not at import.
AWS_S3_ENRICHED = os.environ.get("AWS_S3_ENRICHED", "")
ENRICHED_PREFIX = "telegram"
# One fixed name per day: a rerun (or two runs at once) overwrites the same object, never adds a duplicate.
ENRICHED_NAME = "part-0.parquet"
# Backfills are bounded so a typo in a year cannot start a run that never ends within Lambda's 15 minutes.
MAX_BACKFILL_DAYS = 366

# The envelope of an EventBridge scheduled event (Scheduler's default input uses the same keys, or sends {}).
SCHEDULED_EVENT_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Service messages (members joining, pins, title changes, ...) arrive as `message` but are not messages.
SERVICE_FIELDS = frozenset(
    {
        "new_chat_members",
        "new_chat_member",
        "new_chat_participant",
        "left_chat_member",
        "left_chat_participant",
        "new_chat_title",
        "new_chat_photo",
        "delete_chat_photo",
        "group_chat_created",
        "supergroup_chat_created",
        "channel_chat_created",
        "message_auto_delete_timer_changed",
        "migrate_to_chat_id",
        "migrate_from_chat_id",
        "pinned_message",
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_reopened",
        "general_forum_topic_hidden",
        "general_forum_topic_unhidden",
        "video_chat_scheduled",
        "video_chat_started",
        "video_chat_ended",
        "video_chat_participants_invited",
        "write_access_allowed",
        "users_shared",
        "chat_shared",
        "proximity_alert_triggered",
        "boost_added",
        "chat_background_set",
        "giveaway_created",
        "giveaway_completed",
    }
)
# Checked in this order; `animation` first because a GIF also carries `document` for old clients.
MEDIA_TYPES = ("photo", "sticker", "voice", "document", "video", "poll", "location")
MENTION_ENTITIES = frozenset({"mention", "text_mention"})
LINK_ENTITIES = frozenset({"url", "text_link"})


class BadRecord(Exception):
    """A raw object that cannot become a row: it is skipped and reported, the rest of the day is written."""


class MessageRow(NamedTuple):
    """One enriched row, its fields in enriched_schema() order: a tuple, so rows turn into columns with zip()."""

    message_id: int
    user_id: int | None
    user_is_bot: bool | None
    user_first_name: str | None
    chat_id: int
    chat_type: str | None
    text: str | None
    date: int
    update_id: int
    sent_at_local: int  # milliseconds, see local_epoch_ms
    message_type: str
    text_length: int | None
    reply_to_message_id: int | None
    message_thread_id: int | None
    edit_date: int | None
    user_username: str | None
    sender_chat_id: int | None
    hashtag_count: int
    mention_count: int
    link_count: int
    hashtags: list[str]


def etl_handler(event: dict, context) -> dict:
    """Turn the raw updates of one or more days into one Parquet file per day in the enriched bucket."""
    raw_bucket, enriched_bucket = etl_buckets(AWS_S3_BUCKET, AWS_S3_ENRICHED)
    days = etl_days(event, TIMEZONE, datetime.now(timezone.utc))
    summary = run_etl(days, raw_bucket, enriched_bucket, client=s3, workers=ETL_WORKERS, tz=TIMEZONE)
    logger.info(
        json.dumps(
            {
                "decision": "etl_done",
                "days": summary["days"],
                "objects_read": summary["objects_read"],
                "rows_written": summary["rows_written"],
                "skipped": len(summary["skipped"]),
            }
        )
    )
    return summary


def etl_buckets(raw: str, enriched: str) -> tuple[str, str]:
    if not raw:
        raise RuntimeError("AWS_S3_BUCKET (bucket raw) não está definida nas variáveis de ambiente da função")
    if not enriched:
        raise RuntimeError(
            "AWS_S3_ENRICHED (bucket enriched) não está definida nas variáveis de ambiente da função"
        )
    if raw == enriched:
        # Same prefixes in both buckets: cleaning the day's old Parquet would delete the raw JSON.
        raise RuntimeError(
            f"AWS_S3_BUCKET e AWS_S3_ENRICHED devem ser buckets diferentes (ambas são {raw!r})"
        )
    return raw, enriched


def etl_days(event: object, tz: ZoneInfo, now: datetime) -> list[date]:
    """The days an event asks for, oldest first.

    - ``{}`` or a scheduled event: yesterday in ``tz`` (relative to the event's ``time``, so a replayed event
      does the right day) and the day before it, where late edits and retried deliveries land.
    - ``{"date": "YYYY-MM-DD"}``: that day.
    - ``{"start_date": ..., "end_date": ...}``: every day from start to end, inclusive.
    """
    if not isinstance(event, dict):
        raise ValueError('evento inválido: esperado um objeto JSON, como {} ou {"date": "2025-03-17"}')
    keys = set(event)
    if keys <= SCHEDULED_EVENT_KEYS:
        moment = event_time(event["time"]) if "time" in event else now
        try:
            yesterday = moment.astimezone(tz).date() - timedelta(days=1)
            return [yesterday - timedelta(days=1), yesterday]
        except OverflowError:
            # "0001-01-01T00:00:00Z": its day before yesterday in tz is before year 1.
            raise ValueError(f"time do evento fora das datas possíveis: {event['time']!r}") from None
    if keys == {"date"}:
        return [parse_day(event["date"], "date")]
    if keys == {"start_date", "end_date"}:
        start, end = parse_day(event["start_date"], "start_date"), parse_day(event["end_date"], "end_date")
        if start > end:
            raise ValueError(f"start_date ({start}) é depois de end_date ({end})")
        count = (end - start).days + 1
        if count > MAX_BACKFILL_DAYS:
            raise ValueError(f"intervalo de {count} dias: o máximo por execução é {MAX_BACKFILL_DAYS}")
        return [start + timedelta(days=offset) for offset in range(count)]
    raise ValueError(
        f"evento não reconhecido (chaves: {', '.join(sorted(map(str, keys)))}). Use {{}} para ontem, "
        '{"date": "AAAA-MM-DD"} para um dia ou {"start_date": "AAAA-MM-DD", "end_date": "AAAA-MM-DD"}'
    )


def event_time(value: object) -> datetime:
    if isinstance(value, str):
        try:
            # Python 3.10 does not read a trailing "Z" (EventBridge always sends one).
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise ValueError(f"time do evento inválido: {value!r} (esperado como 2025-03-18T08:00:00Z)")


def parse_day(value: object, name: str) -> date:
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{name} inválido: {value!r} (esperado AAAA-MM-DD, como 2025-03-17)")


def run_etl(
    days: list[date], raw_bucket: str, enriched_bucket: str, *, client, workers: int, tz: ZoneInfo
) -> dict:
    """Process each day in turn, fetching its objects concurrently; the summary is JSON-serializable."""
    summary = {
        "days": [day.isoformat() for day in days],
        "objects_read": 0,
        "rows_written": 0,
        "skipped": [],
        "details": [],
        "output_keys": [],
    }
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="etl")
    try:
        for day in days:
            detail = process_day(
                day, raw_bucket, enriched_bucket, client=client, pool=pool, workers=workers, tz=tz
            )
            summary["objects_read"] += detail["objects"]
            summary["rows_written"] += detail["rows"]
            summary["skipped"].extend(detail["skipped"])
            summary["details"].append(detail)
            if detail["output_key"]:
                summary["output_keys"].append(detail["output_key"])
    finally:
        # After an S3 error, do not wait for GETs nobody will read.
        pool.shutdown(wait=True, cancel_futures=True)
    return summary


def process_day(
    day: date,
    raw_bucket: str,
    enriched_bucket: str,
    *,
    client,
    pool: ThreadPoolExecutor,
    workers: int,
    tz: ZoneInfo,
) -> dict:
    prefix = f"{RAW_PREFIX}/context_date={day.isoformat()}/"
    latest: dict[tuple[int, int], MessageRow] = {}
    skipped: list[dict] = []
    objects = ignored = 0
    for key, outcome in read_day(client, raw_bucket, prefix, pool=pool, window=2 * workers, tz=tz):
        objects += 1
        if isinstance(outcome, BadRecord):
            skipped.append({"key": key, "reason": str(outcome)})
            logger.warning(
                json.dumps({"decision": "skipped", "key": key, "reason": str(outcome)}, ensure_ascii=False)
            )
        elif outcome is None:
            ignored += 1
        else:
            merge_row(latest, outcome)

    output_prefix = f"{ENRICHED_PREFIX}/context_date={day.isoformat()}/"
    output_key = output_prefix + ENRICHED_NAME if latest else None
    if output_key:
        client.put_object(
            Bucket=enriched_bucket,
            Key=output_key,
            Body=parquet_bytes(sorted(latest.values(), key=row_order)),
            ContentType="application/vnd.apache.parquet",
        )
    # An empty day removes its old output too: the enriched data is a function of the raw data, so updates
    # deleted from raw (a learner's cleanup, a removal request) must not live on in the Parquet Athena reads.
    removed = remove_stale(client, enriched_bucket, output_prefix, keep=output_key)
    detail = {
        "date": day.isoformat(),
        "objects": objects,
        "rows": len(latest),
        "ignored": ignored,
        "skipped": skipped,
        "output_key": output_key,
        "removed_keys": removed,
    }
    logger.info(
        json.dumps(
            {
                "decision": "day_written" if output_key else "day_empty",
                "date": detail["date"],
                "objects": objects,
                "rows": len(latest),
                "ignored": ignored,
                "skipped": len(skipped),
                "key": output_key,
                "removed": removed,
            }
        )
    )
    return detail


def read_day(client, bucket: str, prefix: str, *, pool: ThreadPoolExecutor, window: int, tz: ZoneInfo):
    """Yield (key, row | None | BadRecord) for every object under prefix, with up to `window` GETs queued.

    The window keeps every worker busy while bounding memory: a day of 100,000 updates never has more than
    `window` objects in flight.
    """
    pending: deque[tuple[str, Future]] = deque()
    for key in list_keys(client, bucket, prefix):
        pending.append((key, pool.submit(read_record, client, bucket, key, tz)))
        if len(pending) >= window:
            done_key, future = pending.popleft()
            yield done_key, future.result()
    while pending:
        done_key, future = pending.popleft()
        yield done_key, future.result()


def list_keys(client, bucket: str, prefix: str):
    # The paginator follows continuation tokens: one page holds at most 1,000 keys.
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):  # "folders" made in the S3 console are empty marker objects
                yield item["Key"]


def read_record(client, bucket: str, key: str, tz: ZoneInfo) -> MessageRow | None | BadRecord:
    """Runs in a worker: fetch and parse one object. S3 errors raise; a bad object comes back as BadRecord."""
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        try:
            update = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRecord("o arquivo não é UTF-8 válido") from None
        except (ValueError, RecursionError) as error:
            raise BadRecord(f"JSON inválido: {error}") from None
        return message_row(update, tz)
    except BadRecord as bad:
        return bad


def message_row(update: object, tz: ZoneInfo) -> MessageRow | None:
    """The enriched row of one raw update, or None when it is not a message."""
    if not isinstance(update, dict):
        raise BadRecord("o update não é um objeto JSON")
    update_id = _value(update, "update_id", int, required=True)
    kinds = [key for key in update if key != "update_id"]
    if len(kinds) != 1:
        # Telegram's rule is one type per update: a second field could smuggle in another chat's message.
        raise BadRecord(f"o update deve ter exatamente um campo além de update_id (tem {len(kinds)})")
    kind = kinds[0]
    if kind not in ("message", "edited_message"):
        return None  # member updates, reactions, polls' votes...
    message = _object(update, kind, required=True)
    if not SERVICE_FIELDS.isdisjoint(message):
        return None
    chat = _object(message, "chat", required=True)
    user = _object(message, "from")
    sender_chat = _object(message, "sender_chat")
    reply_to = _object(message, "reply_to_message")
    sent = _value(message, "date", int, required=True)

    # Media carry a caption instead of text; the caption is what the author wrote.
    text, entities_field = _value(message, "text", str), "entities"
    if text is None:
        text, entities_field = _value(message, "caption", str), "caption_entities"
    entities = message.get(entities_field) or []
    if not isinstance(entities, list) or not all(isinstance(entity, dict) for entity in entities):
        raise BadRecord(f"{entities_field} deve ser uma lista de objetos")
    types = [_value(entity, "type", str) for entity in entities]

    return MessageRow(
        message_id=_value(message, "message_id", int, required=True),
        user_id=_value(user, "id", int),
        user_is_bot=_value(user, "is_bot", bool),
        user_first_name=_value(user, "first_name", str),
        chat_id=_value(chat, "id", int, required=True),
        chat_type=_value(chat, "type", str),
        text=text,
        date=sent,
        update_id=update_id,
        sent_at_local=local_epoch_ms(sent, tz),
        message_type=message_type(message),
        # Code points, not what a person sees: 👍🏽 and 🇧🇷 count 2, a decomposed "é" (e + U+0301) counts 2.
        text_length=len(text) if text is not None else None,
        reply_to_message_id=_value(reply_to, "message_id", int),
        message_thread_id=_value(message, "message_thread_id", int),
        edit_date=_value(message, "edit_date", int),
        user_username=_value(user, "username", str),
        sender_chat_id=_value(sender_chat, "id", int),
        hashtag_count=types.count("hashtag"),
        mention_count=sum(kind in MENTION_ENTITIES for kind in types),
        link_count=sum(kind in LINK_ENTITIES for kind in types),
        hashtags=hashtags(text, entities),
    )


def _value(container: dict | None, name: str, kind: type, required: bool = False):
    """A field of the expected JSON type, or None when absent; a wrong type makes the whole object bad."""
    value = None if container is None else container.get(name)
    if value is None:
        if required:
            raise BadRecord(f"campo obrigatório ausente: {name}")
        return None
    # bool is a subclass of int in Python but not in JSON; ids must also fit Parquet's int64.
    if kind is int and (
        isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63
    ):
        raise BadRecord(f"{name} deve ser um inteiro, veio {value!r}")
    if not isinstance(value, kind):
        raise BadRecord(f"{name} tem tipo inesperado: {type(value).__name__}")
    if kind is str and not _valid_unicode(value):
        # Parquet strings are UTF-8: a lone surrogate ("\\ud800" in the JSON) has no UTF-8 form.
        raise BadRecord(f"{name} tem um surrogate UTF-16 isolado (não é Unicode válido)")
    return value


def _object(container: dict, name: str, required: bool = False) -> dict | None:
    value = container.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise BadRecord(f"{name} ausente ou não é um objeto JSON")
    return value


def message_type(message: dict) -> str:
    if "text" in message:
        return "text"
    if "animation" in message:
        return "other"
    return next((kind for kind in MEDIA_TYPES if kind in message), "other")


def local_epoch_ms(epoch: int, tz: ZoneInfo) -> int:
    """The wall-clock time in tz, as milliseconds of a time-zone-less timestamp.

    Athena's TIMESTAMP has no time zone: it shows a Parquet timestamp's stored value as is, so a UTC-adjusted
    one would read 3 hours ahead of São Paulo. Storing the local wall clock makes `hour(sent_at_local)` the hour
    people saw on their phones; the unambiguous instant stays in `date` (epoch seconds).
    """
    try:
        moment = local_datetime(epoch, tz)
    except ValueError as error:
        raise BadRecord(f"date fora das datas possíveis: {error}") from None
    return (epoch + int(moment.utcoffset().total_seconds())) * 1000


def hashtags(text: str | None, entities: list[dict]) -> list[str]:
    """The hashtags' text, lower-cased so #Dados and #dados group together in a query."""
    if text is None:
        return []
    # Entity offsets and lengths count UTF-16 code units: an emoji before a hashtag takes two.
    utf16 = text.encode("utf-16-le")
    tags = []
    for entity in entities:
        if entity.get("type") != "hashtag":
            continue
        offset, length = entity.get("offset"), entity.get("length")
        if not (
            _is_int(offset)
            and _is_int(length)
            and 0 <= offset
            and 0 < length
            and 2 * (offset + length) <= len(utf16)
        ):
            raise BadRecord(f"entidade hashtag fora do texto: offset={offset!r}, length={length!r}")
        tags.append(utf16[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace").lower())
    return tags


def merge_row(latest: dict[tuple[int, int], MessageRow], row: MessageRow) -> None:
    """Keep one row per message: the latest edit wins (by edit_date, then update_id)."""
    key = (row.chat_id, row.message_id)  # message ids are per chat
    current = latest.get(key)
    if current is None or version(row) > version(current):
        latest[key] = row


def version(row: MessageRow) -> tuple[int, int]:
    return (-1 if row.edit_date is None else row.edit_date, row.update_id)


def row_order(row: MessageRow) -> tuple[int, int, int]:
    return (row.date, row.chat_id, row.message_id)


def enriched_schema():
    """The one schema of every enriched file: a sticker, a photo or a missing field never changes a type.

    The first eight columns keep the original course's names and types, so its Athena queries run unchanged.
    """
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("message_id", pa.int64(), nullable=False),
            pa.field("user_id", pa.int64()),
            pa.field("user_is_bot", pa.bool_()),
            pa.field("user_first_name", pa.string()),
            pa.field("chat_id", pa.int64(), nullable=False),
            pa.field("chat_type", pa.string()),
            pa.field("text", pa.string()),
            pa.field("date", pa.int64(), nullable=False),
            pa.field("update_id", pa.int64(), nullable=False),
            # Wall clock in TIMEZONE without a zone: see local_epoch_ms for why.
            pa.field("sent_at_local", pa.timestamp("ms"), nullable=False),
            pa.field("message_type", pa.string(), nullable=False),
            pa.field("text_length", pa.int32()),
            pa.field("reply_to_message_id", pa.int64()),
            pa.field("message_thread_id", pa.int64()),
            pa.field("edit_date", pa.int64()),
            pa.field("user_username", pa.string()),
            pa.field("sender_chat_id", pa.int64()),
            pa.field("hashtag_count", pa.int32(), nullable=False),
            pa.field("mention_count", pa.int32(), nullable=False),
            pa.field("link_count", pa.int32(), nullable=False),
            pa.field("hashtags", pa.list_(pa.string()), nullable=False),
        ]
    )


def parquet_bytes(rows: list[MessageRow]) -> bytes:
    """One table built from plain column lists (never concatenated per message), as Parquet bytes."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ModuleNotFoundError(
            "pyarrow não está disponível: a função do ETL precisa da camada AWSSDKPandas (AWS SDK for pandas)"
        ) from error
    schema = enriched_schema()
    # Each column is taken by its name, so a field out of order can never land in another column.
    columns = zip(*rows, strict=True) if rows else [()] * len(MessageRow._fields)
    by_name = dict(zip(MessageRow._fields, columns, strict=True))
    table = pa.Table.from_arrays(
        [pa.array(by_name[field.name], type=field.type) for field in schema], schema=schema
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def remove_stale(client, bucket: str, prefix: str, keep: str | None) -> list[str]:
    """Delete every object of a day's output prefix except the file just written; returns what was deleted."""
    stale = [key for key in list_keys(client, bucket, prefix) if key != keep]
    for key in stale:
        client.delete_object(Bucket=bucket, Key=key)
    return stale

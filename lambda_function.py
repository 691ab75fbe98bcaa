"""The deployed AWS Lambda code of the pipeline.

Two handlers live in this one file, deployed as two functions:

- ``lambda_handler``: Telegram's webhook calls Amazon API Gateway, which invokes this handler with the update;
  it stores the update, as received, in the raw bucket at
  ``telegram/context_date=YYYY-MM-DD/{update_id}.json``.
- ``etl_handler``: the daily ETL from the raw JSON to the enriched Parquet dataset.

Only the standard library and boto3 are imported at module level: both come with the Lambda Python runtime.
The ETL's pyarrow comes from the AWS-managed AWSSDKPandas layer and is imported inside the ETL path only.
Configuration and clients are created once per execution environment, at import time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import os
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# --- Configuration (read once per execution environment) -------------------------------------------------------
AWS_S3_BUCKET = os.environ.get("AWS_S3_BUCKET", "")
# Comma-separated, so a group that migrated to a supergroup can keep its old id beside the new one.
TELEGRAM_CHAT_ID = os.environ.get("TELEGRAM_CHAT_ID", "")
TELEGRAM_SECRET_TOKEN = os.environ.get("TELEGRAM_SECRET_TOKEN", "")
TIMEZONE = ZoneInfo(os.environ.get("TIMEZONE", "America/Sao_Paulo"))
RAW_PREFIX = "telegram"

logger = logging.getLogger("lambda_function")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

s3 = boto3.client("s3")

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name, not a secret
# Update types that carry a chat but never belong in the dataset: a channel is not the group, and a button press
# (callback_query) is an interaction, not a message.
IGNORED_TYPES = frozenset({"channel_post", "edited_channel_post", "callback_query"})
# Telegram ids fit in 52 bits; anything larger (or negative for update_id) is forged.
MAX_ID = 2**53


class Rejected(Exception):
    """A request that can never succeed: answered with a 4xx so Telegram does not redeliver it forever."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# --- Ingestion: API Gateway -> S3 ----------------------------------------------------------------------------------
def lambda_handler(event: dict, context) -> dict:
    """Store one Telegram update from an API Gateway (REST v1, HTTP API v2) or Function URL event."""
    chat_ids = configured_chat_ids(TELEGRAM_CHAT_ID)
    if not AWS_S3_BUCKET:
        # A misconfigured function must fail loudly (and Telegram retry) rather than drop updates.
        raise RuntimeError("AWS_S3_BUCKET não está definida nas variáveis de ambiente da função")
    try:
        headers = normalized_headers(event)
        check_secret(headers, TELEGRAM_SECRET_TOKEN)
        body = request_body(event)
        update = parse_update(body)
    except Rejected as rejected:
        log_decision(None, None, "rejected", status=rejected.status, reason=rejected.reason)
        return http_response(rejected.status, {"ok": False, "error": rejected.reason})

    update_id = update["update_id"]
    kind = update_type(update)
    chat_id = update_chat_id(update, kind)
    if not belongs_to_group(kind, chat_id, update, chat_ids):
        log_decision(update_id, kind, "ignored", chat_id=chat_id)
        return http_response(200, {"ok": True})

    key = raw_key(update_id, partition_date(update, kind, arrival_time(event), TIMEZONE))
    store(key, body)
    log_decision(update_id, kind, "stored", key=key)
    migrated_to = (update.get(kind) or {}).get("migrate_to_chat_id")
    if migrated_to is not None:
        logger.warning(
            json.dumps(
                {"update_id": update_id, "warning": "chat_migrated", "migrate_to_chat_id": migrated_to}
            )
        )
    return http_response(200, {"ok": True})


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


def normalized_headers(event: dict) -> dict[str, str]:
    """Headers with lower-case names: REST APIs keep the client's case, HTTP APIs and Function URLs lower it."""
    headers = event.get("headers") or {}
    if not isinstance(headers, dict):
        raise Rejected(400, "cabeçalhos inválidos")
    return {str(name).lower(): value for name, value in headers.items() if isinstance(value, str)}


def check_secret(headers: dict[str, str], expected: str) -> None:
    """Telegram sends setWebhook's secret_token in a header; without it anyone could write to the bucket."""
    if not expected:
        return
    received = headers.get(SECRET_HEADER)
    if received is None:
        raise Rejected(401, "cabeçalho X-Telegram-Bot-Api-Secret-Token ausente")
    if not hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8")):
        raise Rejected(403, "X-Telegram-Bot-Api-Secret-Token incorreto")


def request_body(event: dict) -> bytes:
    """The body exactly as Telegram sent it (API Gateway may base64-encode it)."""
    body = event.get("body")
    if body is None or body == "":
        raise Rejected(400, "corpo da requisição ausente ou vazio")
    if not isinstance(body, str):
        raise Rejected(400, "corpo da requisição não é texto")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise Rejected(400, "corpo em base64 inválido") from None
        if not raw:
            raise Rejected(400, "corpo da requisição ausente ou vazio")
        return raw
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: the text was not valid UTF-8 on the wire.
        raise Rejected(400, "corpo da requisição não é UTF-8 válido") from None


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
        update = json.loads(
            body.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_reject_constant
        )
    except UnicodeDecodeError:
        raise Rejected(400, "corpo da requisição não é UTF-8 válido") from None
    except RecursionError:
        raise Rejected(400, "JSON aninhado demais") from None
    except ValueError as error:
        raise Rejected(400, f"corpo não é JSON válido: {error}") from None
    if not isinstance(update, dict):
        raise Rejected(400, "o update deve ser um objeto JSON")
    update_id = update.get("update_id")
    if not _is_int(update_id) or not 0 <= update_id < MAX_ID:
        raise Rejected(400, "update sem update_id inteiro válido")
    kind = update_type(update)
    if kind is not None:
        payload = update[kind]
        if not isinstance(payload, dict):
            raise Rejected(400, f"{kind} deve ser um objeto JSON")
        chat = payload.get("chat")
        if chat is not None and (not isinstance(chat, dict) or not _is_int(chat.get("id"))):
            raise Rejected(400, f"{kind}.chat.id deve ser um número inteiro")
        if "date" in payload and not (_is_int(payload["date"]) and 0 <= payload["date"] < MAX_ID):
            raise Rejected(400, f"{kind}.date deve ser um inteiro (segundos desde 1970)")
    return update


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def update_type(update: dict) -> str | None:
    """An update has exactly one field besides update_id: its type (message, edited_message, ...)."""
    return next((key for key in update if key != "update_id"), None)


def update_chat_id(update: dict, kind: str | None) -> int | None:
    chat = (update.get(kind) or {}).get("chat") if kind else None
    return chat["id"] if chat else None


def belongs_to_group(kind: str | None, chat_id: int | None, update: dict, chat_ids: frozenset[int]) -> bool:
    """Everything of the group's chat is kept, whatever its type (including types Telegram adds later)."""
    if kind is None or kind in IGNORED_TYPES or chat_id is None:
        return False
    if chat_id in chat_ids:
        return True
    # The first message of a supergroup made from our group: keep it, it links the group's two ids.
    return update[kind].get("migrate_from_chat_id") in chat_ids


def arrival_time(event: dict) -> datetime:
    """When API Gateway received the request (HTTP API: timeEpoch, REST: requestTimeEpoch), else now."""
    context = event.get("requestContext") or {}
    epoch_ms = context.get("timeEpoch") or context.get("requestTimeEpoch")
    if _is_int(epoch_ms):
        return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return datetime.fromtimestamp(time.time(), tz=timezone.utc)


def partition_date(update: dict, kind: str, arrived: datetime, tz: ZoneInfo) -> str:
    """The day, in the configured time zone, that the update belongs to.

    A message's own ``date`` is its original send time, also in ``edited_message``, so an edit lands beside the
    message it changes. Member updates carry the event's ``date``; anything else uses the arrival time.
    """
    epoch = update[kind].get("date")
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc) if epoch is not None else arrived
    return moment.astimezone(tz).date().isoformat()


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

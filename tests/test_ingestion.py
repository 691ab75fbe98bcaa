"""The ingestion Lambda: what Telegram sends through API Gateway ends in the raw bucket, exactly once."""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib
import importlib.util
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

EVENTS = Path(__file__).parent / "events"
BUCKET = "turma-123456789012-sa-east-1-raw"
ENRICHED = "turma-123456789012-sa-east-1-enriched"
GROUP_ID = -1001987654321
OLD_GROUP_ID = -4012345678
SECRET = "Zq3_secret-token-for-the-tests_9x"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def update(name: str) -> dict:
    return load(f"updates/{name}.json")


ENVELOPES = {
    "rest_v1": "apigateway_rest_v1.json",
    "http_v2": "apigateway_http_v2.json",
    "function_url": "function_url.json",
}


def envelope(
    body: str | bytes | None, kind: str = "http_v2", secret: str | None = SECRET, b64: bool | None = None
):
    """An API Gateway / Function URL event carrying `body` the way AWS would deliver it."""
    event = load(ENVELOPES[kind])
    header = "X-Telegram-Bot-Api-Secret-Token" if kind == "rest_v1" else "x-telegram-bot-api-secret-token"
    for headers in (event["headers"], event.get("multiValueHeaders")):
        if headers is None:
            continue
        if secret is None:
            headers.pop(header, None)
        else:
            headers[header] = [secret] if headers is event.get("multiValueHeaders") else secret
    encode = event["isBase64Encoded"] if b64 is None else b64
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode() if encode else body.decode("utf-8")
    elif body is not None and encode:
        body = base64.b64encode(body.encode("utf-8")).decode()
    event["body"] = body
    event["isBase64Encoded"] = encode
    return event


def telegram_body(data: dict) -> str:
    # Telegram sends compact JSON with non-ASCII characters as they are.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture
def configure(monkeypatch):
    """Load lambda_function as a fresh execution environment with the given environment variables."""

    def _configure(**env):
        settings = {
            "AWS_S3_BUCKET": BUCKET,
            "TELEGRAM_CHAT_ID": str(GROUP_ID),
            "TELEGRAM_SECRET_TOKEN": SECRET,
            "TIMEZONE": "America/Sao_Paulo",
        }
        settings.update(env)
        for name, value in settings.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        import lambda_function

        return importlib.reload(lambda_function)

    return _configure


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="sa-east-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"})
        yield client


@pytest.fixture
def handler(s3, configure):
    return configure()


def logged(caplog) -> list[dict]:
    """The handler's structured log lines (one JSON object each), in order; other loggers' records are left out."""
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == "lambda_function"]


def stored(s3) -> dict[str, bytes]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


# --- Every envelope AWS can deliver ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ENVELOPES)
def test_update_is_stored_byte_for_byte_under_its_day_and_update_id(handler, s3, kind):
    body = telegram_body(update("text_with_entities"))

    response = handler.lambda_handler(envelope(body, kind), None)

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"ok": True}
    assert stored(s3) == {"telegram/context_date=2025-03-17/801234567.json": body.encode("utf-8")}


def test_base64_encoded_body_is_decoded_before_storing(handler, s3):
    body = telegram_body(update("photo_with_caption"))

    response = handler.lambda_handler(envelope(body, "http_v2", b64=True), None)

    assert response["statusCode"] == 200
    assert list(stored(s3).values()) == [body.encode("utf-8")]


def test_secret_header_name_is_case_insensitive(handler, s3):
    event = envelope(telegram_body(update("sticker")), "rest_v1", secret=None)
    event["headers"]["x-TELEGRAM-bot-api-SECRET-token"] = SECRET

    assert handler.lambda_handler(event, None)["statusCode"] == 200
    assert len(stored(s3)) == 1


def test_the_answer_and_the_stored_object_are_labelled_json(handler, s3):
    # Header names and media types are case-insensitive (RFC 9110, sections 5.1 and 8.3.1). Opened from the S3
    # console, an object labelled application/json shows in the browser instead of downloading as binary.
    response = handler.lambda_handler(envelope(telegram_body(update("voice"))), None)

    assert {name.lower(): value.lower() for name, value in response["headers"].items()} == {
        "content-type": "application/json"
    }
    [key] = stored(s3)
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentType"].lower() == "application/json"


# --- The secret token -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("secret", "status"),
    [
        (None, 401),
        ("wrong-secret", 403),
        ("", 403),
        (SECRET + "x", 403),
        (SECRET[:-1], 403),
        ("çãõ-não-ascii", 403),
    ],
)
def test_missing_or_wrong_secret_is_refused_and_nothing_is_stored(handler, s3, secret, status):
    response = handler.lambda_handler(
        envelope(telegram_body(update("text_with_entities")), secret=secret), None
    )

    assert response["statusCode"] == status
    assert stored(s3) == {}


def test_a_refused_request_is_told_which_header_is_missing_or_wrong(handler, s3):
    # What a learner testing the URL with curl reads: the status alone does not say which header Telegram sends.
    missing = handler.lambda_handler(envelope(telegram_body(update("voice")), secret=None), None)
    wrong = handler.lambda_handler(envelope(telegram_body(update("voice")), secret="chute"), None)

    assert json.loads(missing["body"]) == {
        "ok": False,
        "error": "cabeçalho X-Telegram-Bot-Api-Secret-Token ausente",
    }
    assert json.loads(wrong["body"]) == {"ok": False, "error": "X-Telegram-Bot-Api-Secret-Token incorreto"}
    # curl prints the body as it comes: "cabeçalho", not "cabe\u00e7alho".
    assert "cabeçalho" in missing["body"]


def test_correct_secret_in_another_header_is_refused(handler, s3):
    event = envelope(telegram_body(update("text_with_entities")), secret=None)
    event["headers"]["authorization"] = SECRET
    event["headers"]["x-api-key"] = SECRET

    assert handler.lambda_handler(event, None)["statusCode"] == 401
    assert stored(s3) == {}


def test_secret_is_compared_in_constant_time(handler, s3, monkeypatch):
    calls = []
    real = handler.hmac.compare_digest
    monkeypatch.setattr(handler.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))

    handler.lambda_handler(envelope(telegram_body(update("voice"))), None)

    assert calls == [(SECRET.encode(), SECRET.encode())]


@pytest.mark.parametrize(
    "env",
    [
        {"TELEGRAM_SECRET_TOKEN": None},
        {"TELEGRAM_SECRET_TOKEN": ""},
        {"TELEGRAM_SECRET_TOKEN": None, "TELEGRAM_SECRET_TOKEN_OPTIONAL": "false"},
        {"TELEGRAM_SECRET_TOKEN": None, "TELEGRAM_SECRET_TOKEN_OPTIONAL": ""},
    ],
    ids=["unset", "empty", "optional_false", "optional_empty"],
)
def test_without_a_configured_secret_the_function_fails_closed(s3, configure, env):
    handler = configure(**env)

    # Like a missing bucket: a loud configuration error (Telegram keeps the update and retries once it is fixed).
    with pytest.raises(RuntimeError, match="TELEGRAM_SECRET_TOKEN_OPTIONAL=true"):
        handler.lambda_handler(envelope(telegram_body(update("voice")), secret=None), None)

    assert stored(s3) == {}


@pytest.mark.parametrize(
    "secret",
    [SECRET + "\n", " " + SECRET, "segredo com espaço", "segredo-çã", "a" * 257, SECRET[:-1] + "\udcff"],
    ids=["trailing_newline", "leading_space", "spaces", "accents", "257_characters", "undecodable_byte"],
)
def test_a_secret_telegram_cannot_send_is_a_configuration_error(s3, configure, secret):
    # What a copy-paste into the Lambda console can leave; every update would otherwise get 403 forever.
    handler = configure(TELEGRAM_SECRET_TOKEN=secret)

    with pytest.raises(RuntimeError, match=r"TELEGRAM_SECRET_TOKEN inválido \(\d+ caracteres\)") as error:
        handler.lambda_handler(envelope(telegram_body(update("voice")), secret=secret), None)

    assert secret.strip() not in str(error.value)
    assert stored(s3) == {}


@pytest.mark.parametrize("secret", ["a", "A-z_09" * 42 + "zzzz"], ids=["one_character", "256_characters"])
def test_every_secret_telegram_accepts_works(s3, configure, secret):
    handler = configure(TELEGRAM_SECRET_TOKEN=secret)

    response = handler.lambda_handler(envelope(telegram_body(update("voice")), secret=secret), None)

    assert response["statusCode"] == 200
    assert len(stored(s3)) == 1


@pytest.mark.parametrize("value", ["true", "TRUE", " True "])
def test_deployer_can_opt_out_of_the_secret_explicitly(s3, configure, value):
    handler = configure(TELEGRAM_SECRET_TOKEN=None, TELEGRAM_SECRET_TOKEN_OPTIONAL=value)

    response = handler.lambda_handler(envelope(telegram_body(update("voice")), secret=None), None)

    assert response["statusCode"] == 200
    assert len(stored(s3)) == 1


def test_opting_out_still_checks_a_configured_secret(s3, configure):
    handler = configure(TELEGRAM_SECRET_TOKEN_OPTIONAL="true")

    response = handler.lambda_handler(envelope(telegram_body(update("voice")), secret="chute"), None)

    assert response["statusCode"] == 403
    assert stored(s3) == {}


@pytest.mark.parametrize("value", ["yes", "1", "sim"])
def test_unclear_opt_out_value_is_a_configuration_error(s3, configure, value):
    handler = configure(TELEGRAM_SECRET_TOKEN=None, TELEGRAM_SECRET_TOKEN_OPTIONAL=value)

    with pytest.raises(RuntimeError, match="TELEGRAM_SECRET_TOKEN_OPTIONAL inválido"):
        handler.lambda_handler(envelope(telegram_body(update("voice")), secret=None), None)

    assert stored(s3) == {}


@pytest.mark.parametrize("kind", ENVELOPES)
def test_secret_header_with_a_lone_surrogate_is_a_wrong_secret_not_a_crash(handler, s3, kind):
    event = envelope(telegram_body(update("voice")), kind, secret=SECRET[:-1] + "\ud800")

    assert handler.lambda_handler(event, None)["statusCode"] == 403
    assert stored(s3) == {}


# --- Signed requests that are not a storable update: kept in quarantine, answered 200 ----------------------------
# Telegram's webhook server redelivers any update answered with something other than 2xx until it is 24 hours past
# its date, and holds that chat's later updates meanwhile (tdlib/telegram-bot-api, WebhookActor): a 4xx here would
# stall the group for up to a day. So each of these is answered 200 and kept, whole, outside telegram/.
ARRIVED_AT = "2025-03-17T15:04:12.311+00:00"  # the envelopes' timeEpoch / requestTimeEpoch
BASE = "text_with_entities"


def with_change(path: tuple, value=None, *, delete: bool = False, base: str = BASE) -> str:
    """A genuine update of the group with exactly one thing wrong: `path` set to `value` (or deleted)."""
    data = update(base)
    target = data
    for name in path[:-1]:
        target = target[name]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return telegram_body(data)


VALID = telegram_body(update(BASE))
UPDATE_ID = '"update_id":801234567'
BAD_BODIES = {
    "absent": None,
    "empty": "",
    "form_encoded": "update_id=801234567&message=Bom+dia",
    "truncated_json": VALID[:-5],
    "update_inside_an_array": f"[{VALID}]",
    "update_encoded_twice": json.dumps(VALID),
    "null": "null",
    "no_update_id": with_change(("update_id",), delete=True),
    "update_id_as_string": with_change(("update_id",), "801234567"),
    "update_id_as_float": with_change(("update_id",), 801234567.0),
    "update_id_as_bool": with_change(("update_id",), True),
    "negative_update_id": with_change(("update_id",), -801234567),
    "huge_update_id": with_change(("update_id",), 123456789012345678901234567890),
    # The Bot API's ids fit a double exactly (below 2**53): this one would be read back as another number.
    "update_id_at_2_53": with_change(("update_id",), 2**53),
    "duplicate_update_id_keys": VALID.replace(UPDATE_ID, UPDATE_ID + ',"update_id":801234568'),
    "nan_update_id": VALID.replace(UPDATE_ID, '"update_id":NaN'),
    "deep_nesting_in_a_field": VALID.replace(
        '"text":', '"extra":' + "[" * 100_000 + "]" * 100_000 + ',"text":'
    ),
    "message_as_string": with_change(("message",), "Bom dia, turma!"),
    "chat_id_as_string": with_change(("message", "chat", "id"), "-1001987654321"),
    "chat_id_as_float": with_change(("message", "chat", "id"), -1001987654321.0),
    "chat_as_list": with_change(("message", "chat"), [-1001987654321]),
    "date_as_string": with_change(("message", "date"), "2025-03-17"),
    # Telegram's rule: exactly one field besides update_id.
    "no_payload": with_change(("message",), delete=True),
    "group_member_update_smuggling_another_chats_message": telegram_body(
        {
            "update_id": 7,
            "my_chat_member": update("my_chat_member_bot_added")["my_chat_member"],
            "message": update("other_chat")["message"],
        }
    ),
    "two_messages": telegram_body(
        {**update(BASE), "edited_message": update("edited_message")["edited_message"]}
    ),
    # Fields the handler reads, with types Telegram never sends.
    "migrate_from_chat_id_as_list": with_change(
        ("message", "migrate_from_chat_id"), [1], base="migrate_from_group"
    ),
    "migrate_from_chat_id_as_object": with_change(
        ("message", "migrate_from_chat_id"), {}, base="migrate_from_group"
    ),
    "migrate_to_chat_id_as_string": with_change(
        ("message", "migrate_to_chat_id"), "x", base="migrate_to_supergroup"
    ),
    "date_in_year_10000": with_change(("message", "date"), 253402300800),
    "date_near_the_id_limit": with_change(("message", "date"), 2**52),
    "date_at_2_53": with_change(("message", "date"), 2**53),
    "date_beyond_int64": with_change(("message", "date"), 2**70),
    "negative_date": with_change(("message", "date"), -1),
    "lone_surrogate_in_text": VALID.replace("Bom dia", "Bom \\ud800dia"),
    "lone_low_surrogate_in_first_name": VALID.replace('"first_name":"', '"first_name":"\\uDC00'),
    "lone_surrogate_in_a_key": VALID.replace('"text":', '"\\ud83d":'),
    "reversed_surrogate_pair": VALID.replace('"first_name":"', '"first_name":"\\ude00\\ud83d'),
}


def quarantined(s3) -> dict[str, dict]:
    return {key: json.loads(body) for key, body in stored(s3).items() if key.startswith("quarentena/")}


def quarantine_key(body: bytes, day: str = "2025-03-17") -> str:
    return f"quarentena/{day}/{hashlib.sha256(body).hexdigest()}.json"


def as_bytes(body: str | None) -> bytes:
    return b"" if body is None else body.encode("utf-8")


# Every body in the HTTP API envelope; the forged updates of issue 13 in the other two envelopes as well.
FORGED_UPDATES = list(BAD_BODIES)[list(BAD_BODIES).index("no_payload") :]
BAD_BODY_CASES = [(name, "http_v2") for name in BAD_BODIES] + [
    (name, kind) for name in FORGED_UPDATES for kind in ("rest_v1", "function_url")
]


@pytest.mark.parametrize(("name", "kind"), BAD_BODY_CASES, ids=[f"{n}-{k}" for n, k in BAD_BODY_CASES])
def test_signed_body_that_is_not_an_update_gets_200_and_is_kept_whole_in_quarantine(
    handler, s3, caplog, name, kind
):
    caplog.set_level(logging.INFO, logger="lambda_function")
    body = as_bytes(BAD_BODIES[name])

    response = handler.lambda_handler(envelope(BAD_BODIES[name], kind), None)

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"ok": True}
    [(key, record)] = quarantined(s3).items()
    assert list(stored(s3)) == [key] == [quarantine_key(body)]
    assert base64.b64decode(record["body_base64"]) == body
    assert record["arrived_at"] == ARRIVED_AT
    assert record["reason"]
    assert logged(caplog) == [
        {"update_id": None, "type": None, "decision": "quarantined", "reason": record["reason"], "key": key}
    ]


# The reason kept with each quarantined body, word for word: it is what a learner reads under quarentena/. Python's
# own JSON errors (line and column) follow the prefix that ends in ": ".
NOT_AN_OBJECT = "o update deve ser um objeto JSON"
NO_UPDATE_ID = "update sem update_id inteiro válido"
NOT_ONE_PAYLOAD = "o update deve ter exatamente um campo além de update_id (veio: {})"
BAD_CHAT_ID = "message.chat.id deve ser um número inteiro"
BAD_DATE = "message.date deve ser um inteiro (segundos desde 1970)"
OUT_OF_CALENDAR = "message.date está fora das datas possíveis (anos 1 a 9999)"
LONE_SURROGATE = "o update tem texto com surrogate UTF-16 isolado (não é Unicode válido)"
REASONS = {
    "absent": "corpo da requisição ausente ou vazio",
    "empty": "corpo da requisição ausente ou vazio",
    "form_encoded": "corpo não é JSON válido: ",
    "truncated_json": "corpo não é JSON válido: ",
    "update_inside_an_array": NOT_AN_OBJECT,
    "update_encoded_twice": NOT_AN_OBJECT,
    "null": NOT_AN_OBJECT,
    "no_update_id": NO_UPDATE_ID,
    "update_id_as_string": NO_UPDATE_ID,
    "update_id_as_float": NO_UPDATE_ID,
    "update_id_as_bool": NO_UPDATE_ID,
    "negative_update_id": NO_UPDATE_ID,
    "huge_update_id": NO_UPDATE_ID,
    "update_id_at_2_53": NO_UPDATE_ID,
    "duplicate_update_id_keys": "corpo não é JSON válido: chave duplicada no JSON",
    "nan_update_id": "corpo não é JSON válido: NaN não é JSON válido",
    "deep_nesting_in_a_field": "JSON aninhado demais",
    "message_as_string": "message deve ser um objeto JSON",
    "chat_id_as_string": BAD_CHAT_ID,
    "chat_id_as_float": BAD_CHAT_ID,
    "chat_as_list": BAD_CHAT_ID,
    "date_as_string": BAD_DATE,
    "no_payload": NOT_ONE_PAYLOAD.format("nenhum"),
    "group_member_update_smuggling_another_chats_message": NOT_ONE_PAYLOAD.format("my_chat_member, message"),
    "two_messages": NOT_ONE_PAYLOAD.format("message, edited_message"),
    "migrate_from_chat_id_as_list": "message.migrate_from_chat_id deve ser um número inteiro",
    "migrate_from_chat_id_as_object": "message.migrate_from_chat_id deve ser um número inteiro",
    "migrate_to_chat_id_as_string": "message.migrate_to_chat_id deve ser um número inteiro",
    "date_in_year_10000": OUT_OF_CALENDAR,
    "date_near_the_id_limit": OUT_OF_CALENDAR,
    "date_at_2_53": BAD_DATE,
    "date_beyond_int64": BAD_DATE,
    "negative_date": BAD_DATE,
    "lone_surrogate_in_text": LONE_SURROGATE,
    "lone_low_surrogate_in_first_name": LONE_SURROGATE,
    "lone_surrogate_in_a_key": LONE_SURROGATE,
    "reversed_surrogate_pair": LONE_SURROGATE,
}


def test_every_odd_body_has_its_reason_written_out():
    assert set(REASONS) == set(BAD_BODIES)


@pytest.mark.parametrize(("name", "reason"), REASONS.items(), ids=REASONS.keys())
def test_the_quarantine_record_says_why_in_portuguese(handler, s3, name, reason):
    handler.lambda_handler(envelope(BAD_BODIES[name]), None)

    [record] = quarantined(s3).values()
    if reason.endswith(": "):
        assert record["reason"].startswith(reason) and len(record["reason"]) > len(reason)
    else:
        assert record["reason"] == reason


def test_a_body_that_is_not_utf8_is_quarantined_saying_so(handler, s3):
    event = envelope("x", b64=True)
    event["body"] = base64.b64encode("ação".encode("latin-1")).decode()

    handler.lambda_handler(event, None)

    [record] = quarantined(s3).values()
    assert record["reason"] == "corpo da requisição não é UTF-8 válido"


def test_a_text_body_with_a_lone_surrogate_is_quarantined_saying_so(handler, s3):
    # An event whose JSON escapes "\\ud800" in its body (a console test event, a direct invocation) reaches the
    # handler as text that no UTF-8 bytes spell; the body is kept as it came.
    event = envelope(telegram_body(update("voice")), b64=False)
    event["body"] = event["body"].replace("}", ',"x":"\ud800"}', 1)

    assert handler.lambda_handler(event, None)["statusCode"] == 200

    [record] = quarantined(s3).values()
    assert record["reason"] == "corpo da requisição não é UTF-8 válido"
    assert base64.b64decode(record["body_base64"]) == event["body"].encode("utf-8", "surrogatepass")


def test_the_quarantine_record_is_readable_utf8_named_by_the_bodys_sha256(handler, s3):
    body = BAD_BODIES["form_encoded"].encode()

    handler.lambda_handler(envelope(BAD_BODIES["form_encoded"]), None)

    [(key, raw)] = stored(s3).items()
    record = json.loads(raw)
    # Opened in the S3 console, the reason reads as Portuguese text, not as \u escapes.
    assert record["reason"].encode("utf-8") in raw
    assert record["sha256"] == hashlib.sha256(body).hexdigest() == key.removesuffix(".json").rsplit("/", 1)[1]


# A direct invocation (the console's Test button, `aws lambda invoke`) can send any JSON as the event. With the
# secret opted out nothing refuses it, so it is kept as the JSON it came as.
@pytest.mark.parametrize(
    ("event", "kept"),
    [
        (["olá", 1], '["olá", 1]'.encode()),
        ("só um texto", '"só um texto"'.encode()),
        (None, b"null"),
        (["\ud800"], b'["\xed\xa0\x80"]'),
    ],
    ids=["list", "string", "null", "lone_surrogate"],
)
def test_an_event_that_is_not_an_object_is_kept_in_quarantine_as_its_json(s3, configure, event, kept):
    handler = configure(TELEGRAM_SECRET_TOKEN=None, TELEGRAM_SECRET_TOKEN_OPTIONAL="true")

    response = handler.lambda_handler(event, None)

    assert response["statusCode"] == 200
    [record] = quarantined(s3).values()
    assert base64.b64decode(record["body_base64"]) == kept


# A console test event with "body" written as an object instead of a string (a careless copy of an update): it
# reaches the function decoded, and is kept as the JSON it was.
@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ({"update_id": 7, "texto": "olá"}, '{"update_id": 7, "texto": "olá"}'.encode()),
        (["\udc00"], b'["\xed\xb0\x80"]'),
        (12, b"12"),
    ],
    ids=["object", "lone_surrogate", "number"],
)
def test_a_body_that_is_not_text_is_kept_in_quarantine_as_its_json(handler, s3, body, kept):
    event = envelope(telegram_body(update("voice")), "function_url")
    event["body"], event["isBase64Encoded"] = body, False

    response = handler.lambda_handler(event, None)

    assert response["statusCode"] == 200
    [record] = quarantined(s3).values()
    assert base64.b64decode(record["body_base64"]) == kept
    assert record["reason"] == "corpo da requisição não é texto"


def test_a_body_holding_a_lone_surrogate_character_is_kept_whole_in_quarantine(handler, s3):
    # Not the \\ud800 escape Telegram would send, but the character itself, as a hand-written test event can hold.
    event = envelope(telegram_body(update("voice")), "function_url")
    event["body"] = '{"update_id": 1, "message": "\ud800"}'

    response = handler.lambda_handler(event, None)

    assert response["statusCode"] == 200
    [record] = quarantined(s3).values()
    assert base64.b64decode(record["body_base64"]) == b'{"update_id": 1, "message": "\xed\xa0\x80"}'


# The second body's base64-alphabet characters ("updateid1234") happen to decode when the others are dropped.
@pytest.mark.parametrize(
    "body", [telegram_body(update("voice")), '{"update_id": 1234}'], ids=["voice", "short"]
)
def test_a_body_flagged_base64_that_is_not_base64_is_kept_as_the_text_it_is(handler, s3, body):
    # A hand-written event with isBase64Encoded true over plain JSON: it is quarantined as invalid base64, with
    # the text as it came; decoded leniently (non-alphabet characters dropped), only garbage would be kept.
    event = envelope(body, "http_v2")
    event["body"], event["isBase64Encoded"] = body, True

    response = handler.lambda_handler(event, None)

    assert response["statusCode"] == 200
    [record] = quarantined(s3).values()
    assert record["reason"] == "corpo em base64 inválido"
    assert base64.b64decode(record["body_base64"]) == body.encode()


@pytest.mark.parametrize("secret", [None, "wrong-secret"], ids=["no_secret", "wrong_secret"])
@pytest.mark.parametrize("name", ["no_update_id", "two_messages", "lone_surrogate_in_text", "form_encoded"])
def test_unsigned_odd_body_is_refused_and_nothing_is_written(handler, s3, name, secret):
    response = handler.lambda_handler(envelope(BAD_BODIES[name], secret=secret), None)

    assert response["statusCode"] == (401 if secret is None else 403)
    assert stored(s3) == {}


def test_a_retried_odd_body_is_kept_once_even_the_next_day(handler, s3):
    # The body has a date of its own, so the key does not depend on when a retry arrives.
    body = BAD_BODIES["two_messages"]
    next_day = envelope(body, "rest_v1")
    next_day["requestContext"]["requestTimeEpoch"] += 86_400_000

    for event in (envelope(body), envelope(body, "function_url"), next_day):
        assert handler.lambda_handler(event, None)["statusCode"] == 200

    assert list(stored(s3)) == [quarantine_key(body.encode())]


def test_odd_body_without_a_date_of_its_own_is_kept_under_its_arrival_day(handler, s3):
    event = envelope(BAD_BODIES["form_encoded"])
    event["requestContext"]["timeEpoch"] = 1742265000_000  # 23:30 of the 17th in São Paulo, the 18th in UTC

    handler.lambda_handler(event, None)

    assert list(stored(s3)) == [quarantine_key(BAD_BODIES["form_encoded"].encode(), "2025-03-17")]


def _two_payloads(first_date: int, second_date: int) -> str:
    data = update(BASE)
    data["message"]["date"] = first_date
    data["edited_message"] = {**update("edited_message")["edited_message"], "date": second_date}
    return telegram_body(data)


def _update_id_holding_a_date() -> str:
    # update_id first, as Telegram orders it, forged into an object that looks like a payload.
    return telegram_body({"update_id": {"date": 946684800}, "message": update(BASE)["message"]})


# The day of a quarantined body is its first payload's own date, when the local calendar can hold it; else the
# arrival day (2025-03-17 here).
OWN_DAYS = {
    # update_id is never a payload: a date inside it (2000-01-01 UTC, 1999-12-31 in São Paulo) is not the body's.
    "date_inside_a_forged_update_id": (_update_id_holding_a_date(), "2025-03-17"),
    # Second 0 is a date like any other: 21:00 of 1969-12-31 in São Paulo.
    "date_at_the_epoch": (
        telegram_body({**update(BASE), "update_id": -1, "message": {**update(BASE)["message"], "date": 0}}),
        "1969-12-31",
    ),
    # A first payload past year 9999 does not hide the next one's date (12:00 of 2025-03-10 in São Paulo).
    "first_date_past_year_9999": (_two_payloads(253402300800, 1741618800), "2025-03-10"),
}


@pytest.mark.parametrize(("body", "day"), OWN_DAYS.values(), ids=OWN_DAYS.keys())
def test_odd_body_is_kept_under_its_first_usable_own_date(handler, s3, body, day):
    assert handler.lambda_handler(envelope(body), None)["statusCode"] == 200

    assert list(stored(s3)) == [quarantine_key(body.encode(), day)]


def test_east_of_utc_an_own_date_past_the_local_calendar_falls_back_to_the_arrival_day(s3, configure):
    # 9999-12-31 23:59:59 UTC is already year 10000 in Tokyo: the update cannot be filed under its own day, nor
    # can its quarantine record. It is kept under the arrival day (15:04 UTC on the 17th: the 18th in Tokyo).
    handler = configure(TIMEZONE="Asia/Tokyo")
    body = with_change(("message", "date"), 253402300799)

    assert handler.lambda_handler(envelope(body), None)["statusCode"] == 200

    assert list(stored(s3)) == [quarantine_key(body.encode(), "2025-03-18")]


def test_east_of_utc_an_arrival_past_the_local_calendar_falls_back_to_the_functions_clock(s3, configure):
    handler = configure(TIMEZONE="Asia/Tokyo")
    body = BAD_BODIES["form_encoded"]
    event = envelope(body)
    event["requestContext"]["timeEpoch"] = 253402300799_000  # 9999-12-31 23:59:59 UTC: year 10000 in Tokyo
    before = datetime.now(timezone.utc)

    assert handler.lambda_handler(event, None)["statusCode"] == 200

    [(key, record)] = quarantined(s3).items()
    arrived = datetime.fromisoformat(record["arrived_at"])
    assert before <= arrived + timedelta(milliseconds=1) and arrived <= datetime.now(timezone.utc)
    assert key == quarantine_key(body.encode(), arrived.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat())


def test_quarantine_does_not_change_what_the_etl_reads(s3, configure):
    s3.create_bucket(Bucket=ENRICHED, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"})
    handler = configure(AWS_S3_ENRICHED=ENRICHED)
    handler.lambda_handler(envelope(VALID), None)
    before = handler.etl_handler({"date": "2025-03-17"}, None)

    for name in FORGED_UPDATES:
        assert handler.lambda_handler(envelope(BAD_BODIES[name]), None)["statusCode"] == 200
    after = handler.etl_handler({"date": "2025-03-17"}, None)

    assert len(quarantined(s3)) == len(FORGED_UPDATES)
    assert (
        (after["objects_read"], after["rows_written"])
        == (before["objects_read"], before["rows_written"])
        == (1, 1)
    )


def test_s3_failure_while_keeping_an_odd_body_fails_the_invocation(s3, configure, caplog):
    handler = configure(AWS_S3_BUCKET="bucket-that-does-not-exist-raw")

    with pytest.raises(ClientError, match="NoSuchBucket"):
        handler.lambda_handler(envelope(BAD_BODIES["two_messages"]), None)

    assert any(record.levelno == logging.ERROR for record in caplog.records)


def test_quarantine_log_line_never_carries_the_body(handler, s3, caplog):
    caplog.set_level(logging.DEBUG)

    handler.lambda_handler(envelope(BAD_BODIES["two_messages"]), None)

    everything = "\n".join(record.getMessage() for record in caplog.records)
    assert "Bom dia" not in everything
    assert SECRET not in everything


def test_valid_surrogate_pair_escape_is_an_emoji_and_is_stored(handler, s3):
    # "\ud83d\ude80" is how a JSON encoder that escapes non-ASCII writes 🚀: valid, and kept byte for byte.
    body = telegram_body(update("text_with_entities")).replace("Bom dia", "Bom dia \\ud83d\\ude80")

    assert handler.lambda_handler(envelope(body), None)["statusCode"] == 200
    assert list(stored(s3).values()) == [body.encode("utf-8")]


def test_date_on_the_last_day_of_year_9999_is_stored(handler, s3):
    data = update("voice")
    data["message"]["date"] = 253402257599  # 9999-12-31 12:59:59 UTC, the morning in São Paulo

    assert handler.lambda_handler(envelope(telegram_body(data)), None)["statusCode"] == 200
    assert list(stored(s3)) == ["telegram/context_date=9999-12-31/801234571.json"]


# Envelopes no API Gateway or Function URL produces: only a direct invocation can send them.
def _set(path: tuple, value):
    def change(event: dict) -> None:
        target = event
        for name in path[:-1]:
            target = target[name]
        target[path[-1]] = value

    return change


def _drop_date(event: dict) -> None:
    data = json.loads(base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"])
    del data["message_annotation"]["date"]
    body = telegram_body(data)
    event["body"] = base64.b64encode(body.encode()).decode() if event["isBase64Encoded"] else body


NOT_AN_OBJECT_CONTEXT = "requestContext do evento deve ser um objeto"
NOT_A_BOOLEAN_FLAG = "isBase64Encoded do evento deve ser true ou false"
# Each forged envelope and the reason its quarantine record gives, word for word.
FORGED_ENVELOPES = {
    "request_context_as_string": (_set(("requestContext",), "contexto"), NOT_AN_OBJECT_CONTEXT),
    "request_context_as_list": (_set(("requestContext",), []), NOT_AN_OBJECT_CONTEXT),
    "is_base64_encoded_as_string": (_set(("isBase64Encoded",), "false"), NOT_A_BOOLEAN_FLAG),
    "is_base64_encoded_as_number": (_set(("isBase64Encoded",), 0), NOT_A_BOOLEAN_FLAG),
}
# Read only when the update has no date of its own.
FORGED_ARRIVAL_TIMES = {
    "huge": 2**63,
    "beyond_year_9999": 253402300800_000,
    "negative": -1,
    "string": "1742223852311",
    "float": 1742223852311.5,
    "boolean": True,
}


@pytest.mark.parametrize("kind", ENVELOPES)
@pytest.mark.parametrize(("change", "reason"), FORGED_ENVELOPES.values(), ids=FORGED_ENVELOPES.keys())
def test_signed_forged_envelope_is_kept_in_quarantine_not_a_crash(handler, s3, caplog, kind, change, reason):
    caplog.set_level(logging.INFO, logger="lambda_function")
    event = envelope(telegram_body(update("voice")), kind)
    change(event)

    response = handler.lambda_handler(event, None)

    assert response["statusCode"] == 200
    [record] = quarantined(s3).values()
    assert list(stored(s3)) == list(quarantined(s3))
    assert record["reason"] == reason
    # The body is kept as it reached the function (a base64 text whose flag is unreadable stays base64).
    body = base64.b64decode(event["body"]) if event["isBase64Encoded"] is True else event["body"].encode()
    assert base64.b64decode(record["body_base64"]) == body
    assert [line["decision"] for line in logged(caplog)] == ["quarantined"]


@pytest.mark.parametrize("kind", ENVELOPES)
def test_headers_that_are_not_an_object_carry_no_secret(handler, s3, kind):
    event = envelope(telegram_body(update("voice")), kind)
    event["headers"] = [["x-telegram-bot-api-secret-token", SECRET]]

    assert handler.lambda_handler(event, None)["statusCode"] == 401
    assert stored(s3) == {}


@pytest.mark.parametrize("kind", ENVELOPES)
@pytest.mark.parametrize("value", FORGED_ARRIVAL_TIMES.values(), ids=FORGED_ARRIVAL_TIMES.keys())
def test_forged_arrival_time_is_kept_in_quarantine_with_the_functions_clock(handler, s3, kind, value):
    event = envelope(telegram_body(update("future_type_in_group")), kind)
    _drop_date(event)
    name = "requestTimeEpoch" if kind == "rest_v1" else "timeEpoch"
    event["requestContext"][name] = value
    before = datetime.now(timezone.utc)

    response = handler.lambda_handler(event, None)

    assert response["statusCode"] == 200
    [record] = quarantined(s3).values()
    assert "requestContext" in record["reason"]
    assert before <= datetime.fromisoformat(record["arrived_at"]) + timedelta(milliseconds=1)
    assert datetime.fromisoformat(record["arrived_at"]) <= datetime.now(timezone.utc)


def test_an_arrival_at_the_first_millisecond_of_1970_is_a_valid_time(handler, s3):
    # timeEpoch counts from 0 (1970-01-01T00:00:00Z), which is 21:00 of 1969-12-31 in São Paulo.
    event = envelope(telegram_body(update("future_type_in_group")))
    _drop_date(event)
    event["requestContext"]["timeEpoch"] = 0

    assert handler.lambda_handler(event, None)["statusCode"] == 200

    assert list(stored(s3)) == ["telegram/context_date=1969-12-31/801234579.json"]


def test_an_arrival_past_year_9999_is_named_in_the_quarantine_reason(handler, s3):
    # An update without a date of its own is filed by its arrival: the reason says that is what was wrong.
    event = envelope(telegram_body(update("future_type_in_group")))
    _drop_date(event)
    event["requestContext"]["timeEpoch"] = FORGED_ARRIVAL_TIMES["beyond_year_9999"]

    assert handler.lambda_handler(event, None)["statusCode"] == 200

    [record] = quarantined(s3).values()
    assert (
        record["reason"] == "a hora de chegada (requestContext) está fora das datas possíveis (anos 1 a 9999)"
    )


@pytest.mark.parametrize("event", [[], "evento", None, 7], ids=["list", "string", "null", "number"])
def test_event_that_is_not_an_object_has_no_secret_and_gets_401(handler, s3, event):
    assert handler.lambda_handler(event, None)["statusCode"] == 401
    assert stored(s3) == {}


@pytest.mark.parametrize("event", [[], "evento", None, 7], ids=["list", "string", "null", "number"])
def test_without_a_secret_by_choice_an_event_that_is_not_an_object_is_kept(s3, configure, event):
    handler = configure(TELEGRAM_SECRET_TOKEN=None, TELEGRAM_SECRET_TOKEN_OPTIONAL="true")

    assert handler.lambda_handler(event, None)["statusCode"] == 200
    [record] = quarantined(s3).values()
    assert record["reason"] == "evento inválido: esperado um objeto JSON"
    assert json.loads(base64.b64decode(record["body_base64"])) == event


def test_without_a_secret_by_choice_headers_that_are_not_an_object_are_quarantined(s3, configure):
    # With a secret, such headers carry none and get 401; without one, the update must not pass as if AWS sent it.
    handler = configure(TELEGRAM_SECRET_TOKEN=None, TELEGRAM_SECRET_TOKEN_OPTIONAL="true")
    event = envelope(telegram_body(update("voice")))
    event["headers"] = [["content-type", "application/json"]]

    assert handler.lambda_handler(event, None)["statusCode"] == 200

    [record] = quarantined(s3).values()
    assert list(stored(s3)) == list(quarantined(s3))
    assert record["reason"] == "headers do evento deve ser um objeto"


@pytest.mark.parametrize(
    "raw",
    [b"not base64!!", b"\xff\xfe", b"\x00\x01"],
    ids=["bad_base64", "invalid_utf8", "binary"],
)
def test_undecodable_base64_body_is_kept_as_it_arrived(handler, s3, raw):
    event = envelope("x", b64=True)
    event["body"] = raw.decode("latin-1") if raw == b"not base64!!" else base64.b64encode(raw).decode()

    assert handler.lambda_handler(event, None)["statusCode"] == 200
    [record] = quarantined(s3).values()
    # Valid base64 is undone (the bytes Telegram sent); invalid base64 is kept as the text that came.
    assert base64.b64decode(record["body_base64"]) == raw


# --- What is kept and what is ignored -------------------------------------------------------------------------------
KEPT = {
    "text_with_entities": "telegram/context_date=2025-03-17/801234567.json",
    "photo_with_caption": "telegram/context_date=2025-03-17/801234569.json",
    "sticker": "telegram/context_date=2025-03-17/801234570.json",
    "voice": "telegram/context_date=2025-03-17/801234571.json",
    "new_chat_members": "telegram/context_date=2025-03-17/801234572.json",
    "my_chat_member_bot_added": "telegram/context_date=2025-03-17/801234560.json",
    "anonymous_admin": "telegram/context_date=2025-03-17/801234573.json",
    "migrate_from_group": "telegram/context_date=2025-03-17/801234575.json",
    "reply_in_topic": "telegram/context_date=2025-03-17/801234581.json",
    "future_type_in_group": "telegram/context_date=2025-03-17/801234579.json",
}


@pytest.mark.parametrize(("name", "key"), KEPT.items(), ids=KEPT.keys())
def test_every_update_of_the_group_is_stored_whatever_its_type(handler, s3, name, key):
    body = telegram_body(update(name))

    response = handler.lambda_handler(envelope(body), None)

    assert response["statusCode"] == 200
    assert stored(s3) == {key: body.encode("utf-8")}


# The log line of each ignored update: its id, its type and the chat it came from (None when none is read).
IGNORED = {
    "other_chat": (801234576, "message", -1002000000001),
    "callback_query": (801234577, "callback_query", None),  # a button press: ignored before any chat is read
    "channel_post": (801234578, "channel_post", -1003000000002),
    "future_type_without_chat": (801234580, "purchased_paid_media", None),
    "migrate_to_supergroup": (801234574, "message", -4012345678),  # the old group's last word, not the group
}


@pytest.mark.parametrize("name", IGNORED)
def test_updates_outside_the_group_get_200_and_are_not_stored(handler, s3, caplog, name):
    caplog.set_level(logging.INFO, logger="lambda_function")

    response = handler.lambda_handler(envelope(telegram_body(update(name))), None)

    # Anything but 2xx makes Telegram redeliver for 24 h and hold back the chat's later updates.
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"ok": True}
    assert stored(s3) == {}
    update_id, kind, chat_id = IGNORED[name]
    assert logged(caplog) == [
        {"update_id": update_id, "type": kind, "decision": "ignored", "chat_id": chat_id}
    ]


def test_edit_lands_beside_the_message_it_changes(handler, s3):
    handler.lambda_handler(envelope(telegram_body(update("text_with_entities"))), None)
    edit = update("edited_message")
    # Edited the next day: still the original message's partition.
    edit["edited_message"]["edit_date"] = edit["edited_message"]["date"] + 2 * 86400

    handler.lambda_handler(envelope(telegram_body(edit)), None)

    assert sorted(stored(s3)) == [
        "telegram/context_date=2025-03-17/801234567.json",
        "telegram/context_date=2025-03-17/801234568.json",
    ]


def test_both_ids_of_a_migrated_group_can_still_be_configured(s3, configure):
    handler = configure(TELEGRAM_CHAT_ID=f"{OLD_GROUP_ID},{GROUP_ID}")

    for name in ("migrate_to_supergroup", "migrate_from_group", "text_with_entities"):
        assert handler.lambda_handler(envelope(telegram_body(update(name))), None)["statusCode"] == 200

    assert sorted(key for key in stored(s3) if key.startswith("telegram/")) == [
        "telegram/context_date=2025-03-17/801234567.json",
        "telegram/context_date=2025-03-17/801234574.json",
        "telegram/context_date=2025-03-17/801234575.json",
    ]


# --- Group to supergroup migration ----------------------------------------------------------------------------------
# The learner configured the basic group's id; Telegram then made it a supergroup (GROUP_ID) and every later
# message carries the new id. Nothing may be lost, without touching the configuration.
MIGRATION_KEY = f"estado/migracoes/{GROUP_ID}.json"
LATER_MESSAGES = ("text_with_entities", "photo_with_caption", "sticker", "edited_message", "reply_in_topic")


def new_environment(name: str):
    """Another execution environment of the same function: its own module, its own cache, the same bucket."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "lambda_function.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deliver(handler, name: str) -> int:
    return handler.lambda_handler(envelope(telegram_body(update(name))), None)["statusCode"]


def raw_update_ids(s3) -> list[int]:
    return sorted(
        json.loads(body)["update_id"] for key, body in stored(s3).items() if key.startswith("telegram/")
    )


def test_every_message_after_a_migration_is_stored_without_a_configuration_change(s3, configure):
    handler = configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))

    statuses = [
        deliver(handler, name) for name in ("migrate_to_supergroup", "migrate_from_group", *LATER_MESSAGES)
    ]

    assert statuses == [200] * 7
    assert raw_update_ids(s3) == sorted(
        update(name)["update_id"] for name in ("migrate_to_supergroup", "migrate_from_group", *LATER_MESSAGES)
    )
    # The record lives outside telegram/: the ETL and Athena never read it.
    assert json.loads(stored(s3)[MIGRATION_KEY]) == {
        "migrate_from_chat_id": OLD_GROUP_ID,
        "migrate_to_chat_id": GROUP_ID,
    }


@pytest.mark.parametrize("name", ["migrate_to_supergroup", "migrate_from_group"])
def test_a_recorded_migration_is_logged_before_the_update_is_stored(s3, configure, caplog, name):
    # Both service messages record it (either may arrive first); the log says which chat became which.
    caplog.set_level(logging.INFO, logger="lambda_function")
    handler = configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))
    update_id = update(name)["update_id"]

    deliver(handler, name)

    assert logged(caplog) == [
        {
            "update_id": update_id,
            "type": "message",
            "decision": "migration_recorded",
            "from_chat_id": OLD_GROUP_ID,
            "to_chat_id": GROUP_ID,
        },
        {
            "update_id": update_id,
            "type": "message",
            "decision": "stored",
            "key": f"telegram/context_date=2025-03-17/{update_id}.json",
        },
    ]


@pytest.mark.parametrize("seen", ["migrate_to_supergroup", "migrate_from_group"])
def test_a_cold_start_after_the_migration_still_stores_the_new_id(s3, configure, seen):
    # Either service message alone records the migration (Telegram delivers the two chats' queues independently).
    deliver(configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID)), seen)

    cold = configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))  # a fresh import: nothing in memory
    assert [deliver(cold, name) for name in LATER_MESSAGES] == [200] * len(LATER_MESSAGES)

    assert raw_update_ids(s3) == sorted(
        [update(seen)["update_id"]] + [update(n)["update_id"] for n in LATER_MESSAGES]
    )


def test_a_concurrent_environment_sees_a_migration_recorded_after_it_looked(s3, configure):
    configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))  # the function's environment variables
    first, second = new_environment("lambda_env_a"), new_environment("lambda_env_b")
    # Before the migration is known, a message of the new id is not the group's...
    assert deliver(second, "photo_with_caption") == 200
    assert raw_update_ids(s3) == []

    # ...then another environment gets the supergroup's first message; this one must not remember the absence.
    assert deliver(first, "migrate_from_group") == 200
    assert deliver(second, "text_with_entities") == 200

    assert raw_update_ids(s3) == [801234567, 801234575]


def test_a_migrate_from_pointing_at_another_chat_is_not_honoured(s3, configure):
    handler = configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))
    forged = update("migrate_from_group")
    forged["message"]["migrate_from_chat_id"] = -4099999999  # some other group's migration
    moved_elsewhere = update("migrate_to_supergroup")
    moved_elsewhere["message"]["chat"]["id"] = -4099999999  # another group moving to GROUP_ID

    for data in (forged, moved_elsewhere):
        assert handler.lambda_handler(envelope(telegram_body(data)), None)["statusCode"] == 200
    assert deliver(handler, "text_with_entities") == 200

    assert stored(s3) == {}


def test_a_chat_that_claims_to_migrate_from_itself_records_nothing(s3, configure):
    # Found by the fuzzing tests: a supergroup's message naming its own id as migrate_from_chat_id wrote a record
    # from the group to itself. The message is the group's and is stored; no migration happened.
    handler = configure(TELEGRAM_CHAT_ID=str(GROUP_ID))
    looped = update("migrate_from_group")
    looped["message"]["migrate_from_chat_id"] = GROUP_ID

    assert handler.lambda_handler(envelope(telegram_body(looped)), None)["statusCode"] == 200

    assert list(stored(s3)) == ["telegram/context_date=2025-03-17/801234575.json"]


@pytest.mark.parametrize("name", ["other_chat", "channel_post", "callback_query"])
def test_other_chats_are_still_ignored_after_a_migration(s3, configure, caplog, name):
    handler = configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))
    deliver(handler, "migrate_from_group")
    before = stored(s3)
    caplog.set_level(logging.INFO, logger="lambda_function")

    assert deliver(configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID)), name) == 200

    assert stored(s3) == before
    assert logged(caplog)[-1]["decision"] == "ignored"


@pytest.mark.parametrize("chat_id", [5012345678, -4099999999], ids=["private", "basic_group"])
def test_chats_that_cannot_be_a_migration_target_cost_no_lookup(s3, handler, chat_id):
    data = update("text_with_entities")
    data["message"]["chat"] = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
    handler.s3 = None  # any S3 call would fail

    assert handler.lambda_handler(envelope(telegram_body(data)), None)["statusCode"] == 200


def test_a_failed_lookup_is_retried_by_telegram_not_dropped(s3, configure, monkeypatch):
    handler = configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))
    deliver(handler, "migrate_from_group")
    cold = configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))
    error = ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "ListObjectsV2"
    )

    def fail(**kwargs):
        raise error

    monkeypatch.setattr(cold.s3, "list_objects_v2", fail)
    with pytest.raises(ClientError):
        deliver(cold, "text_with_entities")


CORRUPT_RECORDS = {
    "naming_another_chat": {"migrate_from_chat_id": OLD_GROUP_ID, "migrate_to_chat_id": -1001000000001},
    "a_list": [OLD_GROUP_ID, GROUP_ID],
    "a_string": f"{OLD_GROUP_ID} -> {GROUP_ID}",
}


@pytest.mark.parametrize("record", CORRUPT_RECORDS.values(), ids=CORRUPT_RECORDS.keys())
def test_a_corrupt_migration_record_fails_loudly_and_stores_nothing(s3, configure, record):
    # A corrupt or hand-edited record under estado/migracoes/: honouring it would bring another chat into the
    # dataset. The invocation fails (Telegram redelivers) and the error says which record.
    s3.put_object(Bucket=BUCKET, Key=MIGRATION_KEY, Body=json.dumps(record).encode())
    handler = configure(TELEGRAM_CHAT_ID=str(OLD_GROUP_ID))

    with pytest.raises(RuntimeError, match=f"registro de migração inválido em s3://{BUCKET}/{MIGRATION_KEY}"):
        deliver(handler, "text_with_entities")
    assert [key for key in stored(s3) if key.startswith("telegram/")] == []


def test_two_configured_groups_that_both_migrated_each_keep_their_messages(s3, configure):
    # A function may serve several groups (a comma-separated TELEGRAM_CHAT_ID). After both migrate, the records
    # sit side by side under estado/migracoes/, and a cold start must find each one by its own key.
    other_old, other_new = -4011111111, -1001000000002  # its record's key sorts before GROUP_ID's
    moved = update("migrate_from_group")
    moved["update_id"] = 801234590
    moved["message"]["chat"]["id"], moved["message"]["migrate_from_chat_id"] = other_new, other_old
    chats = f"{OLD_GROUP_ID},{other_old}"
    first = configure(TELEGRAM_CHAT_ID=chats)
    assert deliver(first, "migrate_from_group") == 200
    assert first.lambda_handler(envelope(telegram_body(moved)), None)["statusCode"] == 200

    cold = configure(TELEGRAM_CHAT_ID=chats)
    assert deliver(cold, "text_with_entities") == 200

    assert sorted(key for key in stored(s3) if key.startswith("estado/")) == [
        f"estado/migracoes/{other_new}.json",
        MIGRATION_KEY,
    ]
    assert raw_update_ids(s3) == [801234567, 801234575, 801234590]


def test_the_largest_update_id_below_2_53_is_stored(handler, s3):
    data = update(BASE)
    data["update_id"] = 2**53 - 1

    assert handler.lambda_handler(envelope(telegram_body(data)), None)["statusCode"] == 200
    assert list(stored(s3)) == [f"telegram/context_date=2025-03-17/{2**53 - 1}.json"]


# --- Dates and time zones -------------------------------------------------------------------------------------------
def test_partition_uses_the_configured_time_zone_not_utc(handler, s3):
    # 2025-03-18T02:30:00Z is 23:30 on the 17th in São Paulo.
    handler.lambda_handler(envelope(telegram_body(update("late_evening"))), None)

    assert list(stored(s3)) == ["telegram/context_date=2025-03-17/801234582.json"]


def test_partition_follows_the_timezone_variable(s3, configure):
    handler = configure(TIMEZONE="UTC")

    handler.lambda_handler(envelope(telegram_body(update("late_evening"))), None)

    assert list(stored(s3)) == ["telegram/context_date=2025-03-18/801234582.json"]


def test_update_without_a_date_uses_the_gateway_arrival_time(handler, s3):
    data = update("future_type_in_group")
    del data["message_annotation"]["date"]
    event = envelope(telegram_body(data), "rest_v1")
    event["requestContext"]["requestTimeEpoch"] = 1742265000_000  # 23:30 of the 17th in São Paulo

    handler.lambda_handler(event, None)

    assert list(stored(s3)) == ["telegram/context_date=2025-03-17/801234579.json"]


def test_update_without_any_date_uses_the_current_day(handler, s3):
    data = update("future_type_in_group")
    del data["message_annotation"]["date"]
    event = envelope(telegram_body(data))
    del event["requestContext"]

    handler.lambda_handler(event, None)

    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date().isoformat()
    assert list(stored(s3)) == [f"telegram/context_date={today}/801234579.json"]


# --- Retries and failures -------------------------------------------------------------------------------------------
def test_redelivered_update_is_stored_once(handler, s3):
    body = telegram_body(update("text_with_entities"))

    for kind in ("http_v2", "http_v2", "rest_v1"):
        assert handler.lambda_handler(envelope(body, kind), None)["statusCode"] == 200

    assert len(stored(s3)) == 1


def test_s3_failure_fails_the_invocation_so_telegram_retries(s3, configure, caplog):
    handler = configure(AWS_S3_BUCKET="bucket-that-does-not-exist-raw")

    with pytest.raises(ClientError, match="NoSuchBucket"):
        handler.lambda_handler(envelope(telegram_body(update("text_with_entities"))), None)

    assert any(record.levelno == logging.ERROR for record in caplog.records)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AWS_S3_BUCKET": None}, "AWS_S3_BUCKET não está definida nas variáveis de ambiente da função"),
        (
            {"TELEGRAM_CHAT_ID": None},
            "TELEGRAM_CHAT_ID não está definida nas variáveis de ambiente da função",
        ),
        (
            {"TELEGRAM_CHAT_ID": "turma"},
            "TELEGRAM_CHAT_ID inválido: 'turma' (esperado um número como -1001234567890)",
        ),
    ],
)
def test_missing_configuration_fails_loudly_instead_of_dropping_updates(s3, configure, env, message):
    # The error a learner reads in the function's logs, word for word.
    handler = configure(**env)

    with pytest.raises(RuntimeError) as error:
        handler.lambda_handler(envelope(telegram_body(update("text_with_entities"))), None)

    assert str(error.value) == message

    assert stored(s3) == {}


# --- Logs and responses ---------------------------------------------------------------------------------------------
def test_one_structured_log_line_per_update_without_text_or_secret(handler, s3, caplog):
    caplog.set_level(logging.DEBUG)
    data = update("text_with_entities")

    handler.lambda_handler(envelope(telegram_body(data)), None)

    assert logged(caplog) == [
        {
            "update_id": 801234567,
            "type": "message",
            "decision": "stored",
            "key": "telegram/context_date=2025-03-17/801234567.json",
        }
    ]
    everything = "\n".join(record.getMessage() for record in caplog.records)
    assert "Bom dia" not in everything
    assert SECRET not in everything


def test_refused_request_log_never_contains_the_secrets(handler, s3, caplog):
    caplog.set_level(logging.DEBUG)

    handler.lambda_handler(envelope(telegram_body(update("voice")), secret="attacker-guess-123"), None)

    everything = "\n".join(record.getMessage() for record in caplog.records)
    assert SECRET not in everything
    assert "attacker-guess-123" not in everything


@pytest.mark.parametrize(
    ("secret", "status", "reason"),
    [
        (None, 401, "cabeçalho X-Telegram-Bot-Api-Secret-Token ausente"),
        ("chute", 403, "X-Telegram-Bot-Api-Secret-Token incorreto"),
    ],
    ids=["missing", "wrong"],
)
def test_a_refused_request_leaves_one_log_line_saying_why(handler, s3, caplog, secret, status, reason):
    # What a learner finds in CloudWatch when the webhook's secret and the function's disagree.
    caplog.set_level(logging.INFO, logger="lambda_function")

    handler.lambda_handler(envelope(telegram_body(update("voice")), secret=secret), None)

    assert logged(caplog) == [
        {"update_id": None, "type": None, "decision": "rejected", "status": status, "reason": reason}
    ]


@pytest.mark.parametrize("name", ["text_with_entities", "other_chat", "callback_query"])
def test_answer_never_carries_a_method_for_telegram_to_execute(handler, s3, name):
    response = handler.lambda_handler(envelope(telegram_body(update(name))), None)

    assert "method" not in json.loads(response["body"])


def test_handler_does_not_modify_the_event(handler, s3):
    event = envelope(telegram_body(update("reply_in_topic")), "rest_v1")
    before = copy.deepcopy(event)

    handler.lambda_handler(event, None)

    assert event == before

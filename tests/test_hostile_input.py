"""What a stranger (or a broken client) can send to the public webhook URL of a learner's deployment.

Every request goes to the real `https://{id}.execute-api.../webhook` URL, through API Gateway and the deployed
function, exactly as the notebooks left them. For each one: no crash, the right status, and the raw bucket holds
exactly what it should: the byte-identical body under telegram/, the whole body in quarentena/ (a request with
the right secret that is not an update: answered 200, because Telegram holds a chat's later updates behind any
other answer for up to 24 hours), or nothing at all.
"""

from __future__ import annotations

import base64
import json

import pytest
import requests

from tutorial.contract import SECRET_HEADER
from tutorial.harness import Stack, deployed_stack

MESSAGE_DATE = 1742223600  # 2025-03-17 12:00 in São Paulo


@pytest.fixture(scope="module")
def stack():
    with deployed_stack() as deployed:
        yield deployed


@pytest.fixture
def bucket(stack: Stack):
    stack.empty_raw_bucket()
    return stack


def group_update(update_id: int, chat_id: int, **message) -> dict:
    payload = {
        "message_id": update_id % 100_000,
        "from": {"id": 1838973877, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": chat_id, "title": "Turma de Engenharia de Dados", "type": "supergroup"},
        "date": MESSAGE_DATE,
        "text": "Alguém conseguiu fazer o Athena funcionar?",
    }
    payload.update(message)
    return {"update_id": update_id, "message": payload}


def dumps(update: dict) -> bytes:
    return json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()


# Each case builds (body, headers, secret) from the group's id; secret "deployed" is the real one.
# Expected: (status, stored). "telegram": the very body lands under its update_id; "quarentena": it is kept whole
# in quarantine; False: nothing is written anywhere.
GROUP = "{group}"


def body_for(template: str | bytes, group: int) -> bytes:
    raw = template if isinstance(template, bytes) else template.encode()
    return raw.replace(GROUP.encode(), str(group).encode())


def valid(update_id: int, **message) -> bytes:
    # A JSON template with a placeholder for the group id (the id comes from the deployed sandbox).
    return dumps(group_update(update_id, 0, **message)).replace(b'"id":0,', b'"id":{group},')


CASES = {
    # --- secret and headers
    "no_secret_header": (valid(9001), {}, None, 401, False),
    "wrong_secret": (valid(9002), {}, "chute-errado", 403, False),
    "secret_with_one_more_character": (valid(9003), {}, "deployed+x", 403, False),
    "secret_in_upper_case": (valid(9004), {}, "deployed.upper", 403, False),
    "correct_secret_in_authorization_header": (valid(9005), {"Authorization": "deployed"}, None, 401, False),
    "correct_secret_in_another_telegram_header": (
        valid(9006),
        {"X-Telegram-Bot-Api-Secret": "deployed"},
        None,
        401,
        False,
    ),
    "correct_secret_in_query_string": (valid(9007), {"?": "deployed"}, None, 401, False),
    "huge_secret_header": (valid(9008), {}, "x" * 8000, 403, False),
    "secret_header_name_in_lower_case": (
        valid(9009),
        {"x-telegram-bot-api-secret-token": "deployed"},
        None,
        200,
        "telegram",
    ),
    "text_plain_content_type": (valid(9010), {"Content-Type": "text/plain"}, "deployed", 200, "telegram"),
    "binary_content_type_arrives_base64_encoded": (
        valid(9011),
        {"Content-Type": "application/octet-stream"},
        "deployed",
        200,
        "telegram",
    ),
    # --- bodies that are not an update
    "empty_body": (b"", {}, "deployed", 200, "quarentena"),
    "json_null": (b"null", {}, "deployed", 200, "quarentena"),
    "json_array": (b"[" + valid(9012) + b"]", {}, "deployed", 200, "quarentena"),
    "json_string": (b'"update"', {}, "deployed", 200, "quarentena"),
    "truncated_json": (valid(9013)[:-5], {}, "deployed", 200, "quarentena"),
    "form_encoded_body": (b"update_id=9014&message=oi", {}, "deployed", 200, "quarentena"),
    "nan_update_id": (
        valid(9014).replace(b'"update_id":9014', b'"update_id":NaN'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "utf8_bom_before_json": (b"\xef\xbb\xbf" + valid(9015), {}, "deployed", 200, "quarentena"),
    "raw_null_byte_inside_a_string": (
        valid(9016).replace(b"Athena", b"Ath\x00ena"),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "deep_nesting": (
        b'{"update_id":9017,"message":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "duplicate_update_id_keys": (
        b'{"update_id":9018,"update_id":9019,' + valid(9018)[len(b'{"update_id":9018,') :],
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "duplicate_message_keys": (
        valid(9020)[:-1] + b',"message":{"chat":{"id":1},"date":0}}',
        {},
        "deployed",
        200,
        "quarentena",
    ),
    # --- wrong types
    "update_id_as_string": (
        valid(9021).replace(b'"update_id":9021', b'"update_id":"9021"'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "update_id_as_float": (
        valid(9022).replace(b'"update_id":9022', b'"update_id":9022.5'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "update_id_as_integral_float": (
        valid(9023).replace(b'"update_id":9023', b'"update_id":9023.0'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "update_id_as_boolean": (
        valid(9024).replace(b'"update_id":9024', b'"update_id":true'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "negative_update_id": (
        valid(9025).replace(b'"update_id":9025', b'"update_id":-9025'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "huge_update_id": (
        valid(9026).replace(b'"update_id":9026', b'"update_id":' + b"9" * 40),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "chat_id_as_string": (
        valid(9027).replace(b'"id":{group},', b'"id":"{group}",'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "chat_id_as_float": (
        valid(9028).replace(b'"id":{group},', b'"id":{group}.0,'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "message_as_string": (
        valid(9029).split(b'"message":')[0] + b'"message":"Bom dia, turma!"}',
        {},
        "deployed",
        200,
        "quarentena",
    ),
    # --- what Telegram never sends: one type per update, valid Unicode, dates within years 1-9999
    "update_without_a_type": (b'{"update_id":9035}', {}, "deployed", 200, "quarentena"),
    "group_member_update_carrying_another_chats_message": (
        b'{"update_id":9040,"my_chat_member":{"chat":{"id":{group},"type":"supergroup"},"date":1742223600},'
        b'"message":{"message_id":1,"chat":{"id":-1001111111111,"type":"supergroup"},"date":1742223600}}',
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "lone_surrogate_escape_in_text": (
        valid(9037).replace(b"Athena", b"Athena \\ud800"),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "date_in_year_10000": (
        valid(9041).replace(b'"date":1742223600', b'"date":253402300800'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "migrate_from_chat_id_as_list": (
        valid(9042, migrate_from_chat_id=[1]),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    "date_as_string": (
        valid(9030).replace(b'"date":1742223600', b'"date":"1742223600"'),
        {},
        "deployed",
        200,
        "quarentena",
    ),
    # --- valid JSON: kept or deliberately ignored
    "huge_chat_id_of_another_chat": (
        valid(9031).replace(b'"id":{group},', b'"id":' + b"9" * 40 + b","),
        {},
        "deployed",
        200,
        False,
    ),
    "valid_update_for_another_group": (
        valid(9032).replace(b'"id":{group},', b'"id":-1001111111111,'),
        {},
        "deployed",
        200,
        False,
    ),
    "private_chat_with_the_bot": (
        valid(9033).replace(
            b'"id":{group},"title":"Turma de Engenharia de Dados","type":"supergroup"',
            b'"id":1838973877,"type":"private"',
        ),
        {},
        "deployed",
        200,
        False,
    ),
    "channel_post_of_the_same_id": (
        valid(9034).replace(b'"message":', b'"channel_post":'),
        {},
        "deployed",
        200,
        False,
    ),
    "escaped_null_byte_in_text": (valid(9036, text="antes\u0000depois"), {}, "deployed", 200, "telegram"),
    "unknown_future_field_and_type": (
        b'{"update_id":9038,"message_reaction_v9":{"chat":{"id":{group},"type":"supergroup"},"date":1742223600}}',
        {},
        "deployed",
        200,
        "telegram",
    ),
    "emoji_and_accents": (
        valid(9039, text="Consegui! Lambda rodando liso 🚀 ação"),
        {},
        "deployed",
        200,
        "telegram",
    ),
}


def request_parts(stack: Stack, template: bytes, headers: dict, secret: str | None):
    """Resolve the case's placeholders against the deployed stack: the group id and the real secret."""
    body = body_for(template, stack.group_id)
    resolved, params = {}, None
    for name, value in headers.items():
        if name == "?":
            params = {"secret_token": stack.secret}
        else:
            resolved[name] = stack.secret if value == "deployed" else value
    if secret == "deployed+x":
        secret = stack.secret + "x"
    elif secret == "deployed.upper":
        secret = stack.secret.upper() if stack.secret.upper() != stack.secret else stack.secret.lower()
    return body, resolved, secret, params


def quarantined(stack: Stack) -> list[dict]:
    s3 = stack.client("s3")
    return [
        json.loads(s3.get_object(Bucket=stack.raw_bucket, Key=key)["Body"].read())
        for key in stack.raw_keys("quarentena/")
    ]


def update_id_of(body: bytes) -> str:
    return body.split(b'"update_id":', 1)[1].split(b",", 1)[0].split(b"}", 1)[0].decode()


def test_the_cases_cover_every_answer_a_stranger_can_get():
    """No secret (401), a wrong one (403), a body that is no update (200, quarantined), an update kept (200,
    stored) or deliberately ignored (200, nothing stored): every answer has cases, and no case expects another."""
    outcomes = {(status, stored) for _, _, _, status, stored in CASES.values()}
    assert outcomes == {(401, False), (403, False), (200, "quarentena"), (200, "telegram"), (200, False)}


@pytest.mark.parametrize(("template", "headers", "secret", "status", "stored"), CASES.values(), ids=CASES)
def test_hostile_request_gets_the_right_status_and_stores_only_what_it_should(
    bucket, template, headers, secret, status, stored
):
    body, headers, secret, params = request_parts(bucket, template, headers, secret)
    response = bucket.send(body, headers=headers, secret=secret, params=params)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["ok"] is (status == 200)
    keys, kept = bucket.raw_keys(), quarantined(bucket)
    if stored == "telegram":
        assert len(keys) == 1 and keys[0].endswith(f"/{update_id_of(body)}.json"), keys
        stored_body = bucket.client("s3").get_object(Bucket=bucket.raw_bucket, Key=keys[0])["Body"].read()
        assert stored_body == body
        assert kept == []
    elif stored == "quarentena":
        assert keys == []
        assert [base64.b64decode(record["body_base64"]) for record in kept] == [body]
    else:
        assert bucket.raw_keys("") == []


def test_wrong_method_and_path_never_reach_the_function(bucket):
    body = body_for(valid(9101), bucket.group_id)
    headers = {SECRET_HEADER: bucket.secret, "Content-Type": "application/json"}
    base = bucket.webhook_url.removesuffix("/webhook")
    for method, path in (
        ("GET", "/webhook"),
        ("PUT", "/webhook"),
        ("POST", "/WEBHOOK"),
        ("POST", "/webhook/x"),
    ):
        response = requests.request(method, base + path, data=body, headers=headers, timeout=30)
        assert response.status_code == 404, (method, path)
    assert bucket.raw_keys() == []


def test_hostile_requests_do_not_disturb_the_next_real_update(bucket):
    for template, headers, secret, _, _ in list(CASES.values())[:20]:
        body, headers, secret, params = request_parts(bucket, template, headers, secret)
        bucket.send(body, headers=headers, secret=secret, params=params)
    bucket.empty_raw_bucket()
    real = body_for(valid(9102), bucket.group_id)
    assert bucket.send(real).status_code == 200
    assert bucket.raw_keys() == ["telegram/context_date=2025-03-17/9102.json"]


def test_invalid_utf8_body_is_kept_in_quarantine_not_stored_as_an_update(bucket):
    body = body_for(valid(9201), bucket.group_id).replace(b"Athena", b"Ath\xff\xfeena")
    response = bucket.send(body)
    assert response.headers["content-type"].startswith("application/json"), response.text[:80]
    assert response.status_code == 200
    assert bucket.raw_keys() == []
    assert len(quarantined(bucket)) == 1


# An HTTP API takes bodies up to 10 MB and Lambda's synchronous Invoke events up to 6 MB ("Quotas" pages of API
# Gateway and Lambda): 11 MB stops at API Gateway with 413; 7 MB passes it, its Invoke is refused, and API Gateway
# answers 500. Neither runs the function (its log has no new START line), unlike a crash, which also answers 500.
@pytest.mark.parametrize(
    ("megabytes", "status", "message"),
    [(7, 500, "Internal Server Error"), (11, 413, "Request Entity Too Large")],
)
def test_oversized_body_is_refused_before_the_function_runs(bucket, megabytes, status, message):
    def starts() -> int:
        return sum(text.startswith("START RequestId") for _, text in bucket.function_log_messages())

    before = starts()
    assert bucket.send(body_for(valid(9300), bucket.group_id)).status_code == 200
    started = starts()
    assert started == before + 1  # each invocation logs its START line
    bucket.empty_raw_bucket()
    body = body_for(valid(9300 + megabytes, text="a" * megabytes * 1_000_000), bucket.group_id)

    response = bucket.send(body)

    assert (response.status_code, response.json()) == (status, {"message": message})
    assert starts() == started
    assert bucket.raw_keys("") == []

"""The Bot API as real clients see it: methods, parameter encodings, refusal texts and status codes."""

import json
import threading
import time

import pytest
from werkzeug.test import Client

from sandbox.aws.gateway import STAND_IN_ADDRESS
from sandbox.telegram import TelegramSandbox

HOOK = "https://abc123.execute-api.sa-east-1.amazonaws.com/webhook"


@pytest.fixture
def tg():
    sandbox = TelegramSandbox(
        seed=42, resolver=lambda host: STAND_IN_ADDRESS if host.endswith(".amazonaws.com") else None
    )
    yield sandbox
    sandbox.stop()


@pytest.fixture
def client(tg):
    return Client(tg.wsgi_app)


def api(client, tg, method, http="post", **kwargs):
    response = getattr(client, http)(f"/bot{tg.token}/{method}", **kwargs)
    body = response.get_json()
    if not body["ok"]:
        assert response.status_code == body["error_code"]
    return response.status_code, body


def test_token_has_the_real_shape_its_id_follows_the_seed_and_its_secret_does_not():
    first, again, other = TelegramSandbox(seed=1), TelegramSandbox(seed=1), TelegramSandbox(seed=2)
    bot_id, secret = first.token.split(":")
    assert len(bot_id) == 10 and bot_id.isdigit()
    assert len(secret) == 35 and all(c.isalnum() or c in "_-" for c in secret)
    assert first.bot.id == again.bot.id != other.bot.id
    assert first.bot.username == again.bot.username
    assert first.token != again.token  # the secret half is random: no seed predicts it
    fixed = "AA" + "x" * 33
    assert TelegramSandbox(seed=1, token_secret=fixed).token == f"{bot_id}:{fixed}"  # a test may fix it
    reset = TelegramSandbox(seed=1, token_secret=fixed)
    reset.reset(2)
    assert reset.token == f"{other.bot.id}:{fixed}"
    # A new group is a basic group (negative, 10 digits); as a supergroup it gets -100 and 10 digits.
    assert first.group_chat()["type"] == "group" and len(str(first.group_chat_id)) == 11
    first.migrate()
    assert str(first.group_chat_id).startswith("-100") and len(str(first.group_chat_id)) == 14


def test_get_me_reports_privacy_mode_and_real_key_order(client, tg):
    status, body = api(client, tg, "getMe", http="get")
    assert status == 200
    # The keys and order of the Bot API 10.0 server (telegram-bot-api Client.cpp, Client::JsonUser::store).
    assert list(body["result"]) == [
        "id", "is_bot", "first_name", "username", "can_join_groups", "can_read_all_group_messages",
        "supports_inline_queries", "supports_guest_queries", "can_connect_to_business", "has_main_web_app",
        "has_topics_enabled", "allows_users_to_create_topics", "can_manage_bots",
    ]  # fmt: skip
    assert body["result"]["can_read_all_group_messages"] is False
    tg.set_privacy(False)
    assert api(client, tg, "getMe")[1]["result"]["can_read_all_group_messages"] is True


@pytest.mark.parametrize(
    ("path", "status", "description"),
    [
        ("/bot123:short/getMe", 404, "Not Found"),
        ("/bot1234567890:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/getMe", 401, "Unauthorized"),
        ("/botTOKEN/noSuchMethod", 404, "Not Found"),
        ("/nothing/here", 404, "Not Found"),
    ],
)
def test_bad_tokens_and_paths_get_telegrams_errors(client, tg, path, status, description):
    response = client.get(path.replace("TOKEN", tg.token))
    assert response.status_code == status
    assert response.get_json() == {"ok": False, "error_code": status, "description": description}


def test_method_names_are_case_insensitive(client, tg):
    assert api(client, tg, "GETME")[0] == 200
    assert api(client, tg, "getwebhookinfo")[0] == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"query_string": {"limit": "1"}},
        {"data": {"limit": "1"}},
        {"json": {"limit": 1}},
        {"data": {"limit": "1"}, "content_type": "multipart/form-data"},
    ],
    ids=["query", "urlencoded", "json", "multipart"],
)
def test_parameters_are_read_from_every_encoding(client, tg, kwargs):
    status, body = api(client, tg, "getUpdates", **kwargs)
    assert status == 200 and len(body["result"]) == 1


def test_initial_state_has_the_bot_just_added_and_a_command_waiting(client, tg):
    updates = api(client, tg, "getUpdates")[1]["result"]
    assert [next(k for k in u if k != "update_id") for u in updates] == [
        "my_chat_member",
        "message",
        "message",
    ]
    assert updates[0]["my_chat_member"]["new_chat_member"] == {"user": updates[1]["message"]["new_chat_members"][0],
                                                               "status": "member"}  # fmt: skip
    assert updates[2]["message"]["text"].startswith("/start@")
    ids = [u["update_id"] for u in updates]
    assert ids == list(range(ids[0], ids[0] + 3))


def test_offset_confirms_older_updates_and_negative_offset_keeps_the_last(client, tg):
    tg.set_privacy(False)
    for n in range(5):
        tg.post("ana", f"mensagem {n}")
    ids = [u["update_id"] for u in api(client, tg, "getUpdates")[1]["result"]]
    assert len(ids) >= 8
    result = api(client, tg, "getUpdates", data={"offset": str(ids[3])})[1]["result"]
    assert [u["update_id"] for u in result] == ids[3:]
    result = api(client, tg, "getUpdates", data={"offset": "-2"})[1]["result"]
    assert [u["update_id"] for u in result] == ids[-2:]
    # -2 confirmed everything before the last two: offset 0 now starts there
    assert [u["update_id"] for u in api(client, tg, "getUpdates")[1]["result"]] == ids[-2:]
    assert api(client, tg, "getUpdates", data={"offset": str(ids[-1] + 1)})[1]["result"] == []


@pytest.mark.parametrize(("limit", "expected"), [("0", 1), ("2", 2), ("500", 3), ("abc", 1)])
def test_limit_is_clamped_to_1_100(client, tg, limit, expected):
    assert len(api(client, tg, "getUpdates", data={"limit": limit})[1]["result"]) == expected


def test_long_poll_wakes_as_soon_as_an_update_arrives(client, tg):
    last = api(client, tg, "getUpdates")[1]["result"][-1]["update_id"]
    timer = threading.Timer(0.3, tg.post, args=("ana", "/ajuda"))
    timer.start()
    started = time.monotonic()
    body = api(client, tg, "getUpdates", data={"offset": str(last + 1), "timeout": "10"})[1]
    elapsed = time.monotonic() - started
    timer.join()
    assert 0.2 < elapsed < 5
    assert [u["message"]["text"] for u in body["result"]] == ["/ajuda"]


def waiting_poll(tg, offset: int) -> tuple[threading.Thread, dict]:
    """A 20 s getUpdates in a thread, returned once it reached the server; its answer lands in results["poll"]."""
    polls, results = tg.updates.polls, {}

    def poll():
        results["poll"] = api(
            Client(tg.wsgi_app), tg, "getUpdates", data={"offset": str(offset), "timeout": "20"}
        )

    thread = threading.Thread(target=poll)
    thread.start()
    deadline = time.monotonic() + 5
    while tg.updates.polls == polls and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread, results


def test_second_long_poll_terminates_the_first_with_409(client, tg):
    last = api(client, tg, "getUpdates")[1]["result"][-1]["update_id"]
    thread, first = waiting_poll(tg, last + 1)
    second = api(client, tg, "getUpdates", data={"offset": str(last + 1), "timeout": "0"})
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert second[0] == 200
    assert first["poll"][0] == 409
    assert first["poll"][1]["description"] == (
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    )


def test_a_waiting_long_poll_answers_no_updates_at_once_on_reset(client, tg):
    last = api(client, tg, "getUpdates")[1]["result"][-1]["update_id"]
    thread, results = waiting_poll(tg, last + 1)
    tg.reset()
    thread.join(timeout=5)
    assert not thread.is_alive()  # not the 20 s timeout
    assert results["poll"] == (200, {"ok": True, "result": []})


def test_set_webhook_ends_a_waiting_long_poll_with_409(client, tg):
    # telegram-bot-api Client.cpp: process_set_webhook_query calls abort_long_poll(true).
    last = api(client, tg, "getUpdates")[1]["result"][-1]["update_id"]
    thread, results = waiting_poll(tg, last + 1)
    api(client, tg, "setWebhook", data={"url": HOOK})
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert results["poll"] == (
        409,
        {"ok": False, "error_code": 409, "description": "Conflict: terminated by setWebhook request"},
    )


def test_an_offset_more_than_10_past_the_queue_is_ignored(client, tg):
    # td's TQueue::get refuses from_id > tail_id + 10 and Client::do_get_updates then reads from the head:
    # the pending updates are neither confirmed nor hidden (tail_id is the next update id).
    ids = [u["update_id"] for u in api(client, tg, "getUpdates")[1]["result"]]
    next_id = ids[-1] + 1
    assert [
        u["update_id"] for u in api(client, tg, "getUpdates", data={"offset": next_id + 11})[1]["result"]
    ] == ids
    assert api(client, tg, "getUpdates", data={"offset": next_id + 10})[1]["result"] == []
    assert tg.pending_updates() == []


def test_get_updates_is_refused_while_a_webhook_is_set(client, tg):
    assert api(client, tg, "setWebhook", data={"url": HOOK})[1]["description"] == "Webhook was set"
    status, body = api(client, tg, "getUpdates")
    assert status == 409
    assert body["description"] == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
    )


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"url": "http://abc.execute-api.sa-east-1.amazonaws.com/w"}, "bad webhook: An HTTPS URL must be provided for webhook"),
        ({"url": "https://abc.execute-api.sa-east-1.amazonaws.com:5000/w"},
         "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"),
        ({"url": "https://minha-api.invalid/webhook"}, "bad webhook: Failed to resolve host: Name or service not known"),
        ({"url": "https://abc.execute-api.sa-east-1.amazonaws.com:99999/w"}, "invalid webhook URL specified"),
        ({"url": HOOK, "secret_token": "tem espaço"}, "secret token contains unallowed characters"),
        ({"url": HOOK, "secret_token": "a" * 257}, "secret token is too long"),
        # WebhookActor::check_ip_address with td's IPAddress::is_reserved blocks; IPv6 is refused before.
        ({"url": "https://127.0.0.1:8443/webhook"}, "bad webhook: IP address 127.0.0.1 is reserved"),
        ({"url": "https://10.1.2.3/webhook"}, "bad webhook: IP address 10.1.2.3 is reserved"),
        ({"url": "https://192.168.0.10:88/webhook"}, "bad webhook: IP address 192.168.0.10 is reserved"),
        ({"url": "https://169.254.169.254/latest"}, "bad webhook: IP address 169.254.169.254 is reserved"),
        ({"url": "https://100.64.0.1/webhook"}, "bad webhook: IP address 100.64.0.1 is reserved"),
        ({"url": "https://[::1]:8443/webhook"}, "bad webhook: IPv6-only addresses are not allowed"),
        ({"url": "http://127.0.0.1/webhook"}, "bad webhook: An HTTPS URL must be provided for webhook"),
    ],
)  # fmt: skip
def test_set_webhook_refusals_use_telegrams_texts(client, tg, params, description):
    status, body = api(client, tg, "setWebhook", data=params)
    assert (status, body["description"]) == (400, f"Bad Request: {description}")
    assert api(client, tg, "getWebhookInfo")[1]["result"]["url"] == ""


def test_a_name_that_resolves_to_a_reserved_address_is_refused():
    # `localhost` is refused for the address it resolves to, as Telegram checks the resolved address.
    tg = TelegramSandbox(seed=42, resolver=lambda host: "127.0.0.1" if host == "localhost" else None)
    status, body = api(Client(tg.wsgi_app), tg, "setWebhook", data={"url": "https://localhost:8443/hook"})
    assert (status, body["description"]) == (
        400,
        "Bad Request: bad webhook: IP address 127.0.0.1 is reserved",
    )


def test_a_refused_set_webhook_removes_the_webhook_that_was_set(client, tg):
    # Client::process_set_webhook_query closes the old webhook before do_set_webhook checks the new URL.
    clock = [100.0]
    tg.clock.monotonic = lambda: clock[0]
    api(client, tg, "setWebhook", data={"url": HOOK})
    clock[0] += 2
    status, _ = api(client, tg, "setWebhook", data={"url": "https://127.0.0.1:8443/webhook"})
    assert status == 400
    assert api(client, tg, "getWebhookInfo")[1]["result"]["url"] == ""
    assert api(client, tg, "getUpdates")[0] == 200  # no webhook left: getUpdates works again


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        ('["Message", "EDITED_MESSAGE"]', ["message", "edited_message"]),  # lowercased
        ('["message", "mesage"]', ["message"]),  # the unknown name is ignored
        ('["mesage"]', None),  # nothing known left: the default set
        ("[]", None),
        ('["message", 1]', None),  # not all strings: unchanged (still default)
        ("message", None),  # not JSON: silently ignored
        ('{"message": true}', None),  # not an array: ignored
    ],
)
def test_allowed_updates_are_read_as_the_server_reads_them(client, tg, allowed, expected):
    # telegram-bot-api Client.cpp, Client::get_allowed_update_types.
    status, _ = api(client, tg, "getUpdates", data={"allowed_updates": allowed})
    assert status == 200
    assert api(client, tg, "getWebhookInfo")[1]["result"].get("allowed_updates") == expected


def test_set_webhook_answers_set_then_already_set_and_rate_limits(client, tg):
    clock = [100.0]
    tg.clock.monotonic = lambda: clock[0]
    assert api(client, tg, "setWebhook", data={"url": HOOK, "max_connections": "5"})[1]["description"] == (
        "Webhook was set"
    )
    status, body = api(client, tg, "setWebhook", data={"url": HOOK, "max_connections": "5"})
    assert status == 429
    assert body["parameters"] == {"retry_after": 1}
    assert body["description"] == "Too Many Requests: retry after 1"
    clock[0] += 1.5
    assert api(client, tg, "setWebhook", data={"url": HOOK, "max_connections": "5"})[1]["description"] == (
        "Webhook is already set"
    )
    info = api(client, tg, "getWebhookInfo")[1]["result"]
    assert info == {
        "url": HOOK,
        "has_custom_certificate": False,
        "pending_update_count": 3,
        "max_connections": 5,
    }


def test_webhook_info_shows_allowed_updates_only_when_not_default(client, tg):
    api(client, tg, "setWebhook", json={"url": HOOK, "allowed_updates": ["message"], "max_connections": 0})
    info = api(client, tg, "getWebhookInfo")[1]["result"]
    assert info["allowed_updates"] == ["message"] and info["max_connections"] == 1
    tg.post("ana", "/ajuda")
    tg.set_privacy(False)  # my_chat_member updates are not allowed any more
    kinds = {next(k for k in u if k != "update_id") for u in tg.pending_updates()[3:]}
    assert kinds == {"message"}


def test_delete_webhook_can_drop_pending_updates(client, tg):
    api(client, tg, "setWebhook", data={"url": HOOK})
    assert api(client, tg, "deleteWebhook", data={"drop_pending_updates": "True"})[1]["description"] == (
        "Webhook was deleted"
    )
    assert api(client, tg, "deleteWebhook")[1]["description"] == "Webhook is already deleted"
    assert api(client, tg, "getWebhookInfo")[1]["result"] == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }


def test_send_message_returns_a_message_from_the_bot_that_is_not_delivered_back(client, tg):
    before = len(tg.pending_updates())
    status, body = api(
        client,
        tg,
        "sendMessage",
        data={"chat_id": str(tg.group_chat_id), "text": "Olá, turma! 👋 #boasvindas"},
    )
    message = body["result"]
    assert status == 200
    assert list(message) == ["message_id", "from", "chat", "date", "text", "entities"]
    assert message["from"]["is_bot"] is True and message["from"]["id"] == tg.bot.id
    assert {key: message["chat"][key] for key in ("id", "title", "type")} == {
        "id": tg.group_chat_id,
        "title": "Turma de Engenharia de Dados",
        "type": "group",
    }
    assert message["entities"] == [{"offset": 15, "length": 11, "type": "hashtag"}]  # 👋 counts twice
    assert len(tg.pending_updates()) == before
    # a reply to the bot reaches it even with privacy mode on
    reply = tg.post("ana", "Oi, bot!", reply_to=message["message_id"])
    assert reply["update_id"] is not None


@pytest.mark.parametrize(
    ("params", "status", "description"),
    [
        ({"text": "oi"}, 400, "Bad Request: chat_id is empty"),
        ({"chat_id": "-1009999999999", "text": "oi"}, 400, "Bad Request: chat not found"),
        ({"chat_id": "GROUP", "text": ""}, 400, "Bad Request: message text is empty"),
        ({"chat_id": "GROUP", "text": "x" * 4097}, 400, "Bad Request: message is too long"),
        ({"chat_id": "GROUP", "text": "oi", "reply_to_message_id": "9999"}, 400,
         "Bad Request: message to be replied not found"),
        ({"chat_id": "ANA", "text": "oi"}, 403, "Forbidden: bot can't initiate conversation with a user"),
    ],
)  # fmt: skip
def test_send_message_refusals(client, tg, params, status, description):
    params = {k: v.replace("GROUP", str(tg.group_chat_id)).replace("ANA", str(tg.person("ana").id))
              for k, v in params.items()}  # fmt: skip
    assert api(client, tg, "sendMessage", data=params)[0:2] == (status, {
        "ok": False, "error_code": status, "description": description})  # fmt: skip


def test_get_file_and_download_serve_the_announced_size(client, tg):
    photo = tg.post_photo("ana", "Print do erro 👇")["message"]["photo"][-1]
    file = api(client, tg, "getFile", data={"file_id": photo["file_id"]})[1]["result"]
    assert file["file_size"] == photo["file_size"]
    download = client.get(f"/file/bot{tg.token}/{file['file_path']}")
    assert download.status_code == 200 and len(download.data) == photo["file_size"]
    assert (
        api(client, tg, "getFile", data={"file_id": "nope"})[1]["description"]
        == "Bad Request: invalid file_id"
    )


def test_responses_are_compact_ascii_json(client, tg):
    tg.set_privacy(False)
    tg.post("ana", "Ação ✅")
    raw = client.post(f"/bot{tg.token}/getUpdates", data={"offset": "-1"}).data
    assert raw.isascii() and b": " not in raw
    assert json.loads(raw)["result"][0]["message"]["text"] == "Ação ✅"


def test_a_burst_to_the_group_gets_429_after_20_messages_a_minute(client, tg):
    # core.telegram.org/bots/faq: a bot "will not be able to send more than 20 messages per minute to the same
    # group"; the refusal is 429 with parameters.retry_after and a Retry-After header.
    clock = [1000.0]
    tg.clock.monotonic = lambda: clock[0]
    answers = []
    for n in range(40):
        clock[0] += 0.5  # 40 messages in 20 s
        response = client.post(
            f"/bot{tg.token}/sendMessage", data={"chat_id": str(tg.group_chat_id), "text": f"aviso {n}"}
        )
        answers.append((response.status_code, response.get_json(), response.headers.get("Retry-After")))
    assert [status for status, _, _ in answers[:20]] == [200] * 20
    status, body, header = answers[20]
    assert status == 429
    # the first message left at 1000.5 s: the 21st may go a minute later, at 1060.5 s (now: 1010.5 s)
    assert body == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 50",
                    "parameters": {"retry_after": 50}}  # fmt: skip
    assert header == "50"
    assert {status for status, _, _ in answers[20:]} == {429}  # refused sends do not count
    clock[0] = 1060.5
    assert (
        api(client, tg, "sendMessage", data={"chat_id": str(tg.group_chat_id), "text": "de novo"})[0] == 200
    )


def test_more_than_30_messages_a_second_overall_get_429(client, tg):
    # core.telegram.org/bots/faq: "the API will not allow more than 30 messages per second or so".
    clock = [1000.0]
    tg.clock.monotonic = lambda: clock[0]
    people = [p for p in tg.roster.people if not p.is_bot][:15]
    for person in people:
        tg.post(person.id, "oi, bot", private=True)
    chats = [p.id for p in people] * 2 + [
        tg.group_chat_id
    ]  # 31 messages in the same second, 2 per chat at most
    statuses = [api(client, tg, "sendMessage", data={"chat_id": str(c), "text": "oi"})[0] for c in chats]
    assert statuses == [200] * 30 + [429]
    clock[0] += 1
    assert api(client, tg, "sendMessage", data={"chat_id": str(tg.group_chat_id), "text": "oi"})[0] == 200

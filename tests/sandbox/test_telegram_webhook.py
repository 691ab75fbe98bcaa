"""Webhook delivery as Telegram does it, observed through a fake transport."""

import json
import threading
import time

import pytest
from werkzeug.test import Client

from sandbox.aws.gateway import STAND_IN_ADDRESS
from sandbox.telegram import TelegramSandbox

HOOK = "https://abc123.execute-api.sa-east-1.amazonaws.com/webhook"


class FakeTransport:
    """Records every POST; `answer(url, headers, body)` decides the status (or raises)."""

    def __init__(self, answer=None):
        self.calls = []
        self.answer = answer or (lambda update: (200, b""))
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def __call__(self, url, headers, body, timeout):
        update = json.loads(body)
        with self.lock:
            self.calls.append((url, headers, body, update))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            return self.answer(update)
        finally:
            with self.lock:
                self.active -= 1


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def make(transport, time_scale=0.001):
    tg = TelegramSandbox(
        seed=42, transport=transport, resolver=lambda host: STAND_IN_ADDRESS, time_scale=time_scale
    )
    return tg, Client(tg.wsgi_app)


def set_webhook(tg, client, **params):
    response = client.post(f"/bot{tg.token}/setWebhook", data={"url": HOOK, **params})
    assert response.get_json()["ok"], response.get_json()


def post_dated(tg, who, text, date, private=False):
    """A message with a given date (sent from a phone that was offline, say), published as the emulator does."""
    with tg.lock:
        sender = tg.group.person(who)
        chat = sender.private_chat() if private else tg.group.group_chat()
        return tg.group.publish(tg.group.new_message(chat, sender, {"text": text}, date=date), sender)


def webhook_info(tg, client):
    return client.get(f"/bot{tg.token}/getWebhookInfo").get_json()["result"]


@pytest.fixture
def stop_all():
    started = []
    yield started.append
    for tg in started:
        tg.stop()


def test_each_update_is_posted_alone_with_exactly_telegrams_headers(stop_all):
    transport = FakeTransport()
    tg, client = make(transport)
    stop_all(tg)
    expected = [json.dumps(u, separators=(",", ":")).encode() for u in tg.pending_updates()]
    set_webhook(tg, client, secret_token="s3cr3t_Token-1")
    tg.start()
    wait_for(lambda: len(transport.calls) == 3)
    url, headers, body, _ = transport.calls[0]
    assert url == HOOK
    assert headers == {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "X-Telegram-Bot-Api-Secret-Token": "s3cr3t_Token-1",
        "Accept-Encoding": "gzip, deflate",
    }
    assert [call[2] for call in transport.calls] == expected
    wait_for(lambda: webhook_info(tg, client)["pending_update_count"] == 0)


def test_a_5xx_is_retried_and_the_error_text_kept_after_success(stop_all):
    failures = {"left": 2}

    def answer(update):
        if "my_chat_member" in update and failures["left"]:
            failures["left"] -= 1
            return 500, b"Internal Server Error"
        return 200, b""

    transport = FakeTransport(answer)
    tg, client = make(transport)
    stop_all(tg)
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: webhook_info(tg, client)["pending_update_count"] == 0)
    attempts = [c[3]["update_id"] for c in transport.calls]
    assert len(attempts) == 5  # 3 updates, the first one tried three times
    assert attempts.count(attempts[0]) == 3
    info = webhook_info(tg, client)
    assert info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    assert info["last_error_date"] == tg.clock()
    assert list(info) == ["url", "has_custom_certificate", "pending_update_count", "last_error_date",
                          "last_error_message", "max_connections"]  # fmt: skip


@pytest.mark.parametrize(
    ("failure", "text"),
    [
        (TimeoutError("timed out"), "Read timeout expired"),
        (ConnectionRefusedError(111, "refused"), "Connection refused"),
        (ConnectionResetError(104, "reset"), "Webhook connection closed"),
        ((403, b"Forbidden"), "Wrong response from the webhook: 403 Forbidden"),
        ((302, b""), "Wrong response from the webhook: 302 Found"),
    ],
)
def test_failures_are_reported_with_telegrams_texts(stop_all, failure, text):
    def answer(update):
        if isinstance(failure, Exception):
            raise failure
        return failure

    transport = FakeTransport(answer)
    tg, client = make(transport, time_scale=10)  # retries far away: one attempt per test
    stop_all(tg)
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: "last_error_message" in webhook_info(tg, client))
    assert webhook_info(tg, client)["last_error_message"] == text
    assert webhook_info(tg, client)["pending_update_count"] == 3


def test_a_failing_chat_is_held_back_while_another_chat_flows(stop_all):
    tg, client = make(None)
    stop_all(tg)
    group = tg.group_chat_id

    def answer(update):
        message = update.get("message") or {}
        return (500, b"") if message.get("chat", {}).get("id") == group else (200, b"")

    transport = FakeTransport(answer)
    tg.delivery.transport = transport
    tg.set_privacy(False)
    tg.post("ana", "primeira no grupo")
    tg.post("ana", "segunda no grupo")
    private = [tg.post("ana", f"privado {n}", private=True)["update_id"] for n in range(3)]
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: all(u["update_id"] not in private for u in tg.pending_updates()))
    group_ids = [u["update_id"] for u in tg.pending_updates() if "message" in u]
    attempted = {c[3]["update_id"] for c in transport.calls if "message" in c[3]}
    # only the head of the group's queue was ever tried; later group messages wait behind it
    assert group_ids[0] in attempted and not attempted & set(group_ids[1:])
    delivered_private = [c[3]["update_id"] for c in transport.calls if c[3]["update_id"] in private]
    assert delivered_private == private


def test_max_connections_bounds_parallel_requests(stop_all):
    release = threading.Event()

    def answer(update):
        release.wait(2)
        return 200, b""

    transport = FakeTransport(answer)
    tg, client = make(transport)
    stop_all(tg)
    for who in ("ana", tg.roster.people[2].id, tg.roster.people[3].id, tg.roster.people[4].id):
        tg.post(who, "oi, bot", private=True)
    set_webhook(tg, client, max_connections="2")
    tg.start()
    wait_for(lambda: transport.active == 2)
    time.sleep(0.1)
    assert transport.active == 2
    release.set()
    wait_for(lambda: webhook_info(tg, client)["pending_update_count"] == 0)
    assert transport.max_active == 2


def test_a_400_stalls_the_group_behind_it_for_a_day_as_on_telegram(stop_all):
    """What issue 26 is about: a webhook that answers 400 to one group update holds every later group message.

    telegram-bot-api WebhookActor.cpp: handle() takes any status outside 200..299 as "Wrong response from the
    webhook", on_update_error() schedules a retry of that update, and send_update() only ever sends the head of
    each queue (one queue per chat), so the group's later updates wait; private chats have queues of their own.
    The update is dropped once its next retry would fall after its expiry, its date + 24 h (Client.cpp,
    add_message_update: left_time = message_date + 86400 - now)."""
    tg, client = make(None)
    stop_all(tg)
    tg.set_privacy(False)
    odd = tg.post("ana", "mensagem que o webhook recusa")["update_id"]
    later = [tg.post(tg.roster.people[2].id, f"depois {n}")["update_id"] for n in range(3)]
    private = tg.post("ana", "oi, bot", private=True)["update_id"]
    refused = FakeTransport(lambda update: (400, b"") if update["update_id"] == odd else (200, b""))
    tg.delivery.transport = refused
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: [c[3]["update_id"] for c in refused.calls].count(odd) >= 3)
    pending = {u["update_id"] for u in tg.pending_updates()}
    assert {odd, *later} <= pending and private not in pending  # the private chat flowed; the group did not
    assert not {c[3]["update_id"] for c in refused.calls} & set(later)
    info = webhook_info(tg, client)
    assert info["last_error_message"] == "Wrong response from the webhook: 400 Bad Request"
    tg.advance_clock(23 * 3600)  # a day later the group is still stuck behind the same update
    assert {odd, *later} <= {u["update_id"] for u in tg.pending_updates()}
    tg.advance_clock(3600)  # 24 h after its date: dropped, and so are the messages queued behind it
    wait_for(lambda: tg.pending_updates() == [])
    assert not {c[3]["update_id"] for c in refused.calls} & set(later)  # expired unseen: lost to the bot


def test_expiry_counts_from_the_message_date_not_from_when_it_was_queued(stop_all):
    # Client::add_message_update: the update lives until message_date + 86400 (edit_date for an edit), and
    # Client::need_skip_update_message never queues a message dated 24 h ago or more.
    tg, client = make(FakeTransport(lambda update: (500, b"")))
    stop_all(tg)
    tg.set_privacy(False)
    now = tg.clock()
    old = post_dated(tg, "ana", "de ontem", now - 20 * 3600)
    too_old = post_dated(tg, "ana", "velha", now - 86400)
    assert old["update_id"] is not None and too_old["update_id"] is None
    tg.advance_clock(4 * 3600 - 1)
    assert old["update_id"] in {u["update_id"] for u in tg.pending_updates()}
    tg.advance_clock(1)
    assert old["update_id"] not in {u["update_id"] for u in tg.pending_updates()}


@pytest.mark.parametrize(("retry_after", "left", "kept"), [("3600", 5400, True), ("7200", 5400, True),
                                                            ("3600", 1800, False)])  # fmt: skip
def test_retry_after_in_the_webhook_answer_is_honoured_up_to_an_hour(stop_all, retry_after, left, kept):
    # WebhookActor::on_update_error: retry_after clamped to MAX_RETRY_AFTER = 3600 s replaces the backoff,
    # and an update whose next attempt would come after its expiry is dropped.
    transport = FakeTransport(lambda update: (503, b"", {"Retry-After": retry_after}))
    tg, client = make(transport, time_scale=1)
    stop_all(tg)
    with tg.lock:
        tg.updates.drop()
    post_dated(tg, "ana", "oi", tg.clock() - 86400 + left, private=True)
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: len(transport.calls) >= 1)
    time.sleep(0.2)
    assert len(transport.calls) == 1  # no immediate retry: it waits the Retry-After (capped at an hour)
    assert (webhook_info(tg, client)["pending_update_count"] == 1) is kept


@pytest.mark.parametrize("method", ["deleteWebhook", "setWebhook", "close", "logOut", "getMe", "getUpdates"])
def test_methods_a_webhook_answer_may_not_call_are_ignored(stop_all, method):
    # WebhookActor::handle runs a method from a 2xx answer unless it is deletewebhook, setwebhook, close,
    # logout or starts with "get".
    transport = FakeTransport(lambda update: (200, json.dumps({"method": method, "url": ""}).encode()))
    tg, client = make(transport)
    stop_all(tg)
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: webhook_info(tg, client)["pending_update_count"] == 0)
    assert webhook_info(tg, client)["url"] == HOOK


def test_a_generated_week_flows_through_the_webhook_as_simulated_time_passes(stop_all):
    # Telegram never queues a message dated 24 h ago or more (Client.cpp, need_skip_update_message), so the
    # class's week happens while the webhook delivers; the queue looks empty only once the week is over.
    transport = FakeTransport()
    tg, client = make(transport)
    stop_all(tg)
    tg.set_privacy(False)
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: webhook_info(tg, client)["pending_update_count"] == 0)
    start = tg.clock()
    tg.generate(participants=8, days=3, messages_count=300)
    while (info := webhook_info(tg, client))["pending_update_count"]:
        time.sleep(0.005)
    assert tg.status()["scheduled_messages"] == 0  # the queue emptied only when the week had happened
    group = [c[3]["message"] for c in transport.calls if c[3].get("message", {}).get("date", 0) > start]
    assert len(group) > 250
    assert group[-1]["date"] - group[0]["date"] > 2 * 86400
    assert [m["date"] for m in group] == sorted(m["date"] for m in group)
    assert "last_error_message" not in info


def test_undelivered_updates_expire_after_24_hours_of_virtual_time(stop_all):
    transport = FakeTransport(lambda update: (502, b""))
    tg, client = make(transport)
    stop_all(tg)
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: len(transport.calls) >= 3)
    tg.advance_clock(23 * 3600)
    assert webhook_info(tg, client)["pending_update_count"] == 3
    tg.advance_clock(3600)
    assert webhook_info(tg, client)["pending_update_count"] == 0
    calls = len(transport.calls)
    time.sleep(0.2)
    assert len(transport.calls) <= calls + 3  # at most what was already in flight


def test_a_method_in_the_webhook_answer_is_executed(stop_all):
    def answer(update):
        message = update.get("message")
        if message and message.get("text", "").startswith("/start"):
            reply = {
                "method": "sendMessage",
                "chat_id": message["chat"]["id"],
                "text": "Oi! Estou gravando 📼",
            }
            return 200, json.dumps(reply).encode()
        return 200, b""

    transport = FakeTransport(answer)
    tg, client = make(transport)
    stop_all(tg)
    messages_before = tg.status()["messages"]
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: tg.status()["messages"] == messages_before + 1)
    sent = tg.group.message(tg.group_chat_id, messages_before + 1)  # every message so far is in the group
    assert sent["from"]["id"] == tg.bot.id and sent["text"] == "Oi! Estou gravando 📼"


def test_stop_is_prompt_even_with_a_request_in_flight():
    hang = threading.Event()
    transport = FakeTransport(lambda update: (hang.wait(3), (200, b""))[1])
    tg, client = make(transport)
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: transport.active >= 1)
    started = time.monotonic()
    tg.stop()
    assert time.monotonic() - started < 2.5  # the request in flight hangs for 3 s: stop did not wait for it
    hang.set()


def test_default_transport_sends_no_user_agent():
    from werkzeug.serving import make_server

    from sandbox.telegram.webhook import request_headers, requests_transport

    seen = {}

    def app(environ, start_response):
        seen.update({k: v for k, v in environ.items() if k.startswith("HTTP_") or k == "CONTENT_TYPE"})
        start_response("204 No Content", [])
        return [b""]

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = b'{"update_id":1}'
        status, _, _ = requests_transport(
            f"http://127.0.0.1:{server.port}/", request_headers(body, "x"), body, 5
        )
    finally:
        server.shutdown()
    assert status == 204
    assert "HTTP_USER_AGENT" not in seen
    assert seen["CONTENT_TYPE"] == "application/json"
    assert seen["HTTP_ACCEPT_ENCODING"] == "gzip, deflate"
    assert seen["HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"] == "x"

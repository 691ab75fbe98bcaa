"""The live bridge, with a second Telegram emulator standing in for the real Telegram.

The target is a sandbox of its own (free ports, temporary home) deployed by running notebooks 01-03
headless, exactly what a learner deploys. The "real" Telegram is another TelegramSandbox (another seed:
another bot, token, group and update ids) served on a free port in this process.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.test import Client

import sandbox
from sandbox.aws.gateway import STAND_IN_ADDRESS
from sandbox.telegram import TelegramSandbox
from tutorial import setup
from tutorial.bridge import (
    MAX_CONSECUTIVE_FAILURES,
    Bridge,
    BridgeError,
    SandboxTarget,
    TelegramSource,
    resolve_token,
)
from tutorial.harness import isolated_sandbox

ROOT = Path(__file__).resolve().parents[2]
RAW_BUCKET = "telegram-123456789012-sa-east-1-raw"


def wait_for(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout} s")


@pytest.fixture(scope="module")
def target():
    """An isolated sandbox with what notebooks 02 and 03 deploy (bucket, function, API, webhook)."""
    with isolated_sandbox():
        for name in ("BRIDGE_TELEGRAM_BOT_TOKEN", "BRIDGE_TELEGRAM_API_URL"):
            os.environ.pop(name, None)
        setup.prepare("04")
        yield SandboxTarget.running()


@dataclass
class Source:
    tg: TelegramSandbox
    url: str

    def post_messages(self, count: int) -> list[int]:
        """Students write in the group; returns the update ids the bot receives."""
        people = [p for p in self.tg.roster.people if p.in_group and not p.is_bot]
        return [
            self.tg.post(people[1 + i % (len(people) - 1)].id, f"mensagem {i} da turma de verdade")[
                "update_id"
            ]
            for i in range(count)
        ]

    def pending_ids(self) -> list[int]:
        return [update["update_id"] for update in self.tg.pending_updates()]

    def bodies(self) -> dict[int, bytes]:
        """The exact bytes Telegram sends for each pending update."""
        return {
            u["update_id"]: json.dumps(u, separators=(",", ":")).encode() for u in self.tg.pending_updates()
        }


def serve(tg: TelegramSandbox):
    """Serve an emulator on a free port; yields it as a Source."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, tg.wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield Source(tg, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()


def seed_for(request) -> int:
    """Each test gets its own bot, group and update ids, so tests never see each other's objects."""
    return 1000 + zlib.crc32(request.node.name.encode()) % 100_000


@pytest.fixture
def source(request):
    """The "real" Telegram, its bot's privacy mode disabled by the teacher (and the bot re-added)."""
    tg = TelegramSandbox(seed=seed_for(request), resolver=lambda host: STAND_IN_ADDRESS)
    tg.set_privacy(False, readd=True)
    yield from serve(tg)


@pytest.fixture
def source_with_privacy(request):
    """The "real" Telegram with a bot as BotFather creates it: privacy mode on."""
    yield from serve(TelegramSandbox(seed=seed_for(request), resolver=lambda host: STAND_IN_ADDRESS))


def make_bridge(source: Source, target: SandboxTarget, lines: list[str], **options) -> Bridge:
    return Bridge(
        TelegramSource(source.url, source.tg.token),
        target,
        poll_timeout=1,
        out=lines.append,
        sleep=lambda seconds: time.sleep(0.05),
        **options,
    )


def stored(update_ids) -> dict[int, bytes]:
    """Raw objects in the sandbox bucket for these update ids (id -> body); fails on a duplicate key."""
    variables = sandbox.env()
    s3 = boto3.client(
        "s3",
        endpoint_url=variables["AWS_ENDPOINT_URL"],
        region_name="sa-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    wanted = set(update_ids)
    found: dict[int, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=RAW_BUCKET, Prefix="telegram/"):
        for obj in page.get("Contents", []):
            update_id = int(obj["Key"].rsplit("/", 1)[1].removesuffix(".json"))
            if update_id in wanted:
                assert update_id not in found, f"update {update_id} stored twice: {obj['Key']}"
                found[update_id] = s3.get_object(Bucket=RAW_BUCKET, Key=obj["Key"])["Body"].read()
    return found


def function_variables(target: SandboxTarget) -> dict[str, str]:
    return target.lambda_.get_function_configuration(FunctionName="telegram-ingestao")["Environment"][
        "Variables"
    ]


def s3_faults(body: dict) -> None:
    url = sandbox.env()["AWS_ENDPOINT_URL"] + "/_sandbox/s3"
    requests.post(url, json=body, headers=sandbox.control_headers(), timeout=10).raise_for_status()


# ---- the emulator's route for external updates -------------------------------------------------------------
HOOK = "https://abc123.execute-api.sa-east-1.amazonaws.com/webhook"
EXTERNAL = {
    "update_id": 733104216,
    "message": {
        "message_id": 88,
        "from": {"id": 5012345678, "is_bot": False, "first_name": "Júlia", "language_code": "pt-br"},
        "chat": {"id": -1002233445566, "title": "Turma real", "type": "supergroup"},
        "date": 1742223600,
        "text": "Bom dia, turma! ☀️",
    },
}


def emulator_with_webhook(answer):
    """An emulator whose webhook is a recording fake; returns (emulator, test client, calls)."""
    calls = []

    def transport(url, headers, body, timeout):
        calls.append((url, headers, body))
        return answer()

    tg = TelegramSandbox(seed=3, transport=transport, resolver=lambda host: STAND_IN_ADDRESS)
    client = Client(tg.wsgi_app)
    set_hook = client.post(
        f"/bot{tg.token}/setWebhook", data={"url": HOOK, "secret_token": "s3gr3do_da-turma"}
    )
    assert set_hook.get_json()["ok"]
    return tg, client, calls


def test_deliver_route_posts_the_update_once_with_telegrams_body_and_headers():
    tg, client, calls = emulator_with_webhook(lambda: (200, b'{"ok": true}'))
    before = tg.pending_updates()

    answer = client.post("/_sandbox/webhook/deliver", json={"update": EXTERNAL}).get_json()

    assert answer == {
        "ok": True,
        "result": {"update_id": 733104216, "delivered": True, "status": 200, "error": None},
    }
    body = json.dumps(EXTERNAL, separators=(",", ":")).encode()
    assert calls == [
        (
            HOOK,
            {
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                "X-Telegram-Bot-Api-Secret-Token": "s3gr3do_da-turma",
                "Accept-Encoding": "gzip, deflate",
            },
            body,
        )
    ]
    assert tg.pending_updates() == before  # not queued: the bridge owns retries


def test_deliver_route_reports_a_failed_delivery_like_get_webhook_info():
    tg, client, calls = emulator_with_webhook(lambda: (502, b"Bad Gateway"))

    answer = client.post("/_sandbox/webhook/deliver", json={"update": EXTERNAL}).get_json()["result"]

    assert answer["delivered"] is False
    assert answer["error"] == "Wrong response from the webhook: 502 Bad Gateway"
    info = client.get(f"/bot{tg.token}/getWebhookInfo").get_json()["result"]
    assert info["last_error_message"] == "Wrong response from the webhook: 502 Bad Gateway"
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"update": {"message": {"text": "sem id"}}}, "O update precisa ser um objeto JSON com update_id"),
        ({"update": {"update_id": "12", "message": {}}}, "O update precisa ser um objeto JSON com update_id"),
        ({}, "O update precisa ser um objeto JSON com update_id"),
    ],
)
def test_deliver_route_refuses_something_that_is_not_an_update(body, error):
    tg, client, calls = emulator_with_webhook(lambda: (200, b""))
    response = client.post("/_sandbox/webhook/deliver", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(error)
    assert calls == []


def test_deliver_route_without_a_webhook_says_to_run_notebooks_02_and_03():
    client = Client(TelegramSandbox(seed=3).wsgi_app)
    response = client.post("/_sandbox/webhook/deliver", json={"update": EXTERNAL})
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(
        "O sandbox ainda não tem webhook: rode os notebooks 02 e 03"
    )


# ---- updates flow, offsets are confirmed -------------------------------------------------------------------
def test_the_class_messages_land_in_the_raw_bucket_byte_for_byte_and_are_confirmed(source, target):
    source.post_messages(5)
    expected = source.bodies()
    before = function_variables(target)
    lines: list[str] = []
    bridge = make_bridge(source, target, lines)
    bridge.prepare()

    forwarded = bridge.run(exit_when_idle=True)

    assert forwarded == len(expected) >= 8  # the bot re-added to the group, then five messages
    assert stored(expected) == expected
    assert source.pending_ids() == []
    after = function_variables(target)
    assert after["TELEGRAM_CHAT_ID"].split(",") == sorted(
        before["TELEGRAM_CHAT_ID"].split(",") + [str(source.tg.group_chat_id)], key=int
    )
    assert {k: v for k, v in after.items() if k != "TELEGRAM_CHAT_ID"} == {
        k: v for k, v in before.items() if k != "TELEGRAM_CHAT_ID"
    }
    assert any(f"(id {source.tg.group_chat_id}) adicionado a TELEGRAM_CHAT_ID" in line for line in lines)
    for update_id in expected:
        assert any(
            line.startswith(f"update {update_id} · ") and "gravado (HTTP 200)" in line for line in lines
        )
    assert lines[-1] == f"{forwarded} atualização(ões) encaminhada(s) ao sandbox."


def test_max_updates_confirms_only_what_was_forwarded(source, target):
    source.post_messages(4)
    everything = source.pending_ids()
    bridge = make_bridge(source, target, [])
    bridge.prepare()

    assert bridge.run(max_updates=3) == 3

    assert source.pending_ids() == everything[3:]
    assert set(stored(everything)) == set(everything[:3])


def test_a_private_message_is_delivered_and_confirmed_but_not_stored(source, target):
    student = source.tg.roster.people[2]
    update_id = source.tg.post(student.id, "oi bot, é a Ana no privado", private=True)["update_id"]
    lines: list[str] = []
    bridge = make_bridge(source, target, lines)
    bridge.prepare()

    bridge.run(exit_when_idle=True)

    assert source.pending_ids() == []
    assert stored([update_id]) == {}
    assert str(student.id) not in function_variables(target)["TELEGRAM_CHAT_ID"]
    assert any(
        line.startswith(f"update {update_id} · ") and "a função ignora este chat" in line for line in lines
    )


def test_with_chat_id_only_the_chosen_group_is_kept(source, target):
    original = function_variables(target)["TELEGRAM_CHAT_ID"]
    ids = source.post_messages(2)
    chosen = [int(original.split(",")[0])]  # the simulated group only: the real one is not stored
    lines: list[str] = []
    try:
        bridge = make_bridge(source, target, lines, chat_ids=chosen)
        bridge.prepare()
        bridge.run(exit_when_idle=True)
        assert function_variables(target)["TELEGRAM_CHAT_ID"] == str(chosen[0])
    finally:
        target.set_chat_ids(int(part) for part in original.split(","))
    assert source.pending_ids() == []
    assert stored(ids) == {}
    assert f"TELEGRAM_CHAT_ID da função telegram-ingestao agora é {chosen[0]}." in lines


# ---- nothing lost, nothing repeated ------------------------------------------------------------------------
def test_a_restart_after_a_crash_between_delivery_and_confirmation_stores_each_update_once(source, target):
    source.post_messages(3)
    expected = source.bodies()
    crashed = make_bridge(source, target, [])
    crashed.prepare()
    first = crashed._poll()
    for update in first[:4]:
        assert crashed.forward(update)  # stored in the sandbox; the process dies before the next getUpdates
    assert source.pending_ids() == list(expected)

    lines: list[str] = []
    restarted = make_bridge(source, target, lines)
    restarted.prepare()
    assert restarted.run(exit_when_idle=True) == len(expected)

    assert stored(expected) == expected  # the four delivered twice overwrote their own keys
    assert source.pending_ids() == []


def test_an_update_the_sandbox_did_not_store_is_not_confirmed_and_is_retried(source, target):
    (update_id,) = source.post_messages(1)
    lines: list[str] = []
    bridge = make_bridge(source, target, lines)
    bridge.prepare()
    bridge.run(exit_when_idle=True)  # the group's earlier updates; its id is now in TELEGRAM_CHAT_ID
    late = source.post_messages(1)[0]
    update = next(u for u in source.tg.pending_updates() if u["update_id"] == late)

    s3_faults({"fail": True, "status": 503})
    try:
        assert bridge.forward(update) is False
        bridge.confirm()
        assert source.pending_ids() == [late]
    finally:
        s3_faults({"fail": False})
    assert stored([late]) == {}

    s3_faults({"fail": True, "status": 503})
    try:
        failing = threading.Thread(target=bridge.run, kwargs={"exit_when_idle": True}, daemon=True)
        failing.start()
        wait_for(lambda: any(f"Nova tentativa do update {late}" in line for line in lines), what="a retry")
    finally:
        s3_faults({"fail": False})
    failing.join(timeout=30)
    assert not failing.is_alive()
    assert set(stored([update_id, late])) == {update_id, late}
    assert source.pending_ids() == []
    assert any("o sandbox não gravou: Wrong response from the webhook: 5" in line for line in lines)


def test_a_failing_telegram_is_retried_with_a_message_and_nothing_is_lost(source, target):
    ids = source.post_messages(2)
    failures = {"left": 2}
    app = source.tg.wsgi_app

    def flaky(environ, start_response):  # a proxy in front of Telegram that fails twice
        if failures["left"] > 0:
            failures["left"] -= 1
            start_response("502 Bad Gateway", [("Content-Type", "text/html")])
            return [b"<html>502 Bad Gateway</html>"]
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, flaky, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    lines: list[str] = []
    try:
        bridge = Bridge(
            TelegramSource(f"http://127.0.0.1:{server.server_port}", source.tg.token),
            target,
            poll_timeout=1,
            out=lines.append,
            sleep=lambda seconds: None,
        )
        bridge.prepare()
        bridge.run(exit_when_idle=True)
    finally:
        server.shutdown()
        server.server_close()
    assert [line for line in lines if line.startswith("Falha temporária")] == [
        "Falha temporária: o Telegram respondeu 502 (Bad Gateway). Nova tentativa em 1 s.",
        "Falha temporária: o Telegram respondeu 502 (Bad Gateway). Nova tentativa em 2 s.",
    ]
    assert set(stored(ids)) == set(ids)
    assert source.pending_ids() == []


# ---- the command line --------------------------------------------------------------------------------------
def start_cli(source: Source, *args: str) -> tuple[subprocess.Popen, list[str]]:
    environment = {**os.environ, "BRIDGE_TELEGRAM_BOT_TOKEN": source.tg.token, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tutorial", "bridge", "--api-url", source.url, *args],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As from a terminal: a suite started in the background (`cmd &`) passes SIGINT on as ignored, and
        # Python then never turns Ctrl+C into KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
    return process, output


def test_ctrl_c_confirms_what_was_stored_and_a_restart_repeats_nothing(source, target):
    first = source.post_messages(3)
    process, output = start_cli(source, "--timeout", "2")
    try:
        wait_for(
            lambda: any(f"update {first[-1]} · " in line for line in output), what="the bridge forwarding"
        )
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0, "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    text = "".join(output)
    assert "Interrompida (Ctrl+C)" in text
    forwarded = sum(line.startswith("update ") for line in output)
    assert f"{forwarded} atualização(ões) encaminhada(s) ao sandbox." in text
    assert source.pending_ids() == []
    assert source.tg.token not in text

    later = source.post_messages(2)
    lines: list[str] = []
    bridge = make_bridge(source, target, lines)
    bridge.prepare()
    assert bridge.run(exit_when_idle=True) == 2
    assert set(stored(first + later)) == set(first + later)


def test_privacy_mode_is_warned_about_in_portuguese(source_with_privacy, target):
    lines: list[str] = []
    make_bridge(source_with_privacy, target, lines).prepare()
    assert any(
        line.startswith("Aviso: o modo de privacidade do bot está ativado") and "/setprivacy" in line
        for line in lines
    )


def test_no_warning_when_the_bot_reads_every_message_and_a_source_webhook_is_removed(source, target):
    answer = requests.post(
        f"{source.url}/bot{source.tg.token}/setWebhook",
        json={"url": "https://abc123.execute-api.sa-east-1.amazonaws.com/webhook"},
        timeout=10,
    ).json()
    assert answer["ok"], answer
    lines: list[str] = []
    make_bridge(source, target, lines).prepare()
    assert not any("privacidade" in line for line in lines)
    assert any(line.startswith("O bot tinha um webhook no Telegram: removi") for line in lines)
    assert source.tg.webhook is None


def test_without_a_webhook_in_the_sandbox_the_cli_says_to_run_notebooks_02_and_03(source, target):
    info = requests.get(f"{target.api_url}/bot{target.token}/getWebhookInfo", timeout=10).json()["result"]
    secret = function_variables(target)["TELEGRAM_SECRET_TOKEN"]
    requests.post(f"{target.api_url}/bot{target.token}/deleteWebhook", timeout=10).raise_for_status()
    try:
        process, output = start_cli(source, "--timeout", "1")
        assert process.wait(timeout=30) == 1
    finally:
        restored = requests.post(
            f"{target.api_url}/bot{target.token}/setWebhook",
            json={"url": info["url"], "secret_token": secret, "max_connections": info["max_connections"]},
            timeout=10,
        ).json()
        assert restored["ok"], restored
    wait_for(lambda: output, what="the CLI output")
    text = "".join(output)
    assert (
        "Erro: O sandbox ainda não tem webhook: rode os notebooks 02 e 03 (ou python -m tutorial demo)"
        in text
    )
    assert source.tg.token not in text
    assert source.pending_ids()  # nothing was read


def test_a_refused_token_is_a_clear_error_without_the_token(source, target):
    wrong = f"{source.tg.bot.id}:{'A' * 35}"
    bridge = Bridge(TelegramSource(source.url, wrong), target, poll_timeout=1, out=[].append)
    with pytest.raises(BridgeError) as error:
        bridge.prepare()
    assert str(error.value).startswith("O Telegram recusou o token (401 Unauthorized)")
    assert wrong not in str(error.value)


# ---- the token ---------------------------------------------------------------------------------------------
SANDBOX_TOKEN = "7000000001:AAsandboxsandboxsandboxsandboxsandbx"
REAL_TOKEN = "8123456789:AAHrealrealrealrealrealrealrealreal1"


def refuse_to_ask(prompt: str) -> str:
    raise AssertionError("getpass must not be called")


def test_the_bridge_token_variable_comes_first():
    environ = {"BRIDGE_TELEGRAM_BOT_TOKEN": REAL_TOKEN, "TELEGRAM_BOT_TOKEN": "9:other"}
    assert resolve_token(environ, SANDBOX_TOKEN, refuse_to_ask) == REAL_TOKEN


def test_the_sandbox_own_token_in_the_environment_is_skipped_and_getpass_asks():
    prompts: list[str] = []
    token = resolve_token(
        {"TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN},
        SANDBOX_TOKEN,
        lambda p: prompts.append(p) or f" {REAL_TOKEN}\n",
    )
    assert token == REAL_TOKEN
    assert prompts == ["Token do bot (do @BotFather; não aparece na tela): "]


def test_a_real_token_in_telegram_bot_token_is_used():
    assert resolve_token({"TELEGRAM_BOT_TOKEN": REAL_TOKEN}, SANDBOX_TOKEN, refuse_to_ask) == REAL_TOKEN


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Nenhum token informado"),
        (SANDBOX_TOKEN, "Esse é o token falso do sandbox"),
        ("8123456789:curto-demais-e-secreto", "O token não tem o formato"),
    ],
)
def test_a_missing_fake_or_malformed_token_is_refused_without_echoing_it(typed, message):
    with pytest.raises(BridgeError) as error:
        resolve_token({}, SANDBOX_TOKEN, lambda prompt: typed)
    assert str(error.value).startswith(message)
    assert not typed or typed not in str(error.value)


# ---- hardening: the real bot's webhook, https, persistent failures ------------------------------------------
def test_a_webhook_set_on_the_real_bot_meanwhile_stops_the_bridge_before_delivering(source, target):
    (update_id,) = source.post_messages(1)
    lines: list[str] = []
    bridge = make_bridge(source, target, lines)
    bridge.prepare()
    update = next(u for u in source.tg.pending_updates() if u["update_id"] == update_id)
    answer = requests.post(
        f"{source.url}/bot{source.tg.token}/setWebhook",
        json={"url": "https://abc123.execute-api.sa-east-1.amazonaws.com/webhook"},
        timeout=10,
    ).json()
    assert answer["ok"], answer
    with pytest.raises(BridgeError) as error:
        bridge.forward(update)
    assert "Alguém configurou um webhook no bot real" in str(error.value)
    assert stored([update_id]) == {}  # not stolen: it stays for the webhook that now owns it
    assert source.tg.webhook is not None  # and the bridge did not remove someone else's webhook
    assert source.tg.token not in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.telegram.org",
        "http://evil.example:8081",
        "ftp://api.telegram.org",
        "https://",
        "api.telegram.org",
    ],
)
def test_a_custom_api_url_must_be_https_unless_it_is_this_machine(url):
    with pytest.raises(BridgeError) as error:
        TelegramSource(url, REAL_TOKEN)
    assert "https://" in str(error.value) and REAL_TOKEN not in str(error.value)


@pytest.mark.parametrize(
    "url",
    ["https://api.telegram.org", "https://proxy.example/tg/", "http://127.0.0.1:8081", "http://localhost:9"],
)
def test_https_and_loopback_http_api_urls_are_accepted(url):
    assert TelegramSource(url, REAL_TOKEN).api_url == url.rstrip("/")


def test_the_cli_refuses_a_plain_http_api_url(target):
    environment = {**os.environ, "BRIDGE_TELEGRAM_BOT_TOKEN": REAL_TOKEN}
    finished = subprocess.run(
        [sys.executable, "-m", "tutorial", "bridge", "--api-url", "http://api.telegram.org"],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1
    assert "precisa usar https://" in finished.stdout + finished.stderr
    assert REAL_TOKEN not in finished.stdout + finished.stderr


def test_a_telegram_that_keeps_failing_stops_the_bridge_with_a_message(target):
    def broken(environ, start_response):  # a proxy in front of Telegram that never recovers
        start_response("502 Bad Gateway", [("Content-Type", "text/html")])
        return [b"<html>502 Bad Gateway</html>"]

    server = make_server("127.0.0.1", 0, broken, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    lines: list[str] = []
    waits: list[float] = []
    try:
        bridge = Bridge(
            TelegramSource(f"http://127.0.0.1:{server.server_port}", REAL_TOKEN),
            target,
            poll_timeout=1,
            out=lines.append,
            sleep=waits.append,
        )
        with pytest.raises(BridgeError) as error:
            bridge.prepare()
    finally:
        server.shutdown()
        server.server_close()
    assert str(error.value).startswith("Falha persistente: o Telegram respondeu 502 (Bad Gateway)")
    assert "A ponte parou" in str(error.value)
    assert len(waits) == MAX_CONSECUTIVE_FAILURES - 1  # retried, with the backoff, then gave up
    assert sum(waits) > 60


class NeverStores:
    """A sandbox whose webhook keeps answering 500: nothing it is given is stored."""

    function_name = "telegram-ingestao"

    def __init__(self) -> None:
        self.attempts = 0

    def deliver(self, update: dict) -> dict:
        self.attempts += 1
        return {
            "update_id": update["update_id"],
            "delivered": False,
            "status": 500,
            "error": "Wrong response",
        }


def test_an_update_that_is_never_stored_stops_the_bridge_instead_of_retrying_forever(source):
    (update_id,) = source.post_messages(1)
    update = next(u for u in source.tg.pending_updates() if u["update_id"] == update_id)
    target = NeverStores()
    bridge = Bridge(TelegramSource(source.url, source.tg.token), target, out=[].append, sleep=lambda s: None)
    bridge.chat_ids = {update["message"]["chat"]["id"]}
    with pytest.raises(BridgeError) as error:
        bridge._forward_until_stored(update)
    assert f"não gravou o update {update_id} em {MAX_CONSECUTIVE_FAILURES} tentativas" in str(error.value)
    assert target.attempts == MAX_CONSECUTIVE_FAILURES
    assert bridge.offset is None  # nothing confirmed: it comes again next time

"""The simulated class group becomes a supergroup exactly as a Telegram group does (service messages, new id)."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from sandbox import SandboxError
from sandbox.aws.gateway import STAND_IN_ADDRESS
from sandbox.telegram import TelegramSandbox
from tests.sandbox.telegram_reading import read_all
from tests.sandbox.test_telegram_webhook import FakeTransport, make, set_webhook, wait_for

UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"


@pytest.fixture
def tg():
    sandbox = TelegramSandbox(seed=42, resolver=lambda host: STAND_IN_ADDRESS)
    sandbox.set_privacy(False)
    return sandbox


def api(tg, method: str, **params) -> tuple[int, dict]:
    response = Client(tg.wsgi_app).post(f"/bot{tg.token}/{method}", data=params)
    return response.status_code, response.get_json()


def test_a_new_class_group_is_a_basic_group(tg):
    chat = tg.pending_updates()[-1]["message"]["chat"]
    assert chat["type"] == "group" and chat["id"] == tg.group_chat_id
    assert -10_000_000_000 < chat["id"] < -1_000_000_000  # negative, 10 digits
    assert api(tg, "getChat", chat_id=tg.group_chat_id)[1]["result"]["type"] == "group"


def test_migration_sends_both_service_messages_and_later_messages_carry_the_new_id(tg):
    old = tg.group_chat_id
    teacher = tg.roster.people[0]

    result = tg.migrate()
    later = tg.post("ana", "alguém viu o grupo mudar?")

    new = result["new_chat_id"]
    assert result["old_chat_id"] == old and str(new).startswith("-100") and len(str(new)) == 14
    farewell, welcome, message = (update["message"] for update in tg.pending_updates()[-3:])
    # The old chat: a service message from the admin who changed the setting.
    assert farewell["from"]["id"] == teacher.id and farewell["chat"]["id"] == old
    assert farewell["chat"]["type"] == "group" and farewell["migrate_to_chat_id"] == new
    # The new chat starts with a message from GroupAnonymousBot on behalf of the supergroup itself.
    supergroup = {"id": new, "title": "Turma de Engenharia de Dados", "type": "supergroup"}
    assert welcome == {
        "message_id": 1,
        "from": {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"},
        "sender_chat": supergroup,
        "chat": supergroup,
        "date": farewell["date"],
        "migrate_from_chat_id": old,
    }
    assert list(welcome) == ["message_id", "from", "sender_chat", "chat", "date", "migrate_from_chat_id"]
    assert message == later["message"] and message["chat"] == supergroup and message["message_id"] == 2
    assert [u["update_id"] for u in tg.pending_updates()[-3:]] == [*result["update_ids"], later["update_id"]]


def test_bot_api_calls_to_the_old_id_are_refused_with_the_new_id(tg):
    old = tg.group_chat_id
    new = tg.migrate()["new_chat_id"]

    for method in ("sendMessage", "getChat", "getChatMemberCount"):
        status, body = api(tg, method, chat_id=old, text="oi")
        assert (status, body) == (
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": UPGRADED,
                "parameters": {"migrate_to_chat_id": new},
            },
        )
    status, body = api(tg, "sendMessage", chat_id=new, text="Bem-vindos ao supergrupo!")
    assert status == 200 and body["result"]["chat"]["id"] == new


def test_only_an_admin_migrates_and_only_once(tg):
    with pytest.raises(SandboxError, match="não é admin"):
        tg.migrate("ana")
    tg.migrate()
    with pytest.raises(SandboxError, match="já é um supergrupo"):
        tg.migrate()


def test_the_generator_keeps_writing_to_the_new_id(tg):
    new = tg.migrate()["new_chat_id"]
    read_all(tg)

    tg.generate(participants=4, days=1, messages_count=30)

    chats = {u["message"]["chat"]["id"] for u in read_all(tg) if "message" in u}
    assert chats == {new}


def test_migration_is_deterministic(tg):
    again = TelegramSandbox(seed=42, resolver=lambda host: STAND_IN_ADDRESS)
    again.set_privacy(False)
    assert tg.migrate() == again.migrate()
    assert tg.pending_updates() == again.pending_updates()


def test_webhook_delivers_the_supergroups_first_message_before_its_later_ones(stop_all):
    # Telegram keeps one queue per chat: a failing migrate_from holds back the supergroup's later messages.
    failures = {"left": 3}

    def answer(update):
        if "migrate_from_chat_id" in update.get("message", {}) and failures["left"]:
            failures["left"] -= 1
            return 500, b""
        return 200, b""

    transport = FakeTransport(answer)
    tg, client = make(transport)
    stop_all(tg)
    tg.set_privacy(False)
    migration = tg.migrate()
    later = [tg.post("ana", f"mensagem {n}")["update_id"] for n in range(3)]
    set_webhook(tg, client)
    tg.start()
    wait_for(lambda: not tg.pending_updates())

    new_chat = [
        c[3]["update_id"]
        for c in transport.calls
        if c[3].get("message", {}).get("chat", {}).get("id") == migration["new_chat_id"]
    ]
    assert new_chat == [migration["update_ids"][1]] * 4 + later


def test_cli_migrate_explains_what_happened_in_portuguese(tg, capsys, monkeypatch):
    from sandbox.telegram import cli

    def call(method, route, body=None):
        response = Client(tg.wsgi_app).open(f"/_sandbox/{route}", method=method, json=body)
        payload = response.get_json()
        if not payload["ok"]:
            raise cli.CliError(payload["error"])
        return payload["result"]

    monkeypatch.setattr(cli, "call", call)
    old = tg.group_chat_id
    assert cli.main(["chat", "migrate"]) == 0
    out = capsys.readouterr().out
    assert f"o id {old} virou {tg.group_chat_id}" in out and "migrate_to_chat_id" in out
    assert cli.main(["chat", "migrate"]) == 1
    assert "Erro: O grupo já é um supergrupo" in capsys.readouterr().err


@pytest.fixture
def stop_all():
    started = []
    yield started.append
    for sandbox in started:
        sandbox.stop()


def test_control_route_migrates(tg):
    response = Client(tg.wsgi_app).post("/_sandbox/chat/migrate", json={})
    body = response.get_json()
    assert response.status_code == 200 and body["ok"]
    assert body["result"]["new_chat_id"] == tg.group_chat_id
    assert body["result"]["messages"][1]["migrate_from_chat_id"] == body["result"]["old_chat_id"]

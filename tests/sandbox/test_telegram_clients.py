"""Real clients against a real server on a free port: python-telegram-bot and the `chat`/`botfather` CLI."""

import asyncio
import logging
import threading

import pytest
from werkzeug.serving import make_server

from sandbox.telegram import TelegramSandbox
from sandbox.telegram.cli import main as cli

HOOK = "https://abc123.execute-api.sa-east-1.amazonaws.com/webhook"


@pytest.fixture
def served():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    tg = TelegramSandbox(seed=42, resolver=lambda host: host.endswith(".amazonaws.com"))
    server = make_server("127.0.0.1", 0, tg.wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tg, f"http://127.0.0.1:{server.port}"
    server.shutdown()
    tg.stop()


def test_python_telegram_bot_cannot_tell_the_difference(served):
    from telegram import Bot
    from telegram.error import Conflict

    tg, api = served

    async def scenario():
        async with Bot(tg.token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot") as bot:
            me = await bot.get_me()
            assert me.username == tg.bot.username and me.can_read_all_group_messages is False
            updates = await bot.get_updates(timeout=0)
            assert updates[0].my_chat_member.new_chat_member.status == "member"
            assert updates[-1].message.text.startswith("/start")
            sent = await bot.send_message(tg.group_chat_id, "Olá, turma! Vou guardar as mensagens 📼")
            assert sent.chat.id == tg.group_chat_id and sent.from_user.id == tg.bot.id
            assert await bot.set_webhook(HOOK, secret_token="segredo_123", allowed_updates=["message"])
            with pytest.raises(Conflict):
                await bot.get_updates()
            info = await bot.get_webhook_info()
            assert (
                info.url == HOOK and info.pending_update_count == 3 and info.allowed_updates == ("message",)
            )
            assert await bot.delete_webhook(drop_pending_updates=True)
            info = await bot.get_webhook_info()
            assert info.url == "" and info.pending_update_count == 0
            # long polling through the real server wakes when someone posts
            threading.Timer(0.2, tg.post, args=("ana", "/ajuda")).start()
            woke = await bot.get_updates(timeout=10, read_timeout=15)
            assert [u.message.text for u in woke] == ["/ajuda"]

    asyncio.run(scenario())


def test_cli_posts_and_generates_against_the_running_sandbox(served, monkeypatch, capsys):
    tg, api = served
    monkeypatch.setenv("TELEGRAM_API_URL", api)
    assert cli(["chat", "post", "--from", "ana", "--text", "Oi turma #python"]) == 0
    assert "NÃO recebe" in capsys.readouterr().out
    assert cli(["botfather", "setprivacy", "disable"]) == 0
    out = capsys.readouterr().out
    assert "Modo de privacidade desativado" in out and "adicionou de novo" in out
    assert cli(["chat", "post", "--from", "ana", "--text", "Agora vai"]) == 0
    assert "O bot recebe o update" in capsys.readouterr().out
    message_id = tg.pending_updates()[-1]["message"]["message_id"]
    for command in (
        ["chat", "reply", "--from", str(tg.roster.people[2].id), "--to", str(message_id), "--text", "Boa!"],
        ["chat", "edit", "--message-id", str(message_id), "--text", "Agora vai!"],
        ["chat", "photo", "--from", "ana", "--caption", "Print 👇"],
        ["chat", "sticker", "--from", "ana"],
        ["chat", "voice", "--from", "ana", "--duration", "7"],
        ["chat", "join"],
        ["chat", "leave", "--from", "ana"],
    ):
        assert cli(command) == 0, command
    kinds = [next(k for k in u if k != "update_id") for u in tg.pending_updates()[-7:]]
    assert kinds == ["message", "edited_message", "message", "message", "message", "message", "message"]
    capsys.readouterr()
    assert (
        cli(["chat", "generate", "--participants", "6", "--days", "2", "--messages", "200", "--seed", "3"])
        == 0
    )
    assert "Conversa gerada: 200 mensagens" in capsys.readouterr().out
    assert cli(["chat", "participants"]) == 0
    assert "(sem username)" in capsys.readouterr().out


def test_cli_explains_errors_in_portuguese(served, monkeypatch, capsys):
    _, api = served
    monkeypatch.setenv("TELEGRAM_API_URL", api)
    assert cli(["chat", "post", "--from", "fulano", "--text", "oi"]) == 1
    assert "Participante 'fulano' não existe" in capsys.readouterr().err
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:9")
    assert cli(["chat", "participants"]) == 1
    assert "O sandbox não está rodando. Rode: python -m sandbox up" in capsys.readouterr().err

"""Real clients against a real server on a free port: python-telegram-bot, aiogram, pyTelegramBotAPI
(telebot) and the `chat`/`botfather` CLI. Every wait is bounded: a broken emulator fails, never hangs."""

import asyncio
import logging
import threading

import pytest
from werkzeug.serving import make_server

from sandbox.aws.gateway import STAND_IN_ADDRESS
from sandbox.guard import Guard
from sandbox.telegram import TelegramSandbox
from sandbox.telegram import cli as cli_module
from sandbox.telegram.cli import main as cli

HOOK = "https://abc123.execute-api.sa-east-1.amazonaws.com/webhook"
WRONG_TOKEN = "1234567890:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # well-formed, unknown: 401, not 404
# Keys real Telegram still sends but no client models (legacy duplicates of documented fields, and the two
# undocumented keys of a basic group's chat object in messages).
LEGACY_KEYS = {"Message.new_chat_participant", "Message.new_chat_member", "Message.left_chat_participant",
               "Sticker.thumb", "Chat.all_members_are_administrators", "Chat.accepted_gift_types"}  # fmt: skip


@pytest.fixture
def served(monkeypatch):
    """The emulator behind the same guard as in `python -m sandbox up` (Origin/Host checks, control secret)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    tg = TelegramSandbox(
        seed=42, resolver=lambda host: STAND_IN_ADDRESS if host.endswith(".amazonaws.com") else None
    )
    server = make_server("127.0.0.1", 0, tg.wsgi_app, threaded=True)
    secret = "per-run-control-secret"  # noqa: S105 - a test value
    server.app = Guard(tg.wsgi_app, server.port, secret, "telegram")
    monkeypatch.setattr(cli_module, "control_headers", lambda: {"X-Sandbox-Secret": secret})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tg, f"http://127.0.0.1:{server.port}"
    server.shutdown()
    tg.stop()


# ---- helpers -------------------------------------------------------------------------------------------
def aiogram_bot(token: str, api: str):
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))


@pytest.fixture
def telebot_api(served, monkeypatch):
    """pyTelegramBotAPI reads its server from a module global: point it at the sandbox for this test only."""
    from telebot import apihelper

    tg, api = served
    monkeypatch.setattr(apihelper, "API_URL", f"{api}/bot{{0}}/{{1}}")
    monkeypatch.setattr(apihelper, "FILE_URL", f"{api}/file/bot{{0}}/{{1}}")
    return tg


def run(coro, seconds: float = 30):
    """Run an async scenario with a hard deadline."""
    return asyncio.run(asyncio.wait_for(coro, timeout=seconds))


def post_every_kind(tg: TelegramSandbox) -> dict[str, int]:
    """One update of every kind the simulated group produces, bot reading everything; kind -> update_id."""
    tg.set_privacy(False)  # the bot is removed and re-added: two more my_chat_member updates
    colleague, other = tg.roster.people[2].id, tg.roster.people[3].id
    text = tg.post("ana", "Oi turma 😀 #python https://docs.python.org @bruno_lima /ajuda")
    photo = tg.post_photo("ana", "Print do erro 👇 #aws")
    ids = {
        "text": text["update_id"],
        "photo": photo["update_id"],
        "reply": tg.post(colleague, "Concordo!", reply_to=text["message"]["message_id"])["update_id"],
        "sticker": tg.post_sticker("ana")["update_id"],
        "voice": tg.post_voice("ana", 7)["update_id"],
        "document": tg.post_document("ana", "slides_aula_3.pdf", "Slides de hoje")["update_id"],
        "poll": tg.post_poll("ana", "Monitoria quando?", ["18h", "19h", "20h"])["update_id"],
        "location": tg.post_location("ana", -23.5505, -46.6333)["update_id"],
        "edit": tg.edit(text["message"]["message_id"], "Oi turma (editado)")["update_id"],
        "edit_caption": tg.edit(photo["message"]["message_id"], "Legenda nova")["update_id"],
        "join": tg.join()["update_id"],
        "leave": tg.leave("ana")["update_id"],
        "private": tg.post(other, "Oi bot, tudo bem?", private=True)["update_id"],
    }
    ids["my_chat_member"] = next(u["update_id"] for u in tg.pending_updates() if "my_chat_member" in u)
    tg.generate(participants=8, days=2, messages_count=200, seed=3)
    assert None not in ids.values()
    return ids


def aiogram_extra_keys(obj, found: set[str]) -> set[str]:
    """Keys aiogram kept as 'extra' (not in its model) anywhere inside obj: typos or made-up fields."""
    from aiogram.types import TelegramObject

    if isinstance(obj, TelegramObject):
        found.update(f"{type(obj).__name__}.{key}" for key in obj.model_extra or {})
        for name in type(obj).model_fields:
            aiogram_extra_keys(getattr(obj, name), found)
    elif isinstance(obj, list | tuple):
        for item in obj:
            aiogram_extra_keys(item, found)
    return found


def ptb_unknown_keys(obj, found: set[str]) -> set[str]:
    """Keys python-telegram-bot did not recognise (its `api_kwargs`) anywhere inside obj."""
    from telegram import TelegramObject

    if isinstance(obj, TelegramObject):
        found.update(f"{type(obj).__name__}.{key}" for key in obj.api_kwargs)
        for value in obj._get_attrs(recursive=False).values():
            ptb_unknown_keys(value, found)
    elif isinstance(obj, list | tuple):
        for item in obj:
            ptb_unknown_keys(item, found)
    return found


# ---- python-telegram-bot -------------------------------------------------------------------------------
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
            assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
            tg.post("ana", "/ajuda@" + tg.bot.username)
            sent = await bot.send_message(tg.group_chat_id, "Olá, turma! Vou guardar as mensagens 📼")
            assert sent.chat.id == tg.group_chat_id and sent.from_user.id == tg.bot.id
            chat = await bot.get_chat(tg.group_chat_id)
            assert chat.title == "Turma de Engenharia de Dados" and chat.accepted_gift_types is not None
            assert await bot.set_webhook(
                HOOK, secret_token="segredo_123", allowed_updates=["message"], max_connections=5
            )
            with pytest.raises(Conflict):
                await bot.get_updates()
            info = await bot.get_webhook_info()
            assert info.url == HOOK and info.pending_update_count == 1 and info.max_connections == 5
            assert info.allowed_updates == ("message",)
            assert await bot.delete_webhook(drop_pending_updates=True)
            info = await bot.get_webhook_info()
            assert info.url == "" and info.pending_update_count == 0
            # long polling through the real server wakes when someone posts
            threading.Timer(0.2, tg.post, args=("ana", "/ajuda")).start()
            woke = await bot.get_updates(timeout=10, read_timeout=15)
            assert [u.message.text for u in woke] == ["/ajuda"]

    run(scenario())


def test_python_telegram_bot_gets_invalid_token_for_a_wrong_token(served):
    from telegram import Bot
    from telegram.error import InvalidToken

    _, api = served

    async def scenario():
        async with Bot(WRONG_TOKEN, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot") as bot:
            await bot.get_me()

    with pytest.raises(InvalidToken):
        run(scenario())


# ---- aiogram -------------------------------------------------------------------------------------------
def test_aiogram_polls_sends_and_manages_the_webhook_like_on_telegram(served):
    from aiogram.exceptions import TelegramConflictError

    tg, api = served

    async def scenario():
        async with aiogram_bot(tg.token, api) as bot:
            me = await bot.get_me()
            assert (me.id, me.username, me.can_read_all_group_messages) == (tg.bot.id, tg.bot.username, False)
            updates = await bot.get_updates(timeout=0)
            assert updates[0].my_chat_member.new_chat_member.status == "member"
            assert updates[-1].message.text == f"/start@{tg.bot.username}"
            # offset confirms: the server forgets everything below it
            assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []
            assert tg.pending_updates() == []
            # a long poll wakes as soon as someone posts
            threading.Timer(0.2, tg.post, args=("ana", "/ajuda")).start()
            woke = await bot.get_updates(timeout=10, request_timeout=15)
            assert [u.message.text for u in woke] == ["/ajuda"]
            sent = await bot.send_message(tg.group_chat_id, "Olá, turma! 📼", reply_to_message_id=1)
            assert sent.chat.id == tg.group_chat_id and sent.from_user.id == tg.bot.id
            assert sent.reply_to_message.message_id == 1
            assert await bot.set_webhook(
                HOOK,
                secret_token="segredo_123",
                allowed_updates=["message", "edited_message"],
                max_connections=5,
            )
            with pytest.raises(TelegramConflictError, match="webhook is active"):
                await bot.get_updates(timeout=0)
            info = await bot.get_webhook_info()
            assert info.url == HOOK and info.max_connections == 5 and info.pending_update_count == 1
            assert info.allowed_updates == ["message", "edited_message"] and info.last_error_message is None
            assert await bot.delete_webhook(drop_pending_updates=True)
            info = await bot.get_webhook_info()
            assert info.url == "" and info.pending_update_count == 0 and info.max_connections is None

    run(scenario())


def test_clients_read_flood_control_as_on_telegram(served, monkeypatch):
    # A 21st message to the group within a minute is refused with 429 and retry_after (core.telegram.org/bots/faq);
    # python-telegram-bot raises RetryAfter and aiogram TelegramRetryAfter, carrying the seconds to wait.
    from aiogram.exceptions import TelegramRetryAfter
    from telegram import Bot
    from telegram.error import RetryAfter

    tg, api = served
    monkeypatch.setenv(
        "PTB_TIMEDELTA", "1"
    )  # retry_after as a timedelta, as python-telegram-bot 23 will give it

    async def scenario():
        async with Bot(tg.token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot") as bot:
            for n in range(20):
                await bot.send_message(tg.group_chat_id, f"aviso {n}")
            with pytest.raises(RetryAfter) as ptb:
                await bot.send_message(tg.group_chat_id, "mais um")
        async with aiogram_bot(tg.token, api) as bot:
            with pytest.raises(TelegramRetryAfter) as aiogram:
                await bot.send_message(tg.group_chat_id, "mais um")
        return ptb.value, aiogram.value

    ptb, aiogram = run(scenario())
    assert 0 < ptb.retry_after.total_seconds() <= 60 and 0 < aiogram.retry_after <= 60


def test_aiogram_gets_its_unauthorized_error_for_a_wrong_token(served):
    from aiogram.exceptions import TelegramUnauthorizedError

    _, api = served

    async def scenario():
        async with aiogram_bot(WRONG_TOKEN, api) as bot:
            with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
                await bot.get_me()

    run(scenario())


def test_aiogram_second_long_poll_ends_the_first_with_a_conflict(served):
    from aiogram.exceptions import TelegramConflictError

    tg, api = served
    tg.confirm(10**12)  # nothing pending: both polls would wait

    async def scenario():
        async with aiogram_bot(tg.token, api) as bot:
            polls_before = tg.updates.polls
            first = asyncio.create_task(bot.get_updates(timeout=10, request_timeout=15))
            for _ in range(100):  # the second poll must reach the server after the first: wait for it
                if tg.updates.polls > polls_before:
                    break
                await asyncio.sleep(0.05)
            second = asyncio.create_task(bot.get_updates(timeout=1, request_timeout=5))
            with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
                await asyncio.wait_for(first, timeout=5)
            assert await second == []

    run(scenario())


def test_aiogram_dispatcher_answers_a_group_command_through_the_sandbox(served):
    """What a learner writes: a Dispatcher with a /start handler, polling the sandbox."""
    from aiogram import Dispatcher
    from aiogram.filters import CommandStart

    tg, api = served
    dispatcher = Dispatcher()
    answered: asyncio.Future

    @dispatcher.message(CommandStart())
    async def start(message):
        sent = await message.reply("Oi! Vou guardar as mensagens da turma.")
        answered.set_result((message, sent))

    async def scenario():
        nonlocal answered
        answered = asyncio.get_running_loop().create_future()
        bot = aiogram_bot(tg.token, api)
        polling = asyncio.create_task(dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False))
        try:
            return await asyncio.wait_for(answered, timeout=15)
        finally:
            await dispatcher.stop_polling()
            await asyncio.wait_for(polling, timeout=10)

    command, sent = run(scenario())
    assert command.from_user.id == tg.roster.people[1].id  # the student who typed /start@bot
    assert sent.chat.id == tg.group_chat_id and sent.reply_to_message.message_id == command.message_id
    # the bot's answer is in the group: a participant can reply to it, and privacy mode lets that through
    assert tg.post("ana", "Valeu, bot!", reply_to=sent.message_id)["update_id"] is not None


def test_aiogram_reads_chat_info_and_downloads_a_photo(served):
    tg, api = served
    photo = tg.post_photo("ana", "Quadro da aula")["message"]["photo"][-1]
    tg.post("ana", "Oi bot", private=True)
    ana = tg.person("ana")

    async def scenario():
        async with aiogram_bot(tg.token, api) as bot:
            group = await bot.get_chat(tg.group_chat_id)
            private = await bot.get_chat(ana.id)
            members = await bot.get_chat_member_count(tg.group_chat_id)
            file = await bot.get_file(photo["file_id"])
            content = await bot.download_file(file.file_path)
            return group, private, members, file, content.read()

    group, private, members, file, content = run(scenario())
    assert group.title == "Turma de Engenharia de Dados" and group.type == "group"
    assert group.accepted_gift_types.unique_gifts is False
    assert private.first_name == "Ana" and private.accepted_gift_types.unique_gifts is True
    assert members == sum(1 for p in tg.roster.people if p.in_group) + 1
    assert file.file_size == photo["file_size"] == len(content)


def test_every_message_kind_reaches_aiogram_through_get_updates(served):
    tg, api = served
    ids = post_every_kind(tg)

    async def scenario():
        read = []  # the generated conversation happens as the bot reads: a few pages of it
        async with aiogram_bot(tg.token, api) as bot:
            while len(read) < 150:  # aiogram validates each Update on arrival
                offset = read[-1].update_id + 1 if read else None
                read += await bot.get_updates(offset=offset, limit=100, timeout=0)
        return read

    updates = {u.update_id: u for u in run(scenario())}
    assert len(updates) >= 150 and set(ids.values()) <= set(updates)
    kind = {name: updates[update_id] for name, update_id in ids.items()}
    assert kind["photo"].message.caption == "Print do erro 👇 #aws" and len(kind["photo"].message.photo) == 4
    assert kind["poll"].message.poll.options[1].text == "19h"
    assert kind["edit_caption"].edited_message.caption == "Legenda nova"
    assert kind["my_chat_member"].my_chat_member.new_chat_member.user.id == tg.bot.id
    assert kind["private"].message.chat.type == "private"


def test_every_message_kind_parses_in_all_three_clients_with_no_unknown_keys():
    """aiogram validates strictly and keeps unknown keys apart; python-telegram-bot does the same with
    api_kwargs. Only the legacy duplicates Telegram really sends may be unknown: anything else is a made-up
    or misspelled field in the emulator."""
    import telebot
    from aiogram.types import Update as AiogramUpdate
    from telegram import Bot
    from telegram import Update as PtbUpdate

    tg = TelegramSandbox(seed=42)
    ids = post_every_kind(tg)
    raw = {u["update_id"]: u for u in tg.pending_updates()}
    ptb_bot = Bot(tg.token)
    aiogram_unknown: set[str] = set()
    ptb_unknown: set[str] = set()
    for update in raw.values():
        aiogram_extra_keys(AiogramUpdate.model_validate(update), aiogram_unknown)
        ptb_unknown_keys(PtbUpdate.de_json(update, ptb_bot), ptb_unknown)
        assert telebot.types.Update.de_json(update).update_id == update["update_id"]
    assert aiogram_unknown <= LEGACY_KEYS and ptb_unknown <= LEGACY_KEYS

    def aio(name):
        return AiogramUpdate.model_validate(raw[ids[name]])

    def ptb(name):
        return PtbUpdate.de_json(raw[ids[name]], ptb_bot)

    assert {e.type for e in aio("text").message.entities} == {"hashtag", "url", "mention", "bot_command"}
    assert ptb("photo").message.photo[-1].file_size == raw[ids["photo"]]["message"]["photo"][-1]["file_size"]
    assert aio("sticker").message.sticker.thumbnail is not None and ptb("sticker").message.sticker.emoji
    assert aio("voice").message.voice.duration == 7 and ptb("voice").message.voice.mime_type == "audio/ogg"
    assert ptb("document").message.document.file_name == "slides_aula_3.pdf"
    poll = aio("poll").message.poll
    assert [o.persistent_id for o in poll.options] == ["0", "1", "2"] and poll.allows_revoting is True
    assert ptb("poll").message.poll.options[2].text == "20h"
    assert aio("location").message.location.latitude == pytest.approx(-23.5505)
    assert ptb("reply").message.reply_to_message.message_id == raw[ids["text"]]["message"]["message_id"]
    assert ptb("edit").edited_message.edit_date > ptb("edit").edited_message.date
    assert [m.id for m in ptb("join").message.new_chat_members] == [aio("join").message.from_user.id]
    assert aio("leave").message.left_chat_member.first_name == "Ana"
    assert ptb("my_chat_member").my_chat_member.new_chat_member.status == "member"


# ---- pyTelegramBotAPI (telebot) ------------------------------------------------------------------------
def test_telebot_polls_sends_and_manages_the_webhook_like_on_telegram(telebot_api):
    import telebot
    from telebot.apihelper import ApiTelegramException

    tg = telebot_api
    bot = telebot.TeleBot(tg.token, threaded=False)
    me = bot.get_me()
    assert (me.id, me.username, me.can_read_all_group_messages) == (tg.bot.id, tg.bot.username, False)
    updates = bot.get_updates(timeout=5, long_polling_timeout=1)  # updates are pending: answers at once
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    assert updates[-1].message.text == f"/start@{tg.bot.username}"
    # offset confirms; then a long poll (telebot sends timeout as a query string) wakes when someone posts
    threading.Timer(0.3, tg.post, args=("ana", "/ajuda")).start()
    woke = bot.get_updates(offset=updates[-1].update_id + 1, timeout=15, long_polling_timeout=10)
    assert [u.message.text for u in woke] == ["/ajuda"]
    assert [u["message"]["text"] for u in tg.pending_updates()] == ["/ajuda"]
    sent = bot.send_message(tg.group_chat_id, "Olá, turma! 📼", reply_to_message_id=1)
    assert sent.chat.id == tg.group_chat_id and sent.reply_to_message.message_id == 1
    assert bot.set_webhook(HOOK, secret_token="segredo_123", allowed_updates=["message"], max_connections=5)
    with pytest.raises(ApiTelegramException) as conflict:
        bot.get_updates(timeout=5, long_polling_timeout=1)
    assert conflict.value.error_code == 409 and "webhook is active" in conflict.value.description
    info = bot.get_webhook_info()
    assert (info.url, info.max_connections, info.allowed_updates) == (HOOK, 5, ["message"])
    assert info.pending_update_count == 1
    assert bot.delete_webhook(drop_pending_updates=True)
    info = bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0


def test_telebot_gets_a_401_api_exception_for_a_wrong_token(telebot_api):
    import telebot
    from telebot.apihelper import ApiTelegramException

    with pytest.raises(ApiTelegramException) as error:
        telebot.TeleBot(WRONG_TOKEN, threaded=False).get_me()
    assert error.value.error_code == 401 and error.value.description == "Unauthorized"


def test_telebot_polling_loop_answers_a_group_command(telebot_api):
    """What a learner writes with telebot: a message_handler and bot.polling(), stopped from the handler."""
    import telebot

    tg = telebot_api
    bot = telebot.TeleBot(tg.token, threaded=False)
    answered = []

    @bot.message_handler(commands=["start"])
    def start(message):
        answered.append((message, bot.reply_to(message, "Oi! Vou guardar as mensagens da turma.")))
        bot.stop_polling()

    worker = threading.Thread(
        target=bot.polling, kwargs={"non_stop": False, "timeout": 5, "long_polling_timeout": 1}, daemon=True
    )
    worker.start()
    worker.join(timeout=15)
    if worker.is_alive():
        bot.stop_polling()
        worker.join(timeout=5)
        pytest.fail("telebot's polling loop did not answer /start within 15 s")
    [(command, sent)] = answered
    assert command.text == f"/start@{tg.bot.username}" and command.chat.id == tg.group_chat_id
    assert sent.reply_to_message.message_id == command.message_id


# ---- the sandbox's own CLI -----------------------------------------------------------------------------
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


def test_clients_learn_the_new_id_when_calling_a_migrated_group(served, telebot_api):
    """python-telegram-bot raises ChatMigrated and aiogram TelegramMigrateToChat, both carrying the new id read
    from `parameters.migrate_to_chat_id`; pyTelegramBotAPI keeps the whole answer."""
    import telebot
    from aiogram.exceptions import TelegramMigrateToChat
    from telegram import Bot
    from telegram.error import ChatMigrated

    tg, api = served
    old = tg.group_chat_id
    new = tg.migrate()["new_chat_id"]

    async def ptb():
        async with Bot(tg.token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot") as bot:
            with pytest.raises(ChatMigrated) as raised:
                await bot.send_message(old, "Olá, turma!")
            sent = await bot.send_message(raised.value.new_chat_id, "Olá, supergrupo!")
            return raised.value.new_chat_id, sent.chat

    async def aiogram():
        async with aiogram_bot(tg.token, api) as bot:
            with pytest.raises(TelegramMigrateToChat) as raised:
                await bot.get_chat(old)
            return raised.value.migrate_to_chat_id

    new_id, chat = run(ptb())
    assert new_id == new and chat.id == new and chat.type == "supergroup"
    assert run(aiogram()) == new
    with pytest.raises(telebot.apihelper.ApiTelegramException) as raised:
        telebot.TeleBot(tg.token).send_message(old, "Olá")
    assert raised.value.error_code == 400
    assert raised.value.result_json["parameters"] == {"migrate_to_chat_id": new}

"""The simulated class group: privacy mode, message shapes, entities, determinism and the generator."""

import json
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox import SandboxError
from sandbox.telegram import TelegramSandbox
from sandbox.telegram.entities import entity_text, parse_entities
from tests.sandbox.telegram_reading import read_all


@pytest.fixture
def tg():
    return TelegramSandbox(seed=42)


def test_privacy_mode_lets_through_only_commands_replies_and_service_messages(tg):
    bot = tg.bot.username
    assert tg.post("ana", "Bom dia, turma!")["update_id"] is None
    assert tg.post("ana", f"/stats@{bot}")["update_id"] is not None
    assert tg.post("ana", "/ajuda")["update_id"] is not None
    assert tg.post("ana", "/ajuda@outro_bot")["update_id"] is None
    assert tg.join()["update_id"] is not None
    assert tg.post_photo("ana", "sem comando")["update_id"] is None


def test_no_bot_sees_another_bots_messages(tg):
    tg.set_privacy(False)
    assert tg.post("monitor_da_turma_bot", "📌 Lembrete")["update_id"] is None


def test_disabling_privacy_takes_effect_only_after_the_bot_is_readded(tg):
    result = tg.set_privacy(False, readd=False)
    assert result == {"privacy_mode": False, "changed": True, "readded": False, "effective_in_group": False}
    assert tg.post("ana", "ainda invisível")["update_id"] is None
    before = len(tg.pending_updates())
    assert tg.set_privacy(False)["readded"] is True
    added = tg.pending_updates()[before:]
    transitions = [(u["my_chat_member"]["old_chat_member"]["status"], u["my_chat_member"]["new_chat_member"]["status"])
                   for u in added if "my_chat_member" in u]  # fmt: skip
    assert transitions == [("member", "left"), ("left", "member")]
    assert tg.post("ana", "agora o bot vê tudo")["update_id"] is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("🚀 Deploy feito! #aws", [("hashtag", "#aws", 17)]),
        ("👩‍💻 @joao_silva veja https://docs.aws.amazon.com/athena/.", [
            ("mention", "@joao_silva", 6), ("url", "https://docs.aws.amazon.com/athena/", 23)]),
        ("/start@coletor_bot e /ajuda", [("bot_command", "/start@coletor_bot", 0), ("bot_command", "/ajuda", 21)]),
        ("Ação #dúvida 😅 em github.com/turma/projeto", [("hashtag", "#dúvida", 5), ("url", "github.com/turma/projeto", 19)]),
        ("mande para prof@escola.edu.br", [("email", "prof@escola.edu.br", 11)]),
        ("sem entidades aqui, só 100% texto #1", []),
    ],
)  # fmt: skip
def test_entities_use_utf16_offsets(text, expected):
    entities = parse_entities(text)
    assert [(e["type"], entity_text(text, e), e["offset"]) for e in entities] == expected
    assert all(list(e) == ["offset", "length", "type"] for e in entities)


def test_message_shapes_match_telegram(tg):
    tg.set_privacy(False)
    friend = tg.roster.people[2]
    text = tg.post("ana", f"Oi @{friend.username}, tudo bem? 😀")["message"]
    assert list(text) == ["message_id", "from", "chat", "date", "text", "entities"]
    photo = tg.post_photo("ana", "Print do erro 👇 #python")["message"]
    assert "text" not in photo and [e["type"] for e in photo["caption_entities"]] == ["hashtag"]
    assert [list(size) for size in photo["photo"]] == [
        ["file_id", "file_unique_id", "file_size", "width", "height"]
    ] * 4
    assert photo["photo"][0]["width"] <= 90 < photo["photo"][-1]["width"]
    reply = tg.post(friend.id, "Tudo!", reply_to=text["message_id"])["message"]
    assert reply["reply_to_message"] == text
    edited = tg.edit(text["message_id"], "Oi, tudo certo?")
    update = tg.pending_updates()[-1]
    assert update["update_id"] == edited["update_id"] and "edited_message" in update
    assert update["edited_message"]["message_id"] == text["message_id"]
    assert update["edited_message"]["date"] == text["date"] < update["edited_message"]["edit_date"]
    joined = tg.join()["message"]
    assert joined["new_chat_participant"] == joined["new_chat_member"] == joined["new_chat_members"][0]
    assert joined["from"] == joined["new_chat_member"]
    left = tg.leave(joined["from"]["id"])["message"]
    assert left["left_chat_member"] == left["left_chat_participant"] == joined["from"]
    for post in (tg.post_sticker("ana"), tg.post_voice("ana"), tg.post_document("ana", "slides.pdf"),
                 tg.post_poll("ana", "Monitoria?", ["18h", "19h"]), tg.post_location("ana", -23.55, -46.63)):  # fmt: skip
        assert post["update_id"] is not None
    ids = [u["update_id"] for u in tg.pending_updates()]
    assert ids == list(range(ids[0], ids[0] + len(ids)))


def test_unknown_or_absent_participants_get_a_pt_br_error(tg):
    with pytest.raises(SandboxError, match="não existe"):
        tg.post("ninguem", "oi")
    tg.leave("ana")
    with pytest.raises(SandboxError, match="não está no grupo"):
        tg.post("ana", "oi")


def test_same_seed_gives_byte_identical_updates():
    def run(tg):
        tg.set_privacy(False)
        tg.post("ana", "Oi 😀 #python")
        tg.post_photo("ana", "foto")
        tg.generate(participants=8, days=3, messages_count=300)
        return [json.dumps(u) for u in read_all(tg)]

    first = TelegramSandbox(seed=7)
    bodies = run(first)
    first.reset()
    assert run(first) == bodies
    assert run(TelegramSandbox(seed=7)) == bodies
    assert run(TelegramSandbox(seed=8)) != bodies


def test_generator_spreads_a_realistic_mix_over_the_days(tg):
    # Its speed goal (2,000 messages in under 1 s) is measured by `python -m benchmarks.generator`.
    tg.set_privacy(False)
    read_all(tg)  # the opening scene
    start = tg.now
    summary = tg.generate(participants=12, days=7, messages_count=2000, seed=42)
    updates = read_all(tg)
    messages = [m for u in updates if (m := u.get("message") or u.get("edited_message"))]
    dates = [datetime.fromtimestamp(m["date"], ZoneInfo("America/Sao_Paulo")) for m in messages]
    assert min(dates) > start and max(dates) < start + timedelta(days=7)
    assert len({d.date() for d in dates}) >= 7
    hours = Counter(d.hour for d in dates)
    assert sum(hours[h] for h in (19, 20, 21)) > 5 * sum(hours[h] for h in (2, 3, 4))
    weekdays = Counter(d.weekday() for d in dates)
    assert weekdays[2] > weekdays[6]
    assert summary["messages"] == 2000 and tg.status()["scheduled_messages"] == 0
    assert sum("edited_message" in u for u in updates) > 20
    assert sum("reply_to_message" in m for m in messages) > 100
    for key in ("photo", "sticker", "voice", "document", "new_chat_members"):
        assert any(key in m for m in messages), key
    texts = " ".join(m.get("text", "") for m in messages)
    for word in ("Athena", "Lambda", "prazo"):
        assert word in texts
    entity_types = {e["type"] for m in messages for e in m.get("entities", [])}
    assert {"hashtag", "mention", "url"} <= entity_types
    assert len(updates) > 1900  # the other bot's reminders are never delivered


def test_the_generated_week_arrives_as_simulated_time_passes_never_as_a_backlog(tg):
    # Telegram never queues a message dated 24 h ago or more (telegram-bot-api Client.cpp,
    # need_skip_update_message: "don't send messages received/edited more than 1 day ago"), so the class's
    # week reaches the bot as the bot reads: each update is fresh when it is handed over.
    tg.set_privacy(False)
    read_all(tg)
    tg.generate(participants=12, days=7, messages_count=500)
    assert tg.status()["scheduled_messages"] > 400  # only the first hour has happened
    while batch := tg.pending_updates():
        for update in batch:
            message = update.get("message") or update.get("edited_message")
            date = message.get("edit_date") or message["date"]
            assert tg.clock() - date < 2 * 3600  # handed over within the hour it was written
        tg.confirm(batch[-1]["update_id"] + 1)
    assert tg.status()["scheduled_messages"] == 0


def test_a_generated_conversation_cannot_start_while_another_is_under_way(tg):
    tg.generate(participants=4, days=1, messages_count=50)
    with pytest.raises(SandboxError, match="ainda não terminou"):
        tg.generate(participants=4, days=1, messages_count=50)


def test_generated_conversation_respects_privacy_mode(tg):
    summary = tg.generate(participants=12, days=2, messages_count=500)
    assert 0 < len(read_all(tg)) < 50
    assert summary["bot_reads_all_group_messages"] is False


def test_clock_only_moves_forward_and_expires_old_updates(tg):
    before = tg.clock()
    tg.post("ana", "/ajuda")
    assert tg.clock() > before
    with pytest.raises(SandboxError):
        tg.advance_clock(-5)
    tg.advance_clock(24 * 3600)
    assert tg.pending_updates() == []

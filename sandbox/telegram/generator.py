"""A realistic, seeded class conversation: who talks, when (São Paulo rhythm) and what (course chatter).

The conversation is planned at once and happens as simulated time passes (group.py plays it).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from itertools import accumulate
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .. import SandboxError
from . import messages

if TYPE_CHECKING:
    from .group import ClassGroup

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
# Relative activity per local hour: quiet nights, lunch dip, evening classes (19h-22h) busiest.
HOUR_WEIGHTS = [0.3, 0.15, 0.05, 0.03, 0.03, 0.05, 0.2, 0.6, 1.0, 1.6, 1.8, 1.6,
                1.0, 1.1, 1.5, 1.6, 1.4, 1.2, 1.3, 2.6, 3.0, 2.8, 1.8, 0.8]  # fmt: skip
# Monday..Sunday: weekends are calmer.
WEEKDAY_WEIGHTS = [1.0, 1.0, 1.0, 1.0, 0.9, 0.5, 0.35]
KINDS = {
    "text": 66, "reply": 13, "photo": 5, "sticker": 5, "voice": 3, "edit": 4, "document": 1.5, "command": 1.5,
    "join": 0.4, "poll": 0.5, "location": 0.3, "leave": 0.15, "other_bot": 0.7,
}  # fmt: skip

TOPICS = ["Python", "SQL", "AWS", "Lambda", "S3", "Athena", "Glue", "Parquet", "pandas", "boto3", "API Gateway",
          "webhook", "particionamento", "ETL", "IAM", "EventBridge", "DuckDB"]  # fmt: skip
HASHTAGS = ["python", "sql", "aws", "dúvida", "entrega", "athena", "lambda", "dados", "s3", "prazo"]
LINKS = [
    "https://docs.aws.amazon.com/lambda/latest/dg/welcome.html",
    "https://docs.python.org/3/library/json.html",
    "https://pandas.pydata.org/docs/",
    "https://core.telegram.org/bots/api",
    "https://trino.io/docs/current/functions/datetime.html",
    "github.com/turma-dados/projeto-final",
    "https://docs.aws.amazon.com/athena/latest/ug/partitions.html",
]
DEADLINES = ["sexta", "domingo às 23h59", "dia 28", "a próxima aula", "segunda de manhã"]
EMOJI = ["😅", "🚀", "🔥", "🙏", "😩", "🎉", "🤔", "👀", "💸", "☕", "📊", "🐍", "✅", "😂"]
TEXTS = [
    "Alguém conseguiu fazer o {topic} funcionar?",
    "Gente, o prazo do projeto é {deadline}?",
    "Tô travado no {topic} {emoji}",
    "Consegui! {topic} rodando liso {emoji}",
    "Alguém tem material bom de {topic}? Achei esse: {link}",
    "Olha essa documentação de {topic}: {link}",
    "{mention} você viu a aula de {topic}?",
    "Bom dia, turma! ☀️",
    "Aula de hoje foi pesada {emoji} #{hashtag}",
    "Dúvida: por que meu SELECT no Athena escaneou tanto dado? 💸 #{hashtag}",
    "Quem vai na monitoria hoje às 19h?",
    "Lembrando: entrega do projeto até {deadline} ⏰ #{hashtag}",
    "O {topic} tá dando AccessDenied aqui {emoji}",
    "Não esqueçam de apagar os recursos na AWS pra não pagar à toa 💰",
    "kkkkkkk",
    "Alguém sabe filtrar pela partição context_date no Athena?",
    "Rodei o notebook de {topic} e deu erro no boto3 {emoji}",
    "Valeu {mention}! Salvou meu dia {emoji}",
    "Qual a diferença entre JSON e Parquet no S3 mesmo?",
    "Fiz um resumo de {topic} pra quem perdeu a aula #{hashtag}",
    "A Lambda estourou o timeout de 3 s, aumentei pra 30 {emoji}",
    "Partiu estudar {topic} {emoji}",
    "Eu uso o paginator do list_objects_v2, senão só vem 1000 chaves",
    "Hoje tem aula ou é só na quinta?",
    "Quanto custa rodar isso na AWS? Tô com medo da fatura {emoji}",
]
REPLIES = [
    "Concordo!", "Também tive esse problema {emoji}", "Tenta de novo com a região sa-east-1",
    "Isso! Valeu {emoji}", "Acho que é até {deadline}", "Olha aqui: {link}", "Mesma dúvida {emoji}",
    "Resolvi trocando a role do IAM", "Boa pergunta, {mention} sabe?", "kkkk verdade", "Obrigada!",
]  # fmt: skip
CAPTIONS = [None, None, "Print do erro 👇", "Meu dashboard ficou assim 📊", "Quadro da aula de hoje",
            "Olha o custo do Athena #{hashtag}", "Arquitetura do projeto: Telegram → API Gateway → Lambda → S3"]  # fmt: skip
DOCUMENTS = [
    "slides_aula_{n}.pdf",
    "dados_exemplo.csv",
    "exercicio_{n}.ipynb",
    "consulta_{n}.sql",
    "etl_{n}.py",
]
POLLS = [
    ("Que horas fica melhor a monitoria?", ["18h", "19h", "20h"]),
    ("Já fez o deploy da Lambda?", ["Sim 🎉", "Ainda não", "Travei no IAM"]),
]
COMMANDS = ["/start", "/ajuda", "/stats@{bot}", "/resumo@{bot}"]


def _slots(start: int, end: int) -> tuple[list[int], list[float]]:
    """Hourly slots from start to end, weighted by the local hour and weekday in São Paulo."""
    starts, weights = [], []
    for slot in range(start, end, 3600):
        local = datetime.fromtimestamp(slot, SAO_PAULO)
        starts.append(slot)
        weights.append(HOUR_WEIGHTS[local.hour] * WEEKDAY_WEIGHTS[local.weekday()])
    return starts, list(accumulate(weights))


def _fill(rng: random.Random, template: str, people: list, bot_username: str) -> str:
    named = [p for p in people if p.username]
    return template.format(
        topic=rng.choice(TOPICS),
        deadline=rng.choice(DEADLINES),
        emoji=rng.choice(EMOJI),
        link=rng.choice(LINKS),
        hashtag=rng.choice(HASHTAGS),
        mention=f"@{rng.choice(named).username}" if named else "pessoal",
        n=rng.randint(1, 12),
        bot=bot_username,
    )


def generate_conversation(
    group: ClassGroup, participants: int, days: int, count: int, seed: int
) -> tuple[dict, Iterator[int]]:
    """Plan `count` messages by `participants` people over the `days` after the clock (lock held).

    Returns the plan's summary and its script: an iterator that yields the date of the next message, then,
    when advanced, moves the clock to that date and posts it. Telegram never queues a message dated more than
    24 h ago, so the week cannot be written at once as a backlog: it happens as simulated time passes.
    """
    if not 2 <= participants <= 200:
        raise SandboxError("O número de participantes vai de 2 a 200.")
    if not 1 <= days <= 60:
        raise SandboxError("O número de dias vai de 1 a 60.")
    if not 1 <= count <= 50_000:
        raise SandboxError("O número de mensagens vai de 1 a 50000.")
    rng = random.Random(f"telegram-generator:{seed}")
    while len(group.roster.humans()) < participants:
        group.roster.add()
    speakers = group.roster.humans(participants)
    if not any(p.in_group for p in speakers):
        raise SandboxError("Ninguém dessa turma está no grupo: use chat join antes de gerar a conversa.")
    activity = {p.id: (3.0 if p.is_admin else rng.uniform(0.3, 2.0)) for p in speakers}

    start = group.clock() + 1
    end = start + days * 86400
    slot_starts, cumulative = _slots(start - start % 3600, end)
    times = sorted(
        max(start, slot + rng.randrange(min(3600, end - slot)))
        for slot in rng.choices(slot_starts, cum_weights=cumulative, k=count)
    )
    summary = {
        "messages": count,
        "participants": len(speakers),
        "first_date": datetime.fromtimestamp(times[0], timezone.utc).isoformat(),
        "last_date": datetime.fromtimestamp(times[-1], timezone.utc).isoformat(),
        "privacy_mode": group.privacy,
        "bot_reads_all_group_messages": group.bot_reads_all,
    }
    return summary, _script(group, rng, times, speakers, activity, participants)


def _script(group: ClassGroup, rng: random.Random, times: list[int], speakers: list, activity: dict,
            participants: int) -> Iterator[int]:  # fmt: skip
    """Yield each message's date; once resumed, move the clock there and post it (see generate_conversation)."""
    other_bots = [p for p in group.roster.people if p.is_bot]
    kind_names, kind_weights = list(KINDS), list(accumulate(KINDS.values()))
    recent: list[dict] = []  # recent group messages people reply to or edit
    kinds: Counter = Counter()
    for planned in times:
        yield planned
        # The class talked on while the clock was moved past it (a stalled webhook, advance_clock): such
        # messages keep their date, so those more than 24 h old never reach the bot, as on Telegram.
        group.clock.advance(max(0, planned - group.clock()))
        date = planned
        chat = group.group_chat()  # the group may have become a supergroup meanwhile
        kind = rng.choices(kind_names, cum_weights=kind_weights)[0]
        present = [p for p in speakers if p.in_group]
        if not present:
            return  # everyone left meanwhile: the class has nobody left to talk
        weights = [activity[p.id] for p in present]
        sender = rng.choices(present, weights=weights)[0]
        reply_to = None
        if kind == "edit":
            # Someone fixes one of their own recent messages (a typo, a missing link).
            by_id = {p.id: p for p in present}
            own = [m for m in recent[-20:] if m["from"]["id"] in by_id and "text" in m]
            if own:
                original = rng.choice(own)
                sender = by_id[original["from"]["id"]]
                edited = group.revise(original, original["text"] + " (editado)", max(date, original["date"]))
                group.publish(edited, sender, kind="edited_message")
                kinds["edit"] += 1
                continue
            kind = "text"
        if kind == "join" and kinds["join"] >= max(1, participants // 6):
            kind = "text"  # a class grows by a few newcomers in a week, not by a crowd
        if kind == "join":
            person = group.roster.add(in_group=True)
            speakers.append(person)
            activity[person.id] = rng.uniform(0.3, 1.5)
            sender, content = person, messages.new_members_content([person])
        elif kind == "leave" and len(present) > 3 and not sender.is_admin:
            sender.in_group = False
            content = messages.left_member_content(sender)
        elif kind == "reply" and recent:
            reply_to = rng.choice(recent[-30:])["message_id"]
            content = messages.text_content(_fill(rng, rng.choice(REPLIES), present, group.bot.username))
        elif kind == "photo":
            caption = rng.choice(CAPTIONS)
            caption = _fill(rng, caption, present, group.bot.username) if caption else None
            content = messages.photo_content(rng, group.files, caption)
        elif kind == "sticker":
            content = messages.sticker_content(rng, group.files)
        elif kind == "voice":
            content = messages.voice_content(rng, group.files)
        elif kind == "document":
            name = _fill(rng, rng.choice(DOCUMENTS), present, group.bot.username)
            content = messages.document_content(rng, group.files, name, "Material de apoio 📎")
        elif kind == "poll":
            question, options = rng.choice(POLLS)
            content = messages.poll_content(rng, question, options)
        elif kind == "location":
            content = messages.location_content(
                -23.5505 + rng.uniform(-0.1, 0.1), -46.6333 + rng.uniform(-0.1, 0.1)
            )
        elif kind == "command":
            content = messages.text_content(_fill(rng, rng.choice(COMMANDS), present, group.bot.username))
        elif kind == "other_bot" and other_bots:
            sender = other_bots[0]
            content = messages.text_content("📌 Lembrete automático: monitoria hoje às 19h")
        else:
            kind = "text"
            content = messages.text_content(_fill(rng, rng.choice(TEXTS), present, group.bot.username))
        message = group.new_message(chat, sender, content, reply_to, date=date)
        group.publish(message, sender)
        kinds[kind] += 1
        recent.append(message)
        if len(recent) > 60:
            del recent[:30]

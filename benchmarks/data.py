"""Deterministic, realistic raw updates of a class group, laid out as the ingestion function stores them."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
FIRST_DAY = date(2025, 3, 10)
CHAT = {"id": -1001987654321, "title": "Turma de Engenharia de Dados", "type": "supergroup"}
NAMES = ["Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Heitor", "Isabela", "João",
         "Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago", "Vitória", "Yuri"]  # fmt: skip
TOPICS = ["S3", "Lambda", "Athena", "Parquet", "IAM", "API Gateway", "pandas", "SQL", "particionamento"]
TEXTS = [
    "Bom dia, turma! ☀️",
    "Alguém conseguiu rodar o notebook de {topic}?",
    "A aula de hoje sobre {topic} foi ótima 👏",
    "Vou revisar {topic} antes da prova, alguém topa estudar junto?",
    "Dúvida: o Athena cobra por dados lidos mesmo quando a consulta falha?",
    "Errei a permissão do {topic} de novo 😅 agora foi",
    "Qual a diferença entre JSON e Parquet na prática?",
    "Obrigado pela ajuda, {name}!",
    "Alguém sabe por que minha função demora tanto na primeira chamada?",
    "Hoje aprendi que o {topic} tem limite de 1.000 objetos por página 🤯",
]
HASHTAGS = ["#dados", "#AWS", "#python", "#dúvida", "#athena"]


def utf16_entity(text: str, part: str, kind: str) -> dict:
    start = text.index(part)
    return {"offset": len(text[:start].encode("utf-16-le")) // 2, "length": len(part.encode("utf-16-le")) // 2,
            "type": kind}  # fmt: skip


class Group:
    """A simulated class: members, ids that only grow, one random generator seeded for repeatable data."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)
        self.members = [
            {"id": 5_500_000_000 + 7919 * n, "is_bot": False, "first_name": name, "username": f"{name.lower()}{n}",
             "language_code": "pt-br"}
            for n, name in enumerate(NAMES)
        ]  # fmt: skip
        self.update_id = 600_000_000
        self.message_id = 0

    def next_update_id(self) -> int:
        self.update_id += 1
        return self.update_id

    def text_message(self, user: dict) -> dict:
        pick = self.random.choice
        text = pick(TEXTS).format(topic=pick(TOPICS), name=pick(NAMES))
        entities = []
        if self.random.random() < 0.3:
            tag = pick(HASHTAGS)
            text = f"{text} {tag}"
            entities.append(utf16_entity(text, tag, "hashtag"))
        if self.random.random() < 0.15:
            mention = "@" + pick(self.members)["username"]
            text = f"{text} {mention}"
            entities.append(utf16_entity(text, mention, "mention"))
        if self.random.random() < 0.1:
            url = "https://docs.aws.amazon.com/pt_br/athena/"
            text = f"{text} {url}"
            entities.append(utf16_entity(text, url, "url"))
        return {"text": text, **({"entities": entities} if entities else {})}

    def content(self, user: dict) -> dict:
        roll = self.random.random()
        if roll < 0.72:
            return self.text_message(user)
        if roll < 0.84:
            photo = {"photo": [{"file_id": f"AgACAgEAAx0C{self.message_id}", "file_unique_id": f"AQAD{self.message_id}",
                                "file_size": 48211, "width": 1280, "height": 960}]}  # fmt: skip
            if roll < 0.80:
                photo["caption"] = f"Print do erro no {self.random.choice(TOPICS)} 📸"
            return photo
        if roll < 0.90:
            return {"sticker": {"width": 512, "height": 512, "emoji": "😂", "set_name": "HotCherry",
                                "is_animated": True, "is_video": False, "type": "regular",
                                "file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADsticker"}}  # fmt: skip
        if roll < 0.93:
            return {
                "voice": {
                    "duration": 7,
                    "mime_type": "audio/ogg",
                    "file_id": "AwACAgE",
                    "file_unique_id": "AgAD",
                }
            }
        if roll < 0.95:
            return {"document": {"file_name": "exercicio.ipynb", "mime_type": "application/x-ipynb+json",
                                 "file_id": "BQACAgE", "file_unique_id": "AgADdoc"}, "caption": "Minha solução"}  # fmt: skip
        if roll < 0.96:
            return {"location": {"latitude": -23.55052, "longitude": -46.633308}}
        if roll < 0.98:
            return {"poll": {"id": str(5_000_000 + self.message_id), "question": "Quem vai na monitoria?",
                             "options": [{"text": "Eu", "voter_count": 0}, {"text": "Não posso", "voter_count": 0}],
                             "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
                             "allows_multiple_answers": False}}  # fmt: skip
        return {"new_chat_members": [user], "new_chat_member": user, "new_chat_participant": user}


def raw_updates(count: int, days: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """`count` raw objects (key, JSON body) over `days` days; about 1 in 10 is an edit of an earlier message."""
    group = Group(seed)
    per_day = [count // days + (1 if day < count % days else 0) for day in range(days)]
    for day_index, total in enumerate(per_day):
        day = FIRST_DAY + timedelta(days=day_index)
        opening = int(datetime.combine(day, time(7, 0), SAO_PAULO).timestamp())
        spacing = max(1, (16 * 3600) // max(total, 1))  # messages spread over 07:00-23:00
        sent: list[dict] = []
        for n in range(total):
            update_id = group.next_update_id()
            moment = opening + n * spacing
            if sent and group.random.random() < 0.1:
                original = group.random.choice(sent)
                edited = {**original, "edit_date": moment, "text": original["text"] + " (editado)"}
                update = {"update_id": update_id, "edited_message": edited}
            else:
                group.message_id += 1
                user = group.random.choice(group.members)
                body = {"message_id": group.message_id, "from": user, "chat": CHAT, "date": moment,
                        **group.content(user)}  # fmt: skip
                if "text" in body:
                    sent.append(body)
                update = {"update_id": update_id, "message": body}
            key = f"telegram/context_date={day.isoformat()}/{update_id}.json"
            yield key, json.dumps(update, ensure_ascii=False).encode("utf-8")


def day_range(days: int) -> tuple[str, str]:
    return FIRST_DAY.isoformat(), (FIRST_DAY + timedelta(days=days - 1)).isoformat()

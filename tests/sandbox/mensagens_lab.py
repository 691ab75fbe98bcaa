"""The tutorial's `mensagens` table on a small, hand-made class: enriched Parquet in the ETL's own schema.

Shared by the Athena tests that compare the sandbox with an independent computation (pandas over the same
rows) and with other clients (awswrangler). The texts carry what analysts trip over: accents, emoji (with a
skin-tone modifier), NULLs, empty hashtag lists, and messages near midnight in São Paulo (UTC-3 in 2024).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lambda_function import enriched_schema

CHAT_ID = -1001234567890
SAO_PAULO = timezone(timedelta(hours=-3))  # no daylight saving time in 2024


def _utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


# (message_id, user_id, first_name, username, UTC time, text, type, edited after s, hashtags, reply_to)
_MESSAGES = [
    (101, 11, "Ana", "ana_s", "2024-01-05 12:00:00", "Bom dia, turma!", "text", None, [], None),
    (102, 22, "Bruno", None, "2024-01-05 13:30:15", "ação e reação #sql", "text", 60, ["#sql"], 101),
    (103, 11, "Ana", "ana_s", "2024-01-05 23:59:59", "👍🏽", "text", None, [], 102),
    (104, 33, "Çécile", "cecile", "2024-01-06 02:30:00", "Olá MUNDO olá", "text", None, [], None),
    (105, 22, "Bruno", None, "2024-01-06 15:00:00", None, "sticker", None, [], None),
    (
        106,
        11,
        "Ana",
        "ana_s",
        "2024-01-06 15:00:00",
        "#dados #sql #aws",
        "text",
        3600,
        ["#dados", "#sql", "#aws"],
        None,
    ),
    (107, 44, "Dário", None, "2024-01-06 21:10:00", "café ☕ às 18h", "text", None, [], 106),
    (108, 33, "Çécile", "cecile", "2024-01-07 00:05:00", "São Paulo: ótimo!", "text", 5, [], None),
    (109, 22, "Bruno", None, "2024-01-07 10:15:00", "ok", "text", None, [], 108),
    (110, 11, "Ana", "ana_s", "2024-01-07 10:45:30", "#sql é vida", "text", None, ["#sql"], None),
    (111, 44, "Dário", None, "2024-01-07 18:00:00", None, "photo", None, [], None),
    (112, 11, "Ana", "ana_s", "2024-01-07 23:00:00", "tchau 👋", "text", 120, [], 110),
]


def utc_time(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)


def mensagens_rows() -> list[dict]:
    """The enriched rows, one dict per message (context_date = the UTC day, as the Lambda writes it)."""
    rows = []
    for message_id, user, name, username, when, text, kind, edited, tags, reply in _MESSAGES:
        date = _utc(when)
        local = datetime.fromtimestamp(date, SAO_PAULO).replace(tzinfo=None)
        rows.append(
            {
                "message_id": message_id,
                "user_id": user,
                "user_is_bot": False,
                "user_first_name": name,
                "chat_id": CHAT_ID,
                "chat_type": "supergroup",
                "text": text,
                "date": date,
                "update_id": 900000 + message_id,
                "sent_at_local": local,
                "message_type": kind,
                "text_length": len(text) if text is not None else None,
                "reply_to_message_id": reply,
                "message_thread_id": None,
                "edit_date": date + edited if edited is not None else None,
                "user_username": username,
                "sender_chat_id": None,
                "hashtag_count": len(tags),
                "mention_count": 0,
                "link_count": 0,
                "hashtags": tags,
                "context_date": when[:10],
            }
        )
    return rows


def frame() -> pd.DataFrame:
    """The same rows as pandas sees them (the oracle's input)."""
    return pd.DataFrame(mensagens_rows())


def upload(s3, bucket: str, prefix: str = "telegram") -> dict[str, int]:
    """Writes `{prefix}/context_date=DAY/part-0.parquet` per day, as the ETL does; returns each file's size."""
    schema = enriched_schema()
    sizes = {}
    rows = mensagens_rows()
    for day in sorted({r["context_date"] for r in rows}):
        day_rows = [
            {k: v for k, v in r.items() if k != "context_date"} for r in rows if r["context_date"] == day
        ]
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(day_rows, schema=schema), sink)
        s3.put_object(Bucket=bucket, Key=f"{prefix}/context_date={day}/part-0.parquet", Body=sink.getvalue())
        sizes[day] = len(sink.getvalue())
    return sizes

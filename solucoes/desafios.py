"""Reference solutions of the Desafios (for the teacher): each one written as a learner would, in its notebook.

Every function takes the names the notebook already defined (`updates`, `lambda_`, `query`, ...) and returns what
goes in `resposta`. tests/test_desafios.py runs them in a sandbox where notebooks 01 to 05 ran.
"""

from __future__ import annotations

import json
from collections import Counter


# --- 01: getUpdates -------------------------------------------------------------------------------------------------
def s01_1(updates: list[dict]) -> str:
    """Who sent the group's last text message: the last `message` with `text`, its `from.first_name`."""
    texts = [u["message"] for u in updates if "text" in u.get("message", {})]
    return texts[-1]["from"]["first_name"]


def s01_2(updates: list[dict]) -> int:
    """Text messages written by people in the group."""
    return sum(
        1
        for u in updates
        if "text" in u.get("message", {})
        and u["message"]["chat"]["type"] in ("group", "supergroup")
        and u["message"].get("from", {}).get("is_bot") is False
    )


# --- 02: the ingestion function -------------------------------------------------------------------------------------
def s02_1(lambda_, test_event: dict, function_name: str) -> dict:
    """An update from a private chat, signed like test_event: the function answers 200 and stores nothing."""
    update = {
        "update_id": 2,
        "message": {
            "message_id": 1,
            "from": {"id": 42, "is_bot": False, "first_name": "Alguém"},
            "chat": {"id": 42, "first_name": "Alguém", "type": "private"},
            "date": 1742223600,
            "text": "oi, bot",
        },
    }
    event = {**test_event, "body": json.dumps(update)}
    answer = json.loads(
        lambda_.invoke(FunctionName=function_name, Payload=json.dumps(event))["Payload"].read()
    )
    assert answer["statusCode"] == 200
    return event


def s02_2() -> str:
    """Any other answer makes Telegram send the same update again and hold the group's next ones."""
    return "b"


# --- 03: the raw bucket ---------------------------------------------------------------------------------------------
def _raw(s3, bucket: str) -> list[dict]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="telegram/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return [(key, json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) for key in keys]


def s03_1(s3, raw_bucket: str) -> int:
    """`message` updates from people (not bots) in the raw bucket."""
    return sum(
        1
        for _, u in _raw(s3, raw_bucket)
        if "message" in u and u["message"].get("from", {}).get("is_bot") is False
    )


def s03_2(s3, raw_bucket: str) -> str:
    """The partition (the day in the group's time zone) with the most messages from people."""
    days = Counter(
        key.split("context_date=")[1][:10]
        for key, u in _raw(s3, raw_bucket)
        if "message" in u and u["message"].get("from", {}).get("is_bot") is False
    )
    return days.most_common(1)[0][0]


# --- 04: the enriched Parquet (the `messages` DataFrame of notebook 04) ---------------------------------------------
def s04_1(messages) -> int:
    people = messages[messages["user_is_bot"] == False]  # noqa: E712 - a pandas column, not a bool
    return int(people["text"].dropna().str.split().str.len().sum())


def s04_2(messages) -> int:
    return int(messages["edit_date"].notna().sum())


def s04_3(source: str) -> str:
    """The three edits to lambda_function.py that add the word count; then redeploy the ETL and run the backfill.

    Returns the edited source (the test deploys it); the answer is the new column's name, "palavras".
    """
    edits = [
        ("    hashtags: list[str]\n", "    hashtags: list[str]\n    palavras: int | None\n"),
        (
            "        hashtags=hashtags(text, entities),\n",
            "        hashtags=hashtags(text, entities),\n        palavras=len(text.split()) if text is not None else None,\n",
        ),
        (
            '            pa.field("hashtags", pa.list_(pa.string()), nullable=False),\n',
            '            pa.field("hashtags", pa.list_(pa.string()), nullable=False),\n'
            '            pa.field("palavras", pa.int32()),\n',
        ),
    ]
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


# --- 05: Athena (the `query` function of notebook 05) ---------------------------------------------------------------
def s05_1(query) -> dict[str, list[str]]:
    counts = query("""
    SELECT context_date, tag, count(*) AS vezes
    FROM mensagens CROSS JOIN UNNEST(hashtags) AS t(tag)
    WHERE user_is_bot = false
    GROUP BY context_date, tag
    ORDER BY context_date, vezes DESC, tag
    """)
    return {day: list(group["tag"].head(3)) for day, group in counts.groupby("context_date")}


def s05_2(query) -> int:
    hours = query("""
    SELECT hour(from_unixtime(date, 'America/Sao_Paulo')) AS hora, count(*) AS mensagens
    FROM mensagens
    WHERE user_is_bot = false
    GROUP BY 1
    ORDER BY mensagens DESC, hora
    LIMIT 1
    """)
    return int(hours["hora"].iloc[0])


def s05_3(query) -> tuple[str, str]:
    pairs = query("""
    SELECT r.user_first_name AS quem_responde, o.user_first_name AS a_quem, count(*) AS respostas
    FROM mensagens r
    JOIN mensagens o ON o.chat_id = r.chat_id AND o.message_id = r.reply_to_message_id
    WHERE r.user_is_bot = false AND o.user_is_bot = false
    GROUP BY 1, 2
    ORDER BY respostas DESC, 1, 2
    LIMIT 1
    """)
    return (pairs["quem_responde"].iloc[0], pairs["a_quem"].iloc[0])

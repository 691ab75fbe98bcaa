"""The end-of-notebook exercises ("Desafios") and `conferir`, the check under each one.

Each check computes the expected answer itself, from the learner's own data (the updates `getUpdates` returned,
the raw bucket, the enriched Parquet lake, the deployed function's configuration), never from the sandbox's seed,
and never shows it. It also computes what each typical mistake would give (UTC instead of the group's time zone,
the bots' messages counted, hashtags in another case, ...) so a wrong answer gets the hint for its mistake.

Why not otter-grader or nbgrader: both compare an answer with values fixed when the assignment is written (otter's
test files; nbgrader's hidden tests, graded later by the teacher), and otter prints the failing test, expected
value included. Here every learner has a different group, so the expected answer only exists at check time; and a
learner on Colab or in a plain script has only the project's dependencies (boto3, pandas, pyarrow).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from tutorial.contract import KEY_PREFIX, active

UNANSWERED = "ainda não respondido"
HASHTAG = re.compile(r"#\w+")


class Verdict(NamedTuple):
    kind: str  # "correct", "wrong" or "unanswered"
    message: str  # pt-BR, what the learner reads


class NoData(Exception):
    """The learner's data the check needs is not there yet; the message (pt-BR) says which notebook makes it."""


class Mistake(NamedTuple):
    """What a typical mistake would answer, and the hint for it."""

    matches: Callable[[object], bool]
    hint: str


def conferir(desafio: str, resposta: object, **dados) -> None:
    """Check a Desafio's answer on the learner's own data and print the verdict (in Portuguese)."""
    print(avaliar(desafio, resposta, **dados).message)


def avaliar(desafio: str, resposta: object, **dados) -> Verdict:
    """The verdict on `resposta`; `dados` are what a check needs from the notebook (01's `updates`)."""
    if desafio not in CHECKS:
        known = ", ".join(CHECKS)
        return Verdict("wrong", f"Desafio {desafio!r} não existe: use um destes: {known}.")
    if resposta is ...:
        return Verdict("unanswered", f"Desafio {desafio}: {UNANSWERED}. Troque o `...` pela sua resposta.")
    try:
        accepts, mistakes, explanation = CHECKS[desafio](**dados)
    except NoData as missing:
        return Verdict("wrong", f"Desafio {desafio}: ainda não dá para conferir: {missing}")
    if accepts(resposta):
        return Verdict("correct", f"Desafio {desafio}: certo! {explanation}")
    for mistake in mistakes:
        if mistake.matches(resposta):
            return Verdict("wrong", f"Desafio {desafio}: ainda não. Dica: {mistake.hint}")
    return Verdict(
        "wrong", f"Desafio {desafio}: ainda não. Releia o enunciado e confira o formato da resposta."
    )


# --- The learner's data ---------------------------------------------------------------------------------------------
def group_timezone() -> ZoneInfo:
    """The group's time zone, as the deployed functions read it (TIMEZONE, São Paulo by default)."""
    return ZoneInfo(os.environ.get("TIMEZONE", "America/Sao_Paulo"))


def _buckets() -> tuple[object, str, str]:
    import boto3

    session = boto3.session.Session()
    account = session.client("sts").get_caller_identity()["Account"]
    s3 = session.client("s3")
    # The learner's own buckets: in a class sharing one account, the ones with their user name (the setup cell's).
    names = active()
    return (
        s3,
        names.bucket(account, session.region_name, "raw"),
        names.bucket(account, session.region_name, "enriched"),
    )


def _keys(s3, name: str, suffix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=KEY_PREFIX)
    return sorted(
        item["Key"] for page in pages for item in page.get("Contents", []) if item["Key"].endswith(suffix)
    )


def raw_updates() -> list[dict]:
    """Every update in the raw bucket (telegram/), each with the `context_date` of its key."""
    s3, raw, _ = _buckets()
    updates = []
    for key in _keys(s3, raw, ".json"):
        try:
            update = json.loads(s3.get_object(Bucket=raw, Key=key)["Body"].read())
        except ValueError:
            continue
        if isinstance(update, dict):
            updates.append({**update, "context_date": key.split("context_date=")[1].split("/")[0]})
    if not updates:
        raise NoData(f"o bucket {raw} não tem nenhum update em telegram/ (o notebook 03 liga o webhook).")
    return updates


def lake():
    """The enriched lake (every day's Parquet), read with pyarrow, not through Athena."""
    import pandas as pd
    import pyarrow.parquet as pq

    s3, _, enriched = _buckets()
    frames = []
    for key in _keys(s3, enriched, ".parquet"):
        frame = pq.read_table(io.BytesIO(s3.get_object(Bucket=enriched, Key=key)["Body"].read())).to_pandas()
        frame["context_date"] = key.split("context_date=")[1].split("/")[0]
        frames.append(frame)
    if not frames:
        raise NoData(
            f"o bucket {enriched} ainda não tem Parquet em telegram/ (o ETL do notebook 04 o escreve)."
        )
    return pd.concat(frames, ignore_index=True)


# --- Answer shapes ---------------------------------------------------------------------------------------------------
def _name(value: object) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _int(value: object) -> int | None:
    """An integer answer, also from numpy and from a one-cell DataFrame or Series."""
    if hasattr(value, "to_numpy"):
        items = value.to_numpy().ravel()
        value = items[0] if len(items) == 1 else None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value)


def _equals(expected: object, shape: Callable[[object], object]) -> Callable[[object], bool]:
    return lambda answer: expected is not None and shape(answer) == expected


# --- 01: getUpdates -------------------------------------------------------------------------------------------------
def _group_messages(updates: list[dict]) -> list[dict]:
    return [
        update["message"]
        for update in updates
        if isinstance(update.get("message"), dict)
        and update["message"].get("chat", {}).get("type") in ("group", "supergroup")
    ]


def check_01_1(updates: list[dict] | None = None):
    """Who sent the group's last text message."""
    updates = _needs_updates(updates)
    texts = [m for m in _group_messages(updates) if "text" in m]
    last = texts[-1]["from"].get("first_name") if texts else None
    first = texts[0]["from"].get("first_name") if texts else None
    last_any = next(
        (p.get("from", {}) for u in reversed(updates) for k, p in u.items() if k != "update_id"), {}
    )
    mistakes = [
        Mistake(
            lambda a: _name(a) == (texts[-1]["from"].get("username") if texts else None),
            "isso é o `username` (o @); a pergunta pede o nome, o campo `first_name` de `from`.",
        ),
        Mistake(
            lambda a: _name(a) == first and first != last,
            "getUpdates entrega do mais antigo para o mais novo: a última mensagem é a do fim da lista "
            "(`[-1]`), não a do começo.",
        ),
        Mistake(
            lambda a: _name(a) == last_any.get("first_name") and last_any.get("first_name") != last,
            "o último update não é uma mensagem de texto (pode ser `my_chat_member`, o bot entrando no grupo): "
            "filtre os updates com `message` que têm `text`.",
        ),
    ]
    return (
        _equals(last, _name),
        mistakes,
        "É quem aparece em `from` na última mensagem de texto de `updates`.",
    )


def check_01_2(updates: list[dict] | None = None):
    """How many text messages people (not bots) wrote in the group."""
    updates = _needs_updates(updates)
    messages = _group_messages(updates)
    texts = [m for m in messages if "text" in m]
    people = [m for m in texts if not m.get("from", {}).get("is_bot")]
    mistakes = [
        Mistake(
            _equals(len(updates), _int),
            "nem todo update é uma mensagem: `my_chat_member` (o bot entrando ou saindo) também é update.",
        ),
        Mistake(
            _equals(len(texts), _int),
            "essa conta inclui as mensagens de bots: conte só as com `from.is_bot` falso.",
        ),
        Mistake(
            _equals(len([m for m in messages if not m.get("from", {}).get("is_bot")]), _int),
            "fotos, figurinhas e entradas no grupo também vêm em `message`, mas sem `text`: conte só as com `text`.",
        ),
    ]
    return _equals(len(people), _int), mistakes, "Só `message` com `text`, de pessoas, no grupo."


def _needs_updates(updates: list[dict] | None) -> list[dict]:
    if updates is None:
        raise TypeError("passe os updates do notebook: conferir(desafio, resposta, updates=updates)")
    return updates


# --- 02: the ingestion function -------------------------------------------------------------------------------------
def _function_settings() -> dict[str, str]:
    import boto3

    config = boto3.client("lambda").get_function_configuration(FunctionName=active().ingestion_function)
    return config.get("Environment", {}).get("Variables", {})


def _event_update(event: object) -> dict | None:
    if not isinstance(event, dict) or not isinstance(event.get("body"), str):
        return None
    try:
        update = json.loads(event["body"])
    except ValueError:
        return None
    return update if isinstance(update, dict) and isinstance(update.get("update_id"), int) else None


def _event_chat(event: object) -> int | None:
    update = _event_update(event) or {}
    payload = next((value for key, value in update.items() if key != "update_id"), None)
    chat = payload.get("chat") if isinstance(payload, dict) else None
    return chat.get("id") if isinstance(chat, dict) else None


def _event_secret(event: object) -> str | None:
    headers = event.get("headers") if isinstance(event, dict) else None
    if not isinstance(headers, dict):
        return None
    return next((v for k, v in headers.items() if k.lower() == "x-telegram-bot-api-secret-token"), None)


def check_02_1():
    """The event of an update from another chat: answered 200, nothing stored."""
    settings = _function_settings()
    group = {int(part) for part in settings.get("TELEGRAM_CHAT_ID", "").split(",") if part.strip()}
    s3, raw, _ = _buckets()
    stored = {key.rsplit("/", 1)[1] for key in _keys(s3, raw, ".json")}

    def secret_ok(event):
        return _event_secret(event) == settings.get("TELEGRAM_SECRET_TOKEN")

    def accepts(event):
        update = _event_update(event)
        chat = _event_chat(event)
        return (
            secret_ok(event)
            and update is not None
            and chat is not None
            and chat not in group
            and f"{update['update_id']}.json" not in stored
        )

    mistakes = [
        Mistake(
            lambda e: not isinstance(e, dict) or "body" not in e,
            "a resposta é o evento (o dicionário) que você passou ao `invoke`, como `test_event`.",
        ),
        Mistake(
            lambda e: not secret_ok(e),
            "sem o cabeçalho `x-telegram-bot-api-secret-token` a função responde 401 (e com um segredo errado, 403), não 200: "
            "copie os `headers` de `test_event`.",
        ),
        Mistake(
            lambda e: _event_update(e) is None,
            "o corpo (`body`) precisa ser um update em JSON (`json.dumps`) com `update_id`; qualquer outra coisa "
            "com o segredo certo vai para a quarentena.",
        ),
        Mistake(
            lambda e: _event_chat(e) in group,
            "esse `chat.id` é o do grupo: a função gravou a mensagem. Use outro chat, por exemplo um chat "
            'privado: `"chat": {"id": 123, "type": "private"}` (o id de uma pessoa é positivo).',
        ),
        Mistake(
            lambda e: f"{(_event_update(e) or {}).get('update_id')}.json" in stored,
            "já existe no bucket bruto um objeto com esse `update_id` (de uma mensagem do grupo): use um "
            "`update_id` que ainda não foi gravado.",
        ),
    ]
    return (
        accepts,
        mistakes,
        "A função respondeu 200 e não gravou nada: o update não é do grupo (`belongs_to_group`).",
    )


CHOICES_02_2 = {
    "a": "a função não sabe recusar requisições.",
    "c": "o API Gateway troca qualquer resposta da função por 200.",
}


def check_02_2():
    """Why 200 for an update from another chat (multiple choice, a/b/c)."""

    def choice(answer):
        return answer.strip().lower().strip("()") if isinstance(answer, str) else None

    mistakes = [
        Mistake(
            lambda a: choice(a) == "a",
            "ela recusa, sim: sem o segredo, responde 401 (a última célula do notebook mostra). Pense no que o "
            "Telegram faz quando recebe uma resposta que não é 2xx.",
        ),
        Mistake(
            lambda a: choice(a) == "c",
            "a integração AWS_PROXY devolve ao Telegram o `statusCode` da função, seja ele qual for (o 401 da "
            "última célula chegou ao `requests` como 401).",
        ),
    ]
    return (
        lambda a: choice(a) == "b",
        mistakes,
        "Com outra resposta, o Telegram reenviaria o mesmo update e seguraria os seguintes do grupo.",
    )


# --- 03: the raw bucket ---------------------------------------------------------------------------------------------
def _is_person(payload: dict) -> bool:
    sender = payload.get("from")
    return isinstance(sender, dict) and sender.get("is_bot") is False


def check_03_1():
    """How many `message` updates from people the raw bucket stored."""
    updates = raw_updates()
    messages = [u["message"] for u in updates if isinstance(u.get("message"), dict)]
    edits = [u for u in updates if isinstance(u.get("edited_message"), dict)]
    people = sum(_is_person(m) for m in messages)
    mistakes = [
        Mistake(_equals(len(updates), _int), "isso é o total de objetos: nem todo update é `message`."),
        Mistake(_equals(len(messages), _int), "essa conta inclui os bots: conte só `from.is_bot` falso."),
        Mistake(
            _equals(people + sum(_is_person(u["edited_message"]) for u in edits), _int),
            "`edited_message` é a edição de uma mensagem que já foi contada: conte só os updates `message`.",
        ),
    ]
    return _equals(people, _int), mistakes, "Cada update `message` de uma pessoa é um objeto `.json`."


def _day(value: object) -> str | None:
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    return value.strip()[:10] if isinstance(value, str) else None


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _busiest(counter: Counter) -> set:
    """Every key with the highest count (a tie has more than one right answer)."""
    if not counter:
        return set()
    top = max(counter.values())
    return {key for key, count in counter.items() if count == top}


def check_03_2():
    """The day (in the group's time zone) with the most messages from people."""
    tz = group_timezone()
    messages = [u["message"] for u in raw_updates() if isinstance(u.get("message"), dict)]
    people = [m for m in messages if _is_person(m)]

    def days(items, zone):
        return Counter(datetime.fromtimestamp(m["date"], zone).date().isoformat() for m in items)

    right = _busiest(days(people, tz))
    utc = _busiest(days(people, timezone.utc)) - right
    with_bots = _busiest(days(messages, tz)) - right
    shifted = {_next_day(day) for day in right} - right
    mistakes = [
        Mistake(lambda a: _day(a) in utc, "esse é o dia em UTC: use o fuso do grupo (`America/Sao_Paulo`)."),
        Mistake(lambda a: _day(a) in with_bots, "essa conta inclui as mensagens de bots."),
        Mistake(
            lambda a: _day(a) in shifted,
            "um dia depois do certo: confira a conversão da data (o dia começa à meia-noite no fuso do grupo).",
        ),
        Mistake(
            lambda a: _day(a) is None,
            "responda com o dia como texto no formato AAAA-MM-DD, por exemplo '2025-03-17'.",
        ),
    ]
    return (
        lambda a: _day(a) in right,
        mistakes,
        "É também a partição (`context_date`) com mais mensagens de pessoas.",
    )


# --- 04: the enriched Parquet --------------------------------------------------------------------------------------
def _people_rows(rows):
    return rows[rows["user_is_bot"].eq(False)] if len(rows) else rows


def check_04_1():
    """Total words people wrote (text and captions), split on whitespace."""
    rows = lake()
    texts = rows["text"].dropna() if len(rows) else []
    people = _people_rows(rows)["text"].dropna() if len(rows) else []
    words = int(sum(len(t.split()) for t in people))
    mistakes = [
        Mistake(
            _equals(int(sum(len(t.split()) for t in texts)), _int),
            "essa conta inclui as mensagens de bots (`user_is_bot`).",
        ),
        Mistake(
            _equals(int(_people_rows(rows)["text_length"].fillna(0).sum()) if len(rows) else 0, _int),
            "isso é a soma de `text_length`, que conta caracteres, não palavras.",
        ),
        Mistake(
            _equals(int(sum(len(t.split(" ")) for t in people)), _int),
            '`split(" ")` conta espaços repetidos e não separa linhas: use `split()` sem argumento.',
        ),
    ]
    return _equals(words, _int), mistakes, "Legendas de fotos contam: a coluna `text` traz a legenda."


def check_04_2():
    """How many messages were edited: rows with `edit_date`, checked against the raw edits."""
    edits = [u["edited_message"] for u in raw_updates() if isinstance(u.get("edited_message"), dict)]
    edited = {(e["chat"]["id"], e["message_id"]) for e in edits}
    rows = lake()
    mistakes = [
        Mistake(
            _equals(len(edits), _int) if len(edits) != len(edited) else (lambda a: False),
            "isso conta os updates `edited_message` do bucket bruto, e uma mensagem editada duas vezes "
            "conta duas vezes: o ETL funde as edições numa linha só por mensagem.",
        ),
        Mistake(
            _equals(int(rows["edit_date"].isna().sum()) if len(rows) else 0, _int),
            "essas são as linhas sem `edit_date` (as nunca editadas): use `notna()`.",
        ),
    ]
    return _equals(len(edited), _int), mistakes, "Uma linha por mensagem, com a versão mais nova do texto."


# The enriched columns as the project ships them (tests/test_desafios.py keeps this equal to enriched_schema()): a
# learner's own column is any other one.
SHIPPED_COLUMNS = (
    "message_id", "user_id", "user_is_bot", "user_first_name", "chat_id", "chat_type", "text", "date", "update_id",
    "sent_at_local", "message_type", "text_length", "reply_to_message_id", "message_thread_id", "edit_date",
    "user_username", "sender_chat_id", "hashtag_count", "mention_count", "link_count", "hashtags",
)  # fmt: skip


def _column_matches(rows, name: str, count: Callable[[str], int]) -> bool:
    """Every row with text holds count(text); a row without text holds nothing (or 0)."""
    import pandas as pd

    for text, value in zip(rows["text"], rows[name], strict=True):
        missing = bool(pd.isna(value))  # None, NaN or pandas' NA
        if isinstance(text, str):
            if missing or value != count(text):
                return False
        elif not (missing or value == 0):
            return False
    return True


def check_04_3():
    """A column of the learner's own in the ETL: the words of `text`, redeployed and in the Parquet."""
    rows = lake()
    columns = [str(name) for name in rows.columns if name != "context_date"]

    def own(answer):
        name = _name(answer)
        return name if name in columns and name not in SHIPPED_COLUMNS else None

    def holds(count):
        return lambda answer: own(answer) is not None and _column_matches(rows, own(answer), count)

    mistakes = [
        Mistake(
            lambda a: _name(a) is None,
            "responda com o nome da coluna nova, como texto (por exemplo 'palavras').",
        ),
        Mistake(
            lambda a: _name(a) in SHIPPED_COLUMNS,
            "essa coluna já vinha no ETL: crie uma nova, com o número de palavras de `text`.",
        ),
        Mistake(
            lambda a: _name(a) not in columns,
            "o Parquet ainda não tem essa coluna. Confira as três mudanças em lambda_function.py (o campo em "
            "`MessageRow`, o valor em `message_row` e o campo em `enriched_schema`), rode de novo a célula que "
            "monta o pacote e atualiza a função e depois a do backfill.",
        ),
        Mistake(
            lambda a: own(a) is not None and rows[own(a)].isna().all(),
            "a coluna existe, mas está vazia: o valor precisa ser calculado em `message_row`.",
        ),
        Mistake(
            holds(len), "essa coluna conta caracteres (`len(text)`), não palavras: use `len(text.split())`."
        ),
        Mistake(
            holds(lambda t: len(t.split(" "))),
            '`split(" ")` conta espaços repetidos e não separa linhas: use `split()` sem argumento.',
        ),
    ]
    return (
        holds(lambda t: len(t.split())),
        mistakes,
        "O ETL reimplantado escreveu a coluna nova em todos os dias do backfill.",
    )


# --- 05: questions about the conversation ---------------------------------------------------------------------------
def _local(rows, tz: ZoneInfo):
    import pandas as pd

    return pd.to_datetime(rows["date"], unit="s", utc=True).dt.tz_convert(tz)


def _tag(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip() if value.strip().startswith("#") else f"#{value.strip()}"


def _tags_by_day(answer: object) -> dict[str, list[str]] | None:
    if hasattr(answer, "to_dict") and hasattr(answer, "columns"):  # a DataFrame: one row per (day, hashtag)
        columns = list(answer.columns)
        if len(columns) < 2:
            return None
        grouped: dict[str, list] = {}
        for day, tag in answer[columns[:2]].itertuples(index=False):
            grouped.setdefault(_day(day), []).append(tag)
        answer = grouped
    if not isinstance(answer, dict):
        return None
    result = {}
    for day, tags in answer.items():
        if _day(day) is None or not isinstance(tags, list | tuple) or not all(_tag(t) for t in tags):
            return None
        result[_day(day)] = [_tag(t) for t in tags]
    return result


def _top3_ok(counts: dict[str, Counter], answer: dict[str, list[str]] | None) -> bool:
    """Each day's three most used hashtags; ties at the cut may be answered with any of the tied tags."""
    if answer is None:
        return False
    for day in set(counts) | set(answer):
        counter, tags = counts.get(day, Counter()), answer.get(day, [])
        best = sorted(counter.values(), reverse=True)[:3]
        if len(set(tags)) != len(tags) or sorted((counter.get(t, 0) for t in tags), reverse=True) != best:
            return False
    return True


def _hashtag_counts(day, per_row) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for when, tags in zip(day, per_row, strict=True):
        if len(tags):
            counts.setdefault(when, Counter()).update(tags)
    return counts


def check_05_1():
    """The three most used hashtags of each day (group's time zone, people only, case folded by the ETL)."""
    rows = lake()
    people = _people_rows(rows)

    def texts(frame):
        return [HASHTAG.findall(t) if isinstance(t, str) else [] for t in frame["text"]]

    right = _hashtag_counts(people["context_date"], [list(t) for t in people["hashtags"]])
    cased = _hashtag_counts(people["context_date"], texts(people))
    utc_days = _local(people, timezone.utc).dt.strftime("%Y-%m-%d")
    utc = _hashtag_counts(utc_days, [list(t) for t in people["hashtags"]])
    bots = _hashtag_counts(rows["context_date"], [list(t) for t in rows["hashtags"]])
    shifted = {_next_day(day): counter for day, counter in right.items()}

    def upper(answer):
        answer = _tags_by_day(answer)
        return answer is not None and any(t != t.lower() for tags in answer.values() for t in tags)

    mistakes = [
        Mistake(
            lambda a: upper(a) or (_top3_ok(cased, _tags_by_day(a)) and cased != right),
            "#Dados e #dados são a mesma hashtag: conte em minúsculas (a coluna `hashtags` do ETL já vem assim).",
        ),
        Mistake(
            lambda a: _top3_ok(utc, _tags_by_day(a)) and utc != right,
            "esses dias estão em UTC: uma mensagem das 22h em São Paulo cai no dia seguinte. Agrupe por "
            "`context_date` (o dia no fuso do grupo).",
        ),
        Mistake(
            lambda a: _top3_ok(shifted, _tags_by_day(a)),
            "os dias estão deslocados de um: confira como você converteu a data (o dia é `context_date`).",
        ),
        Mistake(
            lambda a: _top3_ok(bots, _tags_by_day(a)) and bots != right,
            "essa conta inclui as mensagens de bots: filtre `user_is_bot = false`.",
        ),
        Mistake(
            lambda a: _tags_by_day(a) is None,
            "responda com um dicionário {'AAAA-MM-DD': ['#tag1', '#tag2', '#tag3'], ...} ou com o DataFrame da "
            "consulta (colunas: dia, hashtag).",
        ),
    ]
    return (
        lambda a: _top3_ok(right, _tags_by_day(a)),
        mistakes,
        "Empates na terceira posição aceitam qualquer uma das hashtags empatadas.",
    )


def _hour(value: object) -> int | None:
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d{1,2})\s*(h|:00)?\s*", value)
        value = int(match.group(1)) if match else None
    hour = _int(value)
    return hour if hour is not None and 0 <= hour < 24 else None


def check_05_2():
    """The group's busiest hour, in its own time zone, counting people's messages."""
    rows, tz = lake(), group_timezone()
    people = _people_rows(rows)
    right = _busiest(Counter(_local(people, tz).dt.hour))
    utc = _busiest(Counter(_local(people, timezone.utc).dt.hour)) - right
    bots = _busiest(Counter(_local(rows, tz).dt.hour)) - right
    mistakes = [
        Mistake(
            lambda a: _hour(a) in utc,
            "essa é a hora em UTC: converta com `from_unixtime(date, 'America/Sao_Paulo')` (ou use "
            "`hour(sent_at_local)`).",
        ),
        Mistake(
            lambda a: _hour(a) in bots,
            "essa conta inclui as mensagens de bots: filtre `user_is_bot = false`.",
        ),
        Mistake(
            lambda a: _hour(a) is None, "responda com a hora como número inteiro, de 0 a 23 (por exemplo 14)."
        ),
    ]
    return lambda a: _hour(a) in right, mistakes, "É a hora que as pessoas viam no celular."


def _pair(value: object) -> tuple[str, str] | None:
    if hasattr(value, "to_numpy"):
        value = list(value.to_numpy().ravel())[:2]
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return (value[0].strip(), value[1].strip())
    return None


def check_05_3():
    """Who replies most to whom: (who replies, to whom), by first name."""
    rows = lake()
    authors = {(r.chat_id, r.message_id): r for r in rows.itertuples()}

    def pairs(only_people: bool) -> Counter:
        counter = Counter()
        for r in rows.itertuples():
            original = authors.get((r.chat_id, r.reply_to_message_id))
            if original is None or r.user_first_name is None or original.user_first_name is None:
                continue
            if only_people and (r.user_is_bot is not False or original.user_is_bot is not False):
                continue
            counter[(r.user_first_name, original.user_first_name)] += 1
        return counter

    right = _busiest(pairs(True))
    bots = _busiest(pairs(False)) - right
    reversed_ = {(b, a) for a, b in right} - right
    mistakes = [
        Mistake(
            lambda a: _pair(a) in reversed_,
            "a ordem está trocada: primeiro quem responde (a resposta), depois a quem (a mensagem original).",
        ),
        Mistake(lambda a: _pair(a) in bots, "essa conta inclui bots, de um lado ou do outro: só pessoas."),
        Mistake(
            lambda a: _pair(a) is None,
            "responda com dois nomes, quem responde e a quem: por exemplo ('Ana', 'Bruno').",
        ),
    ]
    return (
        lambda a: _pair(a) in right,
        mistakes,
        "A resposta liga `reply_to_message_id` ao `message_id` da mensagem original.",
    )


CHECKS: dict[str, Callable] = {
    "01.1": check_01_1,
    "01.2": check_01_2,
    "02.1": check_02_1,
    "02.2": check_02_2,
    "03.1": check_03_1,
    "03.2": check_03_2,
    "04.1": check_04_1,
    "04.2": check_04_2,
    "04.3": check_04_3,
    "05.1": check_05_1,
    "05.2": check_05_2,
    "05.3": check_05_3,
}

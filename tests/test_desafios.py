"""The Desafios' checks: the reference solutions pass, typical mistakes get their own hint, `...` is unanswered.

Two worlds: a group with a real account's data shape (moto, the real ETL, messages made so that each mistake gives
a different answer), and the sandbox after notebooks 01 to 05 (the reference solutions, as the notebooks run them).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import types
from datetime import date
from pathlib import Path

import boto3
import pandas as pd
import pytest
from moto import mock_aws

import lambda_function
from solucoes import desafios as solucoes
from tests import etl_fixtures as tg
from tutorial import desafios
from tutorial.contract import INGESTION_FUNCTION, PREFIX, bucket
from tutorial.harness import deployed_stack, notebook_cell, run_cell, zip_files

REGION = "sa-east-1"
ANONYMOUS_ADMIN = tg.GROUP_ANONYMOUS_BOT  # what a real group shows for an anonymous admin: is_bot true


def hashtag_text(update_id, message_id, when, value, user=tg.ANA, **extra):
    """A text message with Telegram's hashtag entities (offsets in UTF-16 code units)."""
    entities = [
        {
            "type": "hashtag",
            "offset": len(value[: m.start()].encode("utf-16-le")) // 2,
            "length": len(m.group()),
        }
        for m in re.finditer(r"#\w+", value)
    ]
    return tg.text(
        update_id, message_id, tg.epoch(when), value, user, **({"entities": entities} if entities else {})
    )


def reply(update_id, message_id, when, value, to: dict, user):
    return tg.text(update_id, message_id, tg.epoch(when), value, user, reply_to_message=to["message"])


def real_group() -> list[dict]:
    """Another class's group: three days, an anonymous admin (a bot for Telegram) posting, edits, replies."""
    first = hashtag_text(100, 1, "2025-03-17 10:00", "Bom dia #Dados #sql")
    updates = [
        {"update_id": 99, "my_chat_member": {"chat": tg.GROUP, "from": tg.ANA, "date": tg.epoch("2025-03-16 09:00"),
         "old_chat_member": {"user": {"id": 1, "is_bot": True, "first_name": "Bot"}, "status": "left"},
         "new_chat_member": {"user": {"id": 1, "is_bot": True, "first_name": "Bot"}, "status": "member"}}},
        *[hashtag_text(200 + n, 50 + n, f"2025-03-16 14:0{n}", "Aviso  da coordenação #aviso", ANONYMOUS_ADMIN)
          for n in range(10)],
        first,
        hashtag_text(101, 2, "2025-03-17 10:05", "revisão de #dados\nsegunda linha"),
        tg.edit(first, 102, tg.epoch("2025-03-17 10:06"), "Bom dia #Dados #sql!"),
        tg.edit(first, 103, tg.epoch("2025-03-17 10:07"), "Bom dia #Dados #sql!!"),
        *[reply(110 + n, 10 + n, f"2025-03-17 11:0{n}", "concordo", first, tg.BRUNO) for n in range(2)],
        reply(112, 12, "2025-03-17 11:03", "valeu", {"message": {"message_id": 10, "chat": tg.GROUP}}, tg.ANA),
        *[reply(120 + n, 60 + n, f"2025-03-16 14:1{n}", "ok", first, ANONYMOUS_ADMIN) for n in range(3)],
        *[hashtag_text(130 + n, 20 + n, f"2025-03-17 21:{n}0", "de noite #aws", tg.BRUNO) for n in range(3)],
        hashtag_text(133, 23, "2025-03-17 21:30", "#python", tg.ANA),
        *[tg.text(140 + n, 30 + n, tg.epoch(f"2025-03-18 08:0{n}"), "cedo", tg.BRUNO) for n in range(6)],
    ]  # fmt: skip
    return updates


def partition(update: dict) -> str:
    payload = next(value for key, value in update.items() if key != "update_id")
    return lambda_function.local_datetime(payload["date"], tg.SAO_PAULO).date().isoformat()


@pytest.fixture
def real_account(monkeypatch):
    """A real account's layout (same bucket names as the notebooks) holding another group's conversation."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("TIMEZONE", "America/Sao_Paulo")
    with mock_aws():
        account = boto3.client("sts").get_caller_identity()["Account"]
        raw, enriched = bucket(account, REGION, "raw"), bucket(account, REGION, "enriched")
        s3 = boto3.client("s3")
        for name in (raw, enriched):
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        for update in real_group():
            key = f"telegram/context_date={partition(update)}/{update['update_id']}.json"
            s3.put_object(Bucket=raw, Key=key, Body=json.dumps(update).encode())
        days = [date(2025, 3, 16), date(2025, 3, 17), date(2025, 3, 18)]
        summary = lambda_function.run_etl(days, raw, enriched, client=s3, workers=4, tz=tg.SAO_PAULO)
        assert summary["skipped"] == []
        yield s3


def verdict(code: str, answer, **data) -> desafios.Verdict:
    return desafios.avaliar(code, answer, **data)


def hint(code: str, answer, **data) -> str:
    result = verdict(code, answer, **data)
    assert result.kind == "wrong", result
    return result.message.split("Dica: ", 1)[1]


# What each mistake answers on real_group(), and a word of the hint it must get (its own, not a generic one).
REAL_CASES = {
    "03.1": (15, [(31, "total de objetos"), (28, "bots"), (17, "edited_message")]),
    "03.2": ("2025-03-17", [("2025-03-18", "UTC"), ("2025-03-16", "bots"), (17, "formato AAAA-MM-DD")]),
    # People's words: 4 + 5 + 2 + 1 + 9 + 1 + 6; the admin's 10 notices have 4 words and its 3 replies 1; the
    # people's texts have 21 + 31 + 16 + 5 + 39 + 7 + 24 characters; split(" ") sees "#dados\nsegunda" as one.
    "04.1": (28, [(71, "bots"), (143, "caracteres"), (27, "split()")]),
    "04.2": (1, [(2, "funde as edições"), (27, "notna")]),
    "05.1": (
        {"2025-03-17": ["#aws", "#dados", "#sql"], "2025-03-18": []},
        [
            ({"2025-03-17": ["#aws", "#Dados", "#sql"]}, "minúsculas"),
            ({"2025-03-17": ["#dados", "#sql"], "2025-03-18": ["#aws", "#python"]}, "UTC"),
            ({"2025-03-18": ["#aws", "#dados", "#python"]}, "deslocados de um"),
            ({"2025-03-16": ["#aviso"], "2025-03-17": ["#aws", "#dados", "#sql"]}, "bots"),
        ],
    ),
    "05.2": (8, [(11, "UTC"), (14, "bots"), ("oito", "número inteiro")]),
    "05.3": (("Bruno", "Ana"), [(("Ana", "Bruno"), "ordem está trocada"), (("Group", "Ana"), "bots")]),
}


@pytest.mark.parametrize("code", REAL_CASES)
def test_each_mistake_on_a_real_groups_data_gets_its_own_hint(real_account, code):
    right, mistakes = REAL_CASES[code]
    assert verdict(code, right).kind == "correct", verdict(code, right)
    hints = [hint(code, answer) for answer, _ in mistakes]
    for (answer, word), text in zip(mistakes, hints, strict=True):
        assert word in text, (answer, text)
    assert len(set(hints)) == len(hints)  # each mistake its own hint


def run_patched_etl(s3, source: str) -> None:
    """The learner's edited lambda_function.py, run as the redeployed ETL would run it, over the same days."""
    module = types.ModuleType("lambda_function_aluno")
    exec(compile(source, "lambda_function.py", "exec"), module.__dict__)  # noqa: S102 - the project's own code
    account = boto3.client("sts").get_caller_identity()["Account"]
    raw, enriched = bucket(account, REGION, "raw"), bucket(account, REGION, "enriched")
    days = [date(2025, 3, 16), date(2025, 3, 17), date(2025, 3, 18)]
    module.run_etl(days, raw, enriched, client=s3, workers=4, tz=tg.SAO_PAULO)


ORIGINAL_SOURCE = Path(lambda_function.__file__).read_text()
WORDS = "len(text.split()) if text is not None else None"


@pytest.mark.parametrize(
    ("expression", "word"),
    [
        (WORDS, None),
        ("len(text) if text is not None else None", "caracteres"),
        ('len(text.split(" ")) if text is not None else None', "split()"),
        ("None", "vazia"),
    ],
)
def test_a_column_of_the_learners_own_is_checked_in_the_parquet(real_account, expression, word):
    assert "não tem essa coluna" in hint("04.3", "palavras")  # before redeploying
    run_patched_etl(real_account, solucoes.s04_3(ORIGINAL_SOURCE).replace(WORDS, expression))
    if word is None:
        assert verdict("04.3", "palavras").kind == "correct"
    else:
        assert word in hint("04.3", "palavras")
    assert "já vinha no ETL" in hint("04.3", "text_length")
    assert "não tem essa coluna" in hint("04.3", "contagem")


def test_the_shipped_columns_the_check_knows_are_the_etls():
    assert desafios.SHIPPED_COLUMNS == tuple(lambda_function.enriched_schema().names)


def test_the_expected_answer_comes_from_the_groups_own_messages(real_account):
    # The sandbox's class (seed 42) is busiest at another hour and has no #aws; this group's answers are its own.
    assert verdict("05.2", 8).kind == "correct"
    assert (
        verdict("05.1", {"2025-03-17": ["#aws", "#dados", "#python"]}).kind == "correct"
    )  # a tie at the cut
    assert verdict("05.1", {"2025-03-17": ["#aws", "#python", "#dados", "#sql"]}).kind == "wrong"


def test_ties_accept_any_of_the_tied_answers(real_account):
    assert verdict("05.1", {"2025-03-17": ["#aws", "#dados", "#sql"]}).kind == "correct"
    assert verdict("05.1", {"2025-03-17": ["aws", "dados", "python"]}).kind == "correct"  # '#' optional


@pytest.mark.parametrize("code", desafios.CHECKS)
def test_the_placeholder_is_unanswered_without_reading_any_data(code):
    # No AWS, no updates: `...` is answered before anything is read.
    result = verdict(code, ...)
    assert (result.kind, "ainda não respondido" in result.message) == ("unanswered", True)


def test_a_plain_script_checks_with_the_base_dependencies_only(tmp_path):
    # Colab and a plain script have the project's base dependencies: the check imports nothing of the sandbox's
    # extra (moto, DuckDB, ...) nor IPython, and prints its verdict.
    script = (
        "import sys\n"
        "from tutorial.desafios import conferir\n"
        "conferir('05.2', ...)\n"
        "print(sorted(m for m in ('moto', 'duckdb', 'flask', 'nbclient', 'IPython') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == [
        "Desafio 05.2: ainda não respondido. Troque o `...` pela sua resposta.",
        "[]",
    ]


def test_a_check_before_the_data_exists_says_which_notebook_makes_it(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        account = boto3.client("sts").get_caller_identity()["Account"]
        s3 = boto3.client("s3")
        for layer in ("raw", "enriched"):
            s3.create_bucket(
                Bucket=bucket(account, REGION, layer),
                CreateBucketConfiguration={"LocationConstraint": REGION},
            )
        assert "notebook 03" in verdict("03.1", 12).message
        assert "notebook 04" in verdict("05.2", 14).message


def test_the_check_never_shows_the_expected_answer(real_account, capsys):
    desafios.conferir("05.2", 11)
    desafios.conferir("05.3", ("Group", "Ana"))
    out = capsys.readouterr().out
    assert "8" not in out and "Bruno" not in out


CARLA = {"id": 7734567890, "is_bot": False, "first_name": "Carla", "language_code": "pt-br"}
GROUP_UPDATES = [
    {
        "update_id": 1,
        "my_chat_member": {"chat": tg.GROUP, "from": CARLA, "date": tg.epoch("2025-03-17 08:00")},
    },
    tg.text(2, 1, tg.epoch("2025-03-17 09:00"), "oi", tg.BRUNO),
    tg.text(3, 2, tg.epoch("2025-03-17 09:01"), "bom dia", tg.ANA),
    tg.sticker(4, 3, tg.epoch("2025-03-17 09:02")),
    tg.sticker(5, 4, tg.epoch("2025-03-17 09:02")),
    tg.text(6, 5, tg.epoch("2025-03-17 09:03"), "aviso", ANONYMOUS_ADMIN),
    tg.text(7, 6, tg.epoch("2025-03-17 09:04"), "tchau", tg.ANA),
    {
        "update_id": 8,
        "my_chat_member": {"chat": tg.GROUP, "from": CARLA, "date": tg.epoch("2025-03-17 09:05")},
    },
]


def test_notebook_01_checks_read_the_updates_the_learner_got():
    updates = GROUP_UPDATES
    assert verdict("01.1", solucoes.s01_1(updates), updates=updates) == verdict(
        "01.1", "Ana", updates=updates
    )
    assert verdict("01.1", "Ana", updates=updates).kind == "correct"
    assert "[-1]" in hint("01.1", "Bruno", updates=updates)
    assert "my_chat_member" in hint("01.1", "Carla", updates=updates)
    assert "username" in hint("01.1", "ana_dados", updates=updates)
    # Bruno's "oi", Ana's "bom dia" and "tchau"; not the anonymous admin's notice (a bot), not the stickers.
    assert solucoes.s01_2(updates) == 3
    assert verdict("01.2", 3, updates=updates).kind == "correct"
    assert "my_chat_member" in hint("01.2", 8, updates=updates)
    assert "bots" in hint("01.2", 4, updates=updates)
    assert "sem `text`" in hint("01.2", 5, updates=updates)


def test_notebook_02_explanation_hints_each_wrong_choice():
    assert verdict("02.2", solucoes.s02_2()).kind == "correct"
    assert "401" in hint("02.2", "a")
    assert "AWS_PROXY" in hint("02.2", "c")


@pytest.fixture(scope="module")
def sandbox_after_05():
    with deployed_stack(upto="06") as stack:
        yield stack


def notebook_names(notebook: str, needles: list[str], names: dict) -> dict:
    """The names a notebook's cells define, run here with `names` standing in for the cells before them."""
    for needle in needles:
        run_cell(notebook_cell(notebook, needle), names)
    return names


def test_reference_solutions_pass_in_the_sandbox(sandbox_after_05, monkeypatch):
    stack = sandbox_after_05
    # The checks use default clients, as a notebook's cells do.
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint_url)
    s3, lambda_ = stack.client("s3"), stack.client("lambda")
    raw = bucket(stack.account, stack.region, "raw")
    settings = lambda_.get_function_configuration(FunctionName=INGESTION_FUNCTION)["Environment"]["Variables"]
    signed = {"version": "2.0", "routeKey": "POST /webhook", "rawPath": "/webhook",
              "headers": {"content-type": "application/json",
                          "x-telegram-bot-api-secret-token": settings["TELEGRAM_SECRET_TOKEN"]},
              "requestContext": {"http": {"method": "POST", "path": "/webhook"}, "timeEpoch": 1742223600000},
              "isBase64Encoded": False}  # fmt: skip
    event = solucoes.s02_1(lambda_, signed, INGESTION_FUNCTION)
    enriched = {
        "s3": s3,
        "ENRICHED_BUCKET": bucket(stack.account, stack.region, "enriched"),
        "io": io,
        "pd": pd,
    }
    messages = notebook_names("04-etl", ["frames = []"], enriched)["messages"]
    # What the setup cell's `tutorial.configure` chose, for the names cell.
    setup_cell = {"tutorial": types.SimpleNamespace(prefixo=lambda: PREFIX)}
    query = notebook_names("05-analise", ["athena = boto3.client", "def query("], setup_cell)["query"]
    answers = {
        "02.1": event,
        "02.2": solucoes.s02_2(),
        "03.1": solucoes.s03_1(s3, raw),
        "03.2": solucoes.s03_2(s3, raw),
        "04.1": solucoes.s04_1(messages),
        "04.2": solucoes.s04_2(messages),
        "05.1": solucoes.s05_1(query),
        "05.2": solucoes.s05_2(query),
        "05.3": solucoes.s05_3(query),
    }
    for code, answer in answers.items():
        assert verdict(code, answer).kind == "correct", (code, answer, verdict(code, answer))
    update = json.loads(event["body"])
    update["message"]["chat"] = {"id": stack.group_id, "type": "supergroup", "title": "Turma"}
    assert "é o do grupo" in hint("02.1", {**event, "body": json.dumps(update)})
    assert "401" in hint("02.1", {**event, "headers": {}})
    assert "UTC" in hint("05.2", (solucoes.s05_2(query) + 3) % 24)

    # 04.3: the edited file, redeployed to the ETL function, and the backfill run again.
    from tutorial.contract import ETL_FUNCTION

    assert "não tem essa coluna" in hint("04.3", "palavras")
    package = zip_files({"lambda_function.py": solucoes.s04_3(ORIGINAL_SOURCE)})
    lambda_.update_function_code(FunctionName=ETL_FUNCTION, ZipFile=package)
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=ETL_FUNCTION)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=raw, Prefix="telegram/")
    days = sorted({item["Key"].split("context_date=")[1][:10] for page in pages for item in page["Contents"]})
    first, last = days[0], days[-1]
    answer = lambda_.invoke(
        FunctionName=ETL_FUNCTION, Payload=json.dumps({"start_date": first, "end_date": last})
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    assert verdict("04.3", "palavras").kind == "correct"

"""The daily ETL: raw Telegram updates in S3 become one Parquet file per day, with one row per message."""

from __future__ import annotations

import importlib
import io
import json
import logging
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import lambda_function
from tests import etl_fixtures as tg

RAW = "turma-dados-raw"
ENRICHED = "turma-dados-enriched"
DAY = "2025-03-17"
ROOT = Path(lambda_function.__file__).resolve().parent


@pytest.fixture
def etl(monkeypatch):
    """lambda_function reloaded inside moto with the ETL function's configuration, and its two buckets."""
    monkeypatch.setenv("AWS_S3_BUCKET", RAW)
    monkeypatch.setenv("AWS_S3_ENRICHED", ENRICHED)
    monkeypatch.setenv("TIMEZONE", "America/Sao_Paulo")
    with mock_aws():
        client = boto3.client("s3", region_name="sa-east-1")
        for bucket in (RAW, ENRICHED):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"})
        yield importlib.reload(lambda_function)


def s3():
    return boto3.client("s3", region_name="sa-east-1")


def raw_day(update: dict) -> str:
    """The partition the ingestion function gives an update: its message's date in São Paulo."""
    payload = next(value for key, value in update.items() if key != "update_id")
    return datetime.fromtimestamp(payload["date"], tz=tg.SAO_PAULO).date().isoformat()


def put(*updates: dict) -> None:
    client = s3()
    for update in updates:
        key = f"telegram/context_date={raw_day(update)}/{update['update_id']}.json"
        client.put_object(Bucket=RAW, Key=key, Body=json.dumps(update, ensure_ascii=False).encode("utf-8"))


def enriched_keys(day: str = DAY) -> list[str]:
    listing = s3().list_objects_v2(Bucket=ENRICHED, Prefix=f"telegram/context_date={day}/")
    return [item["Key"] for item in listing.get("Contents", [])]


def enriched_object(day: str = DAY) -> dict:
    """The GetObject answer for a day's Parquet: its body and what S3 keeps about it."""
    return s3().get_object(Bucket=ENRICHED, Key=f"telegram/context_date={day}/part-0.parquet")


def read_table(day: str = DAY):
    return pq.read_table(io.BytesIO(enriched_object(day)["Body"].read()))


def rows(day: str = DAY) -> list[dict]:
    return read_table(day).to_pylist()


def at(clock: str) -> int:
    return tg.epoch(f"{DAY} {clock}")


def entity(value: str, part: str, kind: str) -> dict:
    """An entity as Telegram sends it: offset and length in UTF-16 code units."""
    start = value.index(part)
    return {
        "offset": len(value[:start].encode("utf-16-le")) // 2,
        "length": len(part.encode("utf-16-le")) // 2,
        "type": kind,
    }


# --- Edits ---------------------------------------------------------------------------------------------------------
def test_latest_edit_replaces_the_message_and_keeps_its_edit_date(etl):
    original = tg.text(900001, 10, at("09:00"), "Bom dia, turma!")
    first_edit = tg.edit(original, 900005, at("09:02"), "Bom dia, turma! Aula às 19h")
    # Same edit_date: the later update wins; delivered before the first edit, as retries can do.
    last_edit = tg.edit(original, 900007, at("09:05"), "Bom dia, turma! Aula às 20h")
    same_second = tg.edit(original, 900006, at("09:05"), "versão intermediária")
    put(original, last_edit, first_edit, same_second)

    summary = etl.etl_handler({"date": DAY}, None)

    assert summary["rows_written"] == 1
    [row] = rows()
    assert row["text"] == "Bom dia, turma! Aula às 20h"
    assert row["edit_date"] == at("09:05")
    assert row["update_id"] == 900007
    assert row["date"] == at("09:00")  # the time it was sent, not edited


def test_unedited_message_has_null_edit_date(etl):
    put(tg.text(900001, 10, at("09:00"), "Oi"))
    etl.etl_handler({"date": DAY}, None)
    assert rows()[0]["edit_date"] is None


def test_edit_without_its_original_still_becomes_a_row(etl):
    original = tg.text(900001, 10, at("09:00"), "antes")
    put(tg.edit(original, 900002, at("09:10"), "depois"))
    etl.etl_handler({"date": DAY}, None)
    assert [(row["message_id"], row["text"]) for row in rows()] == [(10, "depois")]


# --- One schema for every kind of message --------------------------------------------------------------------------
KINDS = [
    (
        "text",
        tg.text(1, 1, at("10:00"), "Alguém já subiu a Lambda?"),
        {"text": "Alguém já subiu a Lambda?", "user_first_name": "Ana", "user_username": "ana_dados"},
    ),
    ("photo", tg.photo(2, 2, at("10:01"), caption="Meu diagrama 📊"), {"text": "Meu diagrama 📊"}),
    ("photo", tg.photo(3, 3, at("10:02")), {"text": None, "text_length": None}),
    (
        "sticker",
        tg.sticker(4, 4, at("10:03")),
        {"text": None, "user_first_name": "Bruno", "user_username": None},
    ),
    ("voice", tg.voice(5, 5, at("10:04")), {"text": None}),
    ("document", tg.document(6, 6, at("10:05"), "Slides da aula 3"), {"text": "Slides da aula 3"}),
    ("video", tg.video(7, 7, at("10:06")), {"text": None}),
    ("poll", tg.poll(8, 8, at("10:07")), {"text": None}),
    ("location", tg.location(9, 9, at("10:08")), {"text": None}),
    (
        "text",
        tg.text(
            10, 10, at("10:09"), "Aviso: prova amanhã", user=tg.GROUP_ANONYMOUS_BOT, sender_chat=tg.GROUP
        ),
        {"user_is_bot": True, "user_id": 1087968824, "sender_chat_id": tg.GROUP["id"]},
    ),
    (
        "text",
        tg.text(11, 11, at("10:10"), "Dúvida no tópico", message_thread_id=3, is_topic_message=True),
        {"message_thread_id": 3},
    ),
    (
        "text",
        tg.text(
            12, 12, at("10:11"), "Eu também!", reply_to_message={**tg.text(1, 1, at("10:00"), "x")["message"]}
        ),
        {"reply_to_message_id": 1},
    ),
    ("other", tg.message(13, 13, at("10:12"), dice={"emoji": "🎲", "value": 4}), {"text": None}),
]


# What Athena's table (notebook 05's CREATE TABLE) and the course's queries read, written out here rather than taken
# from enriched_schema(), the code under test: (name, Arrow type, nullable).
ENRICHED_COLUMNS = [
    ("message_id", "int64", False),
    ("user_id", "int64", True),
    ("user_is_bot", "bool", True),
    ("user_first_name", "string", True),
    ("chat_id", "int64", False),
    ("chat_type", "string", True),
    ("text", "string", True),
    ("date", "int64", False),
    ("update_id", "int64", False),
    ("sent_at_local", "timestamp[ms]", False),
    ("message_type", "string", False),
    ("text_length", "int32", True),
    ("reply_to_message_id", "int64", True),
    ("message_thread_id", "int64", True),
    ("edit_date", "int64", True),
    ("user_username", "string", True),
    ("sender_chat_id", "int64", True),
    ("hashtag_count", "int32", False),
    ("mention_count", "int32", False),
    ("link_count", "int32", False),
    ("hashtags", "list<element: string>", False),
]


@pytest.mark.parametrize(
    ("kind", "update", "expected"), KINDS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(KINDS)]
)
def test_every_message_kind_is_written_with_the_one_schema(etl, kind, update, expected):
    put(update)
    etl.etl_handler({"date": DAY}, None)

    table = read_table()
    assert [(field.name, str(field.type), field.nullable) for field in table.schema] == ENRICHED_COLUMNS
    [row] = table.to_pylist()
    assert row["message_type"] == kind
    assert {name: row[name] for name in expected} == expected
    assert row["chat_id"] == tg.GROUP["id"] and row["chat_type"] == "supergroup"


def test_the_row_the_etl_builds_names_the_schema_columns_in_order():
    # A column added to the schema and not to the row (or the other way round) fails here, not in the deployed ETL.
    assert lambda_function.MessageRow._fields == tuple(lambda_function.enriched_schema().names)


def test_the_parquet_is_snappy_compressed_and_says_what_it_is(etl):
    # Athena bills by bytes scanned: every column of the enriched file is compressed, with the codec Athena reads.
    put(*(update for _, update, _ in KINDS))
    etl.etl_handler({"date": DAY}, None)

    stored = enriched_object()
    # Parquet's media type (IANA), shown as the object's type in the S3 console instead of binary/octet-stream.
    assert stored["ContentType"] == "application/vnd.apache.parquet"
    body = stored["Body"].read()
    metadata = pq.ParquetFile(io.BytesIO(body)).metadata
    codecs = {
        metadata.row_group(group).column(column).compression
        for group in range(metadata.num_row_groups)
        for column in range(metadata.num_columns)
    }
    assert codecs == {"SNAPPY"}


def test_no_rows_make_an_empty_parquet_with_every_column():
    table = pq.read_table(io.BytesIO(lambda_function.parquet_bytes([])))

    assert table.num_rows == 0
    assert [(field.name, str(field.type), field.nullable) for field in table.schema] == ENRICHED_COLUMNS


def test_a_day_of_every_kind_keeps_messages_and_leaves_out_service_updates(etl):
    put(
        *(update for _, update, _ in KINDS),
        tg.new_members(14, 14, at("11:00")),
        tg.my_chat_member(15, at("11:01")),
    )

    summary = etl.etl_handler({"date": DAY}, None)

    assert [row["message_id"] for row in rows()] == list(range(1, 14))
    assert summary["details"][0]["ignored"] == 2
    assert summary["objects_read"] == 15


def test_a_group_that_became_a_supergroup_keeps_the_rows_of_both_ids(etl):
    old = {"id": -4012345678, "title": "Turma de Engenharia de Dados", "type": "group"}
    new = {"id": -1001987654321, "title": "Turma de Engenharia de Dados", "type": "supergroup"}

    def in_chat(update: dict, chat: dict) -> dict:
        update["message"]["chat"] = chat
        return update

    put(
        in_chat(tg.text(60, 1, at("10:00"), "antes da migração"), old),
        in_chat(tg.text(61, 2, at("10:01"), "ainda no grupo"), old),
        in_chat(tg.message(62, 3, at("10:02"), migrate_to_chat_id=new["id"]), old),
        in_chat(
            tg.message(
                63, 1, at("10:02"), tg.GROUP_ANONYMOUS_BOT, sender_chat=new, migrate_from_chat_id=old["id"]
            ),
            new,
        ),
        in_chat(tg.text(64, 2, at("10:03"), "já no supergrupo"), new),  # message ids restart in the new chat
        in_chat(tg.text(65, 3, at("10:04"), "tudo certo"), new),
    )
    # The ingestion's record of the migration sits beside the data, outside telegram/: never read as a message.
    s3().put_object(
        Bucket=RAW, Key=f"estado/migracoes/{new['id']}.json", Body=b'{"migrate_from_chat_id": -4012345678}'
    )

    summary = etl.etl_handler({"date": DAY}, None)

    assert [(row["chat_id"], row["message_id"], row["text"]) for row in rows()] == [
        (old["id"], 1, "antes da migração"),
        (old["id"], 2, "ainda no grupo"),
        (new["id"], 2, "já no supergrupo"),
        (new["id"], 3, "tudo certo"),
    ]
    assert summary["objects_read"] == 6 and summary["details"][0]["ignored"] == 2


def test_missing_optional_fields_become_nulls(etl):
    bare = {"update_id": 50, "message": {"message_id": 5, "chat": {"id": -4000000001}, "date": at("12:00")}}
    put(bare)

    etl.etl_handler({"date": DAY}, None)

    [row] = rows()
    assert row["user_id"] is None and row["user_first_name"] is None and row["user_is_bot"] is None
    assert row["chat_type"] is None and row["text"] is None and row["message_type"] == "other"
    assert (row["hashtag_count"], row["mention_count"], row["link_count"], row["hashtags"]) == (0, 0, 0, [])


# --- Derived columns -----------------------------------------------------------------------------------------------
def test_entity_counts_and_hashtags_follow_utf16_offsets_after_emoji(etl):
    value = "👋🏽 Oi @ana_dados e Bruno! Vejam #Dados e #AWS em https://aws.amazon.com/pt/athena e no site"
    entities = [
        entity(value, "@ana_dados", "mention"),
        {**entity(value, "Bruno", "text_mention"), "user": tg.BRUNO},
        entity(value, "#Dados", "hashtag"),
        entity(value, "#AWS", "hashtag"),
        entity(value, "https://aws.amazon.com/pt/athena", "url"),
        {**entity(value, "site", "text_link"), "url": "https://github.com"},
        entity(value, "Vejam", "bold"),
    ]
    caption = "📸 #Aula3"
    put(
        tg.text(1, 1, at("14:00"), value, entities=entities),
        tg.photo(2, 2, at("14:01"), caption=caption, caption_entities=[entity(caption, "#Aula3", "hashtag")]),
    )

    etl.etl_handler({"date": DAY}, None)

    text_row, photo_row = rows()
    assert (text_row["hashtag_count"], text_row["mention_count"], text_row["link_count"]) == (2, 2, 2)
    assert text_row["hashtags"] == ["#dados", "#aws"]
    assert (photo_row["hashtag_count"], photo_row["hashtags"]) == (1, ["#aula3"])


def test_text_length_counts_characters_not_bytes(etl):
    put(tg.text(1, 1, at("15:00"), "Olá, ação! 😀"), tg.text(2, 2, at("15:01"), "ñ"))
    etl.etl_handler({"date": DAY}, None)
    assert [row["text_length"] for row in rows()] == [12, 1]


def test_sent_at_local_is_the_sao_paulo_wall_clock(etl):
    late = tg.epoch("2025-03-17 23:30")  # 02:30 UTC on the 18th
    put(tg.text(1, 1, late, "Boa noite"))

    etl.etl_handler({"date": DAY}, None)

    [row] = rows()
    assert row["sent_at_local"] == datetime(2025, 3, 17, 23, 30)
    assert row["date"] == int(datetime(2025, 3, 18, 2, 30, tzinfo=timezone.utc).timestamp())


def test_rows_are_sorted_by_send_time(etl):
    put(tg.text(3, 30, at("08:00"), "c"), tg.text(1, 10, at("09:00"), "a"), tg.text(2, 20, at("07:00"), "b"))
    etl.etl_handler({"date": DAY}, None)
    assert [row["message_id"] for row in rows()] == [20, 30, 10]


# --- Volume, reruns, empty days ------------------------------------------------------------------------------------
def test_a_day_with_more_than_1000_objects_is_read_in_full(etl):
    start = at("06:00")
    put(*(tg.text(100000 + n, n, start + n, f"mensagem {n}") for n in range(1, 1006)))

    summary = etl.etl_handler({"date": DAY}, None)

    assert summary["objects_read"] == 1005
    assert read_table().column("message_id").to_pylist() == list(range(1, 1006))


def test_running_twice_leaves_the_same_rows_and_one_file(etl):
    put(tg.text(1, 1, at("09:00"), "Oi"), tg.sticker(2, 2, at("09:01")))
    # Output of an older run under another name must not duplicate rows in Athena.
    s3().put_object(Bucket=ENRICHED, Key=f"telegram/context_date={DAY}/20250318080000.parquet", Body=b"old")

    first = etl.etl_handler({"date": DAY}, None)
    first_rows = rows()
    second = etl.etl_handler({"date": DAY}, None)

    assert rows() == first_rows and len(first_rows) == 2
    assert enriched_keys() == [f"telegram/context_date={DAY}/part-0.parquet"]
    assert first["details"][0]["removed_keys"] == [f"telegram/context_date={DAY}/20250318080000.parquet"]
    assert second["details"][0]["removed_keys"] == []


@pytest.fixture
def whole_s3_requests(monkeypatch):
    """In-process moto serves one request at a time, as S3 (and the sandbox's server) serve each one whole.

    Unlocked, a PUT that overwrites a key closes the buffer another thread's PUT of that key is still reading.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    serve = BotocoreStubber.process_request

    def serve_whole(self, request):
        with lock:
            return serve(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", serve_whole)


def test_two_runs_at_once_leave_the_same_rows(etl, whole_s3_requests):
    put(*(tg.text(n, n, at("09:00") + n, f"msg {n}") for n in range(1, 41)))
    results, errors = [], []

    def run():
        try:
            results.append(etl.etl_handler({"date": DAY}, None))
        except Exception as error:  # reported below, the test must not hang on a dead thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors and len(results) == 2
    assert [row["message_id"] for row in rows()] == list(range(1, 41))
    assert enriched_keys() == [f"telegram/context_date={DAY}/part-0.parquet"]


def test_empty_day_writes_nothing_and_says_so(etl, caplog):
    caplog.set_level(logging.INFO, logger="lambda_function")
    summary = etl.etl_handler({"date": DAY}, None)

    assert summary["rows_written"] == 0 and summary["output_keys"] == []
    assert summary["details"][0]["output_key"] is None
    assert enriched_keys() == []
    assert any(json.loads(r.message).get("decision") == "day_empty" for r in caplog.records)


def test_a_day_whose_raw_updates_were_deleted_loses_its_old_output(etl):
    put(tg.text(1, 1, at("09:00"), "apagar depois"))
    etl.etl_handler({"date": DAY}, None)
    s3().delete_object(Bucket=RAW, Key=f"telegram/context_date={DAY}/1.json")

    summary = etl.etl_handler({"date": DAY}, None)

    assert enriched_keys() == []
    assert summary["details"][0]["removed_keys"] == [f"telegram/context_date={DAY}/part-0.parquet"]


# --- Bad objects ---------------------------------------------------------------------------------------------------
BAD_OBJECTS = {
    "truncated.json": (b'{"update_id": 1, "message": {"message_id"', "JSON inválido"),
    "latin1.json": ('{"update_id": 2, "message": "ação"}'.encode("latin-1"), "UTF-8"),
    "list.json": (b"[1, 2, 3]", "não é um objeto JSON"),
    # Required fields missing (an upload by hand, an old handler): the record is reported, never a row of nulls.
    "no-update-id.json": (
        json.dumps({"message": tg.text(3, 3, at("09:00"), "sem id")["message"]}).encode(),
        "campo obrigatório ausente: update_id",
    ),
    "null-message.json": (b'{"update_id": 13, "message": null}', "message ausente ou não é um objeto JSON"),
    "no-chat.json": (
        json.dumps(
            {"update_id": 14, "message": {"message_id": 14, "date": at("09:00"), "text": "e o chat?"}}
        ).encode(),
        "chat ausente ou não é um objeto JSON",
    ),
    "no-id.json": (
        json.dumps({"update_id": 4, "message": {"chat": tg.GROUP, "date": 1}}).encode(),
        "message_id",
    ),
    "no-date.json": (
        json.dumps(
            {"update_id": 15, "message": {"message_id": 15, "chat": tg.GROUP, "text": "quando?"}}
        ).encode(),
        "campo obrigatório ausente: date",
    ),
    "entities-not-objects.json": (
        json.dumps(tg.text(16, 16, at("09:06"), "#dados", entities=["hashtag"])).encode(),
        "entities deve ser uma lista de objetos",
    ),
    "caption-entities-not-a-list.json": (
        json.dumps(tg.photo(17, 17, at("09:07"), caption="#dados", caption_entities="hashtag")).encode(),
        "caption_entities deve ser uma lista de objetos",
    ),
    "chat-without-id.json": (
        json.dumps(
            {
                "update_id": 18,
                "message": {"message_id": 18, "chat": {"type": "supergroup"}, "date": 1, "text": "?"},
            }
        ).encode(),
        "campo obrigatório ausente: id",
    ),
    "number-text.json": (
        json.dumps(
            {"update_id": 5, "message": {"message_id": 5, "chat": tg.GROUP, "date": 1, "text": 42}}
        ).encode(),
        "text tem tipo inesperado: int",
    ),
    # Parquet's int64 holds -2**63 to 2**63 - 1: one step outside is reported, never a crash of the day.
    "thread-id-past-int64.json": (
        json.dumps(tg.text(19, 19, at("09:09"), "longe", message_thread_id=2**63)).encode(),
        f"message_thread_id deve ser um inteiro, veio {2**63}",
    ),
    "user-id-below-int64.json": (
        json.dumps(tg.text(20, 20, at("09:10"), "longe", user={**tg.ANA, "id": -(2**63) - 1})).encode(),
        f"id deve ser um inteiro, veio {-(2**63) - 1}",
    ),
    # Each of these aborted the whole day (and both scheduled runs of it) before issue 13. The JSON is ASCII with
    # escapes, as a JSON encoder that escapes non-ASCII writes it; a lone surrogate has no other way to be stored.
    "lone-surrogate-text.json": (
        json.dumps(tg.text(6, 6, at("09:02"), "Bom dia \ud800 turma")).encode(),
        "text tem um surrogate UTF-16 isolado",
    ),
    "lone-surrogate-name.json": (
        json.dumps(tg.text(7, 7, at("09:03"), "oi", user={**tg.ANA, "first_name": "An\udc00a"})).encode(),
        "first_name tem um surrogate UTF-16 isolado",
    ),
    "entity-type-list.json": (
        json.dumps(
            tg.text(8, 8, at("09:04"), "#dados", entities=[{"type": [], "offset": 0, "length": 6}])
        ).encode(),
        "type tem tipo inesperado",
    ),
    "year-10000.json": (
        json.dumps(tg.text(9, 9, 253402300800, "do futuro")).encode(),
        "date fora das datas possíveis: 253402300800 não é uma data entre os anos 1 e 9999",
    ),
    "year-far-beyond.json": (json.dumps(tg.text(10, 10, 2**62, "muito longe")).encode(), "date fora"),
    "negative-year.json": (json.dumps(tg.text(11, 11, -(2**62), "antes de Cristo")).encode(), "date fora"),
    # A group member update smuggling another chat's message: without the one-type rule it became a row.
    "two-payloads.json": (
        json.dumps(
            {
                **tg.my_chat_member(12, at("09:05")),
                "message": {
                    **tg.text(12, 12, at("09:05"), "de outro chat")["message"],
                    "chat": {"id": -100111},
                },
            }
        ).encode(),
        "exatamente um campo além de update_id",
    ),
}


def test_corrupt_objects_are_skipped_and_reported_while_the_rest_is_written(etl, caplog):
    caplog.set_level(logging.INFO, logger="lambda_function")
    put(tg.text(1, 1, at("09:00"), "válida"), tg.photo(2, 2, at("09:01"), caption="também"))
    for name, (body, _) in BAD_OBJECTS.items():
        s3().put_object(Bucket=RAW, Key=f"telegram/context_date={DAY}/{name}", Body=body)

    summary = etl.etl_handler({"date": DAY}, None)

    assert [row["text"] for row in rows()] == ["válida", "também"]
    reported = {item["key"].rsplit("/", 1)[1]: item["reason"] for item in summary["skipped"]}
    assert set(reported) == set(BAD_OBJECTS)
    for name, (_, reason) in BAD_OBJECTS.items():
        assert reason in reported[name], (name, reported[name])
    logged = [json.loads(r.message) for r in caplog.records if r.levelno == logging.WARNING]
    assert {entry["key"] for entry in logged} == {item["key"] for item in summary["skipped"]}
    json.dumps(summary)  # the summary goes back through Lambda as JSON


def test_the_int64_extremes_are_kept_as_they_came(etl):
    put(
        tg.text(
            1, 1, at("09:00"), "nos limites", user={**tg.ANA, "id": -(2**63)}, message_thread_id=2**63 - 1
        )
    )

    summary = etl.etl_handler({"date": DAY}, None)

    assert summary["skipped"] == []
    [row] = rows()
    assert (row["user_id"], row["message_thread_id"]) == (-(2**63), 2**63 - 1)


POISON = [
    "lone-surrogate-text.json",
    "lone-surrogate-name.json",
    "entity-type-list.json",
    "year-10000.json",
    "two-payloads.json",
]


@pytest.mark.parametrize("name", POISON)
def test_one_poisoned_record_never_stops_the_day(etl, name):
    put(tg.text(1, 1, at("09:00"), "antes"), tg.sticker(2, 2, at("23:59")))
    body, reason = BAD_OBJECTS[name]
    s3().put_object(Bucket=RAW, Key=f"telegram/context_date={DAY}/{name}", Body=body)

    summary = etl.etl_handler({"date": DAY}, None)

    assert [(row["message_id"], row["text"]) for row in rows()] == [(1, "antes"), (2, None)]
    [skipped] = summary["skipped"]
    assert skipped["key"] == f"telegram/context_date={DAY}/{name}"
    assert reason in skipped["reason"]


# --- Events --------------------------------------------------------------------------------------------------------
def test_backfill_processes_every_day_of_the_range(etl):
    put(
        tg.text(1, 1, tg.epoch("2025-03-14 10:00"), "sexta"),
        tg.text(2, 2, tg.epoch("2025-03-16 10:00"), "domingo"),
        tg.text(3, 3, tg.epoch("2025-03-18 10:00"), "fora do intervalo"),
    )

    summary = etl.etl_handler({"start_date": "2025-03-14", "end_date": "2025-03-17"}, None)

    assert summary["days"] == ["2025-03-14", "2025-03-15", "2025-03-16", "2025-03-17"]
    assert [detail["rows"] for detail in summary["details"]] == [1, 0, 1, 0]
    assert (summary["rows_written"], summary["objects_read"]) == (
        2,
        2,
    )  # the whole range, as notebook 04 shows
    assert summary["output_keys"] == [
        "telegram/context_date=2025-03-14/part-0.parquet",
        "telegram/context_date=2025-03-16/part-0.parquet",
    ]
    assert enriched_keys("2025-03-18") == []


def test_an_empty_event_processes_yesterday_and_the_day_before_in_sao_paulo(etl):
    # The console's test event ({}) and Scheduler's default input: the handler takes its own clock.
    def expected():
        today = datetime.now(tg.SAO_PAULO).date()
        return [str(today - timedelta(days=2)), str(today - timedelta(days=1))]

    before = expected()
    summary = etl.etl_handler({}, None)

    assert summary["days"] in (before, expected())


def test_a_backfill_of_one_day_processes_that_day(etl):
    put(tg.text(1, 1, tg.epoch("2025-03-14 10:00"), "sexta"))

    summary = etl.etl_handler({"start_date": "2025-03-14", "end_date": "2025-03-14"}, None)

    assert (summary["days"], summary["rows_written"]) == (["2025-03-14"], 1)


def test_scheduled_event_processes_yesterday_and_the_day_before_in_sao_paulo(etl):
    for n, day in enumerate(["2025-03-15", "2025-03-16", "2025-03-17"], start=1):
        put(tg.text(n, n, tg.epoch(f"{day} 12:00"), day))
    event = {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2025-03-18T02:30:00Z",  # still 23:30 of the 17th in São Paulo
        "region": "sa-east-1",
        "resources": ["arn:aws:events:sa-east-1:123456789012:rule/telegram-etl-diario"],
        "detail": {},
    }

    summary = etl.etl_handler(event, None)

    assert summary["days"] == ["2025-03-15", "2025-03-16"]
    assert enriched_keys("2025-03-17") == []
    assert [rows(day)[0]["text"] for day in summary["days"]] == ["2025-03-15", "2025-03-16"]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 3, 18, 3, 0, tzinfo=timezone.utc), [date(2025, 3, 16), date(2025, 3, 17)]),
        (datetime(2025, 3, 18, 2, 59, tzinfo=timezone.utc), [date(2025, 3, 15), date(2025, 3, 16)]),
        (datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc), [date(2025, 2, 27), date(2025, 2, 28)]),
    ],
)
def test_empty_event_means_yesterday_and_the_day_before_now(now, expected):
    assert lambda_function.etl_days({}, tg.SAO_PAULO, now) == expected


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"date": "17/03/2025"}, "date inválido"),
        ({"date": "2025-02-30"}, "date inválido"),
        ({"date": 20250317}, "date inválido"),
        ({"start_date": "2025-03-18", "end_date": "2025-03-17"}, "é depois de end_date"),
        ({"start_date": "2024-01-01", "end_date": "2025-03-17"}, "o máximo por execução é 366"),
        ({"start_date": "2025-03-17"}, "evento não reconhecido"),
        ({"date": "2025-03-17", "end_date": "2025-03-18"}, "evento não reconhecido"),
        ({"key1": "value1", "key2": "value2"}, "evento não reconhecido"),
        ({"source": "aws.events", "time": "ontem"}, "time do evento inválido"),
        ({"source": "aws.events", "time": "2025-03-18T08:00:00"}, "time do evento inválido"),
        ({"time": "0001-01-01T00:00:00Z"}, "time do evento fora das datas possíveis"),
        (
            {"source": "aws.events", "time": "9999-12-31T23:59:59-14:00"},
            "time do evento fora das datas possíveis",
        ),
        # The whole message, anchored: it is all the learner sees of a wrong test event in the Lambda console.
        ("2025-03-17", r'^evento inválido: esperado um objeto JSON, como \{\} ou \{"date": "2025-03-17"\}$'),
        (
            {"start_date": "2025-3-14", "end_date": "2025-03-17"},
            r"^start_date inválido: '2025-3-14' \(esperado",
        ),
        (
            {"start_date": "2025-03-14", "end_date": "17/03/2025"},
            r"^end_date inválido: '17/03/2025' \(esperado",
        ),
    ],
)
def test_bad_events_are_refused_with_a_clear_error(etl, event, message):
    put(tg.text(1, 1, at("09:00"), "não deve ser processada"))
    with pytest.raises(ValueError, match=message):
        etl.etl_handler(event, None)
    assert enriched_keys() == []


# --- Configuration and failures ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"AWS_S3_ENRICHED": ""},
            "AWS_S3_ENRICHED (bucket enriched) não está definida nas variáveis de ambiente da função",
        ),
        (
            {"AWS_S3_BUCKET": ""},
            "AWS_S3_BUCKET (bucket raw) não está definida nas variáveis de ambiente da função",
        ),
        (
            {"AWS_S3_ENRICHED": RAW},
            f"AWS_S3_BUCKET e AWS_S3_ENRICHED devem ser buckets diferentes (ambas são {RAW!r})",
        ),
    ],
)
def test_missing_or_wrong_configuration_fails_when_the_etl_runs(etl, monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = importlib.reload(
        lambda_function
    )  # importing still works: the ingestion function shares the file
    with pytest.raises(RuntimeError) as raised:
        module.etl_handler({"date": DAY}, None)
    assert str(raised.value) == message  # all the learner sees in the Lambda console


def test_missing_raw_bucket_raises(etl):
    s3().delete_bucket(Bucket=RAW)
    with pytest.raises(ClientError, match="NoSuchBucket"):
        etl.etl_handler({"date": DAY}, None)


def test_failed_get_raises_and_writes_nothing(etl, monkeypatch):
    put(*(tg.text(n, n, at("09:00") + n, "oi") for n in range(1, 6)))
    real_get = etl.s3.get_object

    def flaky_get(**kwargs):
        if kwargs["Key"].endswith("/3.json"):
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "GetObject"
            )
        return real_get(**kwargs)

    monkeypatch.setattr(etl.s3, "get_object", flaky_get)
    with pytest.raises(ClientError, match="SlowDown"):
        etl.etl_handler({"date": DAY}, None)
    assert enriched_keys() == []


def test_failed_put_raises(etl):
    put(tg.text(1, 1, at("09:00"), "oi"))
    s3().delete_bucket(Bucket=ENRICHED)
    with pytest.raises(ClientError, match="NoSuchBucket"):
        etl.etl_handler({"date": DAY}, None)


def test_ingestion_imports_without_pyarrow():
    # The ingestion function has no layer: pyarrow must only be imported when the ETL runs.
    code = "import sys; sys.modules['pyarrow'] = None; import lambda_function; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --- Behaviours a mutation audit found unpinned (issue 31) ------------------------------------------------------
def test_without_the_timezone_setting_days_are_sao_paulo_days(etl, monkeypatch):
    # A function deployed without TIMEZONE: 21:00-24:00 in São Paulo is already the next day in UTC.
    monkeypatch.delenv("TIMEZONE")
    etl = importlib.reload(lambda_function)
    late = tg.epoch("2025-03-17 22:30")
    put(tg.text(1, 1, late, "boa noite"))

    summary = etl.etl_handler({"date": DAY}, None)

    assert summary["rows_written"] == 1
    assert rows()[0]["sent_at_local"] == datetime(2025, 3, 17, 22, 30)


def test_the_latest_edit_wins_even_when_it_has_the_smaller_update_id(etl):
    # Telegram's update ids grow with arrival, not with the edit: an edit retried from another queue, or a
    # webhook's pending updates after getUpdates, may carry a smaller id than an older edit.
    original = tg.text(900001, 10, at("09:00"), "rascunho")
    older_edit = tg.edit(original, 900009, at("09:02"), "segunda versão")
    newer_edit = tg.edit(original, 900004, at("09:05"), "versão final")
    put(original, older_edit, newer_edit)

    etl.etl_handler({"date": DAY}, None)

    [row] = rows()
    assert (row["text"], row["edit_date"], row["update_id"]) == ("versão final", at("09:05"), 900004)


def test_a_pinned_message_notice_is_not_a_new_row(etl):
    pinned = tg.text(1, 1, at("09:00"), "Link da aula: meet.google.com/abc")
    notice = tg.message(2, 2, at("09:01"), pinned_message=pinned["message"])
    put(pinned, notice)

    summary = etl.etl_handler({"date": DAY}, None)

    assert [(row["message_id"], row["text"]) for row in rows()] == [(1, "Link da aula: meet.google.com/abc")]
    assert summary["details"][0]["ignored"] == 1


def test_rows_written_adds_up_every_day_of_a_scheduled_run(etl):
    put(
        tg.text(1, 1, tg.epoch("2025-03-16 10:00"), "um"),
        tg.text(2, 2, tg.epoch("2025-03-16 11:00"), "dois"),
        tg.text(3, 3, tg.epoch("2025-03-17 10:00"), "três"),
    )

    summary = etl.etl_handler({"time": "2025-03-18T12:00:00Z"}, None)  # covers the 16th and the 17th

    assert [detail["rows"] for detail in summary["details"]] == [2, 1]
    assert (summary["rows_written"], summary["objects_read"]) == (3, 3)


def test_a_folder_made_in_the_s3_console_is_neither_read_nor_reported(etl):
    # The console's "Create folder" writes a zero-byte object whose key ends in "/".
    s3().put_object(Bucket=RAW, Key=f"telegram/context_date={DAY}/", Body=b"")
    put(tg.text(1, 1, at("09:00"), "oi"))

    summary = etl.etl_handler({"date": DAY}, None)

    assert (summary["objects_read"], summary["skipped"], summary["rows_written"]) == (1, [], 1)


def test_a_whole_leap_year_fits_in_one_backfill(etl):
    days = etl.etl_days({"start_date": "2024-01-01", "end_date": "2024-12-31"}, tg.SAO_PAULO, datetime.now())
    assert len(days) == 366 and (days[0], days[-1]) == (date(2024, 1, 1), date(2024, 12, 31))
    with pytest.raises(ValueError, match="intervalo de 367 dias"):
        etl.etl_days({"start_date": "2023-12-31", "end_date": "2024-12-31"}, tg.SAO_PAULO, datetime.now())


def test_a_gif_is_typed_other_not_document(etl):
    # Telegram sends a GIF (an MPEG-4 animation) with `animation` and, for old clients, the same file as `document`.
    gif = {"file_name": "ok.mp4", "mime_type": "video/mp4", "duration": 2, "width": 320, "height": 240,
           "file_id": "CgACAgEAAxkBAAIBZ2", "file_unique_id": "AgADqwQ", "file_size": 81234}  # fmt: skip
    document = {key: gif[key] for key in ("file_name", "mime_type", "file_id", "file_unique_id", "file_size")}
    put(
        tg.message(1, 1, at("09:00"), animation=gif, document=document), tg.document(2, 2, at("09:01"), "pdf")
    )

    etl.etl_handler({"date": DAY}, None)

    assert [row["message_type"] for row in rows()] == ["other", "document"]


@pytest.mark.parametrize(("offset", "length"), [(6, 7), (12, 1)], ids=["one_unit_too_long", "after_the_end"])
def test_a_hashtag_entity_past_the_end_of_the_text_makes_the_record_bad(etl, offset, length):
    # "Vejam #Dados" is 12 UTF-16 code units: a hand-edited entity reaching past them would be cut short silently.
    put(
        tg.text(
            1,
            1,
            at("09:00"),
            "Vejam #Dados",
            entities=[{"type": "hashtag", "offset": offset, "length": length}],
        )
    )

    summary = etl.etl_handler({"date": DAY}, None)

    [skipped] = summary["skipped"]
    assert skipped["reason"] == f"entidade hashtag fora do texto: offset={offset}, length={length}"
    assert enriched_keys() == []


def test_a_hashtag_entity_splitting_an_emoji_keeps_the_row_with_a_replacement_character(etl):
    # Telegram's offsets never split a surrogate pair; a hand-edited record that does still becomes its row, with
    # U+FFFD where the half emoji was, instead of stopping the day.
    put(tg.text(1, 1, at("09:00"), "#🎉festa", entities=[{"type": "hashtag", "offset": 0, "length": 2}]))

    summary = etl.etl_handler({"date": DAY}, None)

    assert summary["skipped"] == []
    assert [row["hashtags"] for row in rows()] == [["#\ufffd"]]


def test_a_hashtag_entity_of_no_length_makes_the_record_bad(etl):
    value = "Vejam #Dados"
    empty = {"type": "hashtag", "offset": 6, "length": 0}
    put(
        tg.text(1, 1, at("09:00"), value, entities=[empty]),
        tg.text(2, 2, at("09:01"), value, entities=[entity(value, "#Dados", "hashtag")]),
        tg.text(3, 3, at("09:02"), "#", entities=[{"type": "hashtag", "offset": 0, "length": 1}]),
    )

    summary = etl.etl_handler({"date": DAY}, None)

    [skipped] = summary["skipped"]
    assert skipped["key"].endswith("/1.json") and "length=0" in skipped["reason"]
    assert [row["hashtags"] for row in rows()] == [["#dados"], ["#"]]

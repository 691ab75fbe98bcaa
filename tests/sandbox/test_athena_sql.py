"""Athena's SQL in the sandbox answers as Athena (Trino) does, on data shaped like the enriched table.

Expected values are worked out by hand from Trino's documentation; the reasoning is in the comments.
"""

from __future__ import annotations

import io
import logging
import time

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sandbox.athena import AthenaService
from sandbox.server import SandboxServer

REGION = "sa-east-1"
ENRICHED = "lab-enriched"
RESULTS = "lab-athena-results"
OUTPUT = f"s3://{RESULTS}/queries/"
DB = "telegram_db"

# Epoch seconds worked out from UTC wall times (2024 has no daylight saving time in São Paulo: UTC-3).
SAT_NOON = 1704542400  # 2024-01-06 12:00:00 UTC, a Saturday
SUN_0230 = 1704594600  # 2024-01-07 02:30:00 UTC, a Sunday = 2024-01-06 23:30 in São Paulo (Saturday)
SUN_1500 = 1704639600  # 2024-01-07 15:00:00 UTC
SUN_2359 = 1704671999  # 2024-01-07 23:59:59 UTC = 20:59:59 in São Paulo
MON_1015 = 1704708900  # 2024-01-08 10:15:00 UTC, a Monday
MON_1045 = 1704710700  # 2024-01-08 10:45:00 UTC

# (message_id, user_id, first_name, date, text, message_type); context_date is the UTC day.
MESSAGES = [
    (1, 11, "Ana", SAT_NOON, "aaa", "text"),
    (2, 11, "Ana", SUN_0230, "ação", "text"),
    (3, 22, "Bruno", SUN_1500, "olá mundo olá", "text"),
    (4, 11, "Ana", SUN_2359, "👍🏽", "text"),
    (5, 22, "Bruno", MON_1015, "bom dia, turma!", "text"),
    (6, 33, "Carla", MON_1045, None, "sticker"),
]
DAYS = {SAT_NOON: "2024-01-06", SUN_0230: "2024-01-07", SUN_1500: "2024-01-07", SUN_2359: "2024-01-07"}
DAYS |= {MON_1015: "2024-01-08", MON_1045: "2024-01-08"}

ENRICHED_SCHEMA = pa.schema(
    [
        ("message_id", pa.int64()),
        ("user_id", pa.int64()),
        ("user_is_bot", pa.bool_()),
        ("user_first_name", pa.string()),
        ("chat_id", pa.int64()),
        ("chat_type", pa.string()),
        ("text", pa.string()),
        ("date", pa.int64()),
        ("update_id", pa.int64()),
        ("message_type", pa.string()),
        ("text_length", pa.int32()),
    ]
)
COLUMNS_DDL = """message_id bigint, user_id bigint, user_is_bot boolean, user_first_name string, chat_id bigint,
  chat_type string, text string, `date` bigint, update_id bigint, message_type string, text_length int"""


def parquet_bytes(rows: list[tuple]) -> bytes:
    table = pa.Table.from_pylist(
        [
            {
                "message_id": m,
                "user_id": u,
                "user_is_bot": False,
                "user_first_name": name,
                "chat_id": -1001234567890,
                "chat_type": "supergroup",
                "text": text,
                "date": ts,
                "update_id": 500000 + m,
                "message_type": kind,
                "text_length": len(text) if text is not None else 0,
            }
            for m, u, name, ts, text, kind in rows
        ],
        schema=ENRICHED_SCHEMA,
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def upload_enriched(s3, prefix: str) -> dict[str, int]:
    """Writes `{prefix}/context_date=DAY/part-0.parquet` per day; returns each file's size."""
    sizes = {}
    for day in sorted(set(DAYS.values())):
        body = parquet_bytes([m for m in MESSAGES if DAYS[m[3]] == day])
        s3.put_object(Bucket=ENRICHED, Key=f"{prefix}/context_date={day}/part-0.parquet", Body=body)
        sizes[day] = len(body)
    return sizes


@pytest.fixture(scope="module")
def aws_server():
    """The sandbox's AWS port (moto behind the protocol layer the engine's own clients go through), in-process."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = SandboxServer(aws_port=0, with_telegram=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def moto_endpoint(aws_server):
    # moto keeps its state per process, shared by every in-process server: each module starts from a clean slate.
    aws_server.aws.reset()
    return aws_server.aws.endpoint_url


def client(endpoint: str, service: str):
    # Explicit fake credentials: module-scoped fixtures run before the suite's per-test credential fixture.
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def lab(moto_endpoint):
    """Buckets, the enriched Parquet, a Glue database and a projection table `telegram`."""
    s3 = client(moto_endpoint, "s3")
    for bucket in (ENRICHED, RESULTS):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    sizes = upload_enriched(s3, "telegram")
    svc = AthenaService(moto_endpoint, REGION)
    run_ok(svc, f"CREATE DATABASE IF NOT EXISTS {DB}")
    run_ok(svc, projection_table_ddl("telegram", "telegram"))
    return {"svc": svc, "endpoint": moto_endpoint, "sizes": sizes, "s3": s3}


def projection_table_ddl(name: str, prefix: str) -> str:
    return f"""CREATE EXTERNAL TABLE IF NOT EXISTS {DB}.{name} ({COLUMNS_DDL})
PARTITIONED BY (context_date string)
STORED AS PARQUET
LOCATION 's3://{ENRICHED}/{prefix}/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.context_date.type' = 'date',
  'projection.context_date.format' = 'yyyy-MM-dd',
  'projection.context_date.range' = '2024-01-01,NOW',
  'storage.location.template' = 's3://{ENRICHED}/{prefix}/context_date=${{context_date}}/'
)"""


def start(svc: AthenaService, sql: str, **params) -> str:
    params.setdefault("QueryExecutionContext", {"Database": DB})
    params.setdefault("ResultConfiguration", {"OutputLocation": OUTPUT})
    return svc.handle("StartQueryExecution", {"QueryString": sql, **params})["QueryExecutionId"]


def wait(svc: AthenaService, execution_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = svc.handle("GetQueryExecution", {"QueryExecutionId": execution_id})["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        time.sleep(0.02)
    raise AssertionError(f"query {execution_id} did not finish in {timeout} s")


def run_ok(svc: AthenaService, sql: str, **params) -> dict:
    execution = wait(svc, start(svc, sql, **params))
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"].get("StateChangeReason")
    return svc.handle("GetQueryResults", {"QueryExecutionId": execution["QueryExecutionId"]}) | {
        "QueryExecution": execution
    }


def rows(svc: AthenaService, sql: str) -> list[list[str | None]]:
    """Data rows (header dropped) as Athena's strings, None for NULL."""
    result = run_ok(svc, sql)["ResultSet"]["Rows"]
    return [[cell.get("VarCharValue") for cell in row["Data"]] for row in result[1:]]


def one(svc: AthenaService, sql: str):
    (row,) = rows(svc, sql)
    return row[0] if len(row) == 1 else row


def types(svc: AthenaService, sql: str) -> list[str]:
    result = run_ok(svc, sql)
    return [c["Type"] for c in result["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]


# -- the original course's queries ----------------------------------------------------------------------
def test_messages_per_day_counts_every_projected_partition(lab):
    sql = "SELECT context_date, count(1) AS message_amount FROM telegram GROUP BY context_date ORDER BY context_date"
    result = run_ok(lab["svc"], sql)
    header, *data = [[c.get("VarCharValue") for c in r["Data"]] for r in result["ResultSet"]["Rows"]]
    assert header == ["context_date", "message_amount"]
    assert data == [["2024-01-06", "1"], ["2024-01-07", "3"], ["2024-01-08", "2"]]
    info = result["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in info] == [
        ("context_date", "varchar"),
        ("message_amount", "bigint"),
    ]


def test_messages_per_user_per_day(lab):
    sql = """SELECT user_id, user_first_name, context_date, count(1) AS message_amount FROM telegram
             GROUP BY user_id, user_first_name, context_date ORDER BY context_date, user_id"""
    assert rows(lab["svc"], sql) == [
        ["11", "Ana", "2024-01-06", "1"],
        ["11", "Ana", "2024-01-07", "2"],
        ["22", "Bruno", "2024-01-07", "1"],
        ["22", "Bruno", "2024-01-08", "1"],
        ["33", "Carla", "2024-01-08", "1"],
    ]


def test_average_text_length_per_user_per_day_is_a_double(lab):
    # Ana on 2024-01-07: 'ação' (4) and '👍🏽' (2 code points) -> avg 3.0; Trino's avg(integer) is double
    # and prints as Java's Double.toString ("3.0").
    sql = """SELECT user_id, context_date, avg(text_length) AS average_message_length FROM telegram
             WHERE message_type = 'text' GROUP BY user_id, context_date ORDER BY context_date, user_id"""
    assert rows(lab["svc"], sql) == [
        ["11", "2024-01-06", "3.0"],
        ["11", "2024-01-07", "3.0"],
        ["22", "2024-01-07", "13.0"],
        ["22", "2024-01-08", "15.0"],
    ]
    assert types(lab["svc"], "SELECT avg(text_length) FROM telegram") == ["double"]


def test_messages_by_hour_and_weekday_in_utc(lab):
    # hour() and day_of_week() of from_unixtime(date) read the UTC wall clock; Monday = 1 ... Sunday = 7.
    sql = """SELECT hour(from_unixtime("date")) AS parsed_date_hour,
                    day_of_week(from_unixtime("date")) AS parsed_date_weekday,
                    week(from_unixtime("date")) AS parsed_date_weeknum,
                    count(1) AS message_amount
             FROM telegram GROUP BY 1, 2, 3 ORDER BY 1, 2"""
    assert rows(lab["svc"], sql) == [
        ["2", "7", "1", "1"],  # Sunday 02:30, ISO week 1
        ["10", "1", "2", "2"],  # Monday 10:15 and 10:45, ISO week 2
        ["12", "6", "1", "1"],  # Saturday 12:00
        ["15", "7", "1", "1"],
        ["23", "7", "1", "1"],
    ]


# -- time zones -----------------------------------------------------------------------------------------
def test_from_unixtime_is_a_utc_timestamp_with_milliseconds(lab):
    sql = 'SELECT from_unixtime("date") FROM telegram WHERE message_id = 2'
    assert one(lab["svc"], sql) == "2024-01-07 02:30:00.000"
    assert types(lab["svc"], sql) == ["timestamp"]


def test_from_unixtime_with_zone_keeps_the_zone_across_the_day_boundary(lab):
    # 02:30 UTC on Sunday is 23:30 on Saturday in São Paulo (UTC-3): the zoned value prints its zone,
    # and date/hour/day_of_week read São Paulo's wall clock.
    sql = """SELECT from_unixtime("date", 'America/Sao_Paulo') AS ts,
                    date(from_unixtime("date", 'America/Sao_Paulo')) AS day,
                    hour(from_unixtime("date", 'America/Sao_Paulo')) AS h,
                    day_of_week(from_unixtime("date", 'America/Sao_Paulo')) AS dow
             FROM telegram WHERE message_id = 2"""
    assert one(lab["svc"], sql) == ["2024-01-06 23:30:00.000 America/Sao_Paulo", "2024-01-06", "23", "6"]
    assert types(lab["svc"], sql)[0] == "timestamp with time zone"


def test_at_time_zone_converts_a_utc_timestamp_to_sao_paulo(lab):
    # A timestamp without zone is read in the session zone (UTC), then shown in São Paulo: 23:59:59 UTC on
    # Sunday is 20:59:59 the same day there; to_unixtime gives back the same instant.
    sql = """SELECT from_unixtime("date") AT TIME ZONE 'America/Sao_Paulo',
                    hour(from_unixtime("date") AT TIME ZONE 'America/Sao_Paulo'),
                    to_unixtime(from_unixtime("date") AT TIME ZONE 'America/Sao_Paulo')
             FROM telegram WHERE message_id = 4"""
    assert one(lab["svc"], sql) == ["2024-01-07 20:59:59.000 America/Sao_Paulo", "20", "1.704671999E9"]


def test_counting_per_sao_paulo_day_moves_the_late_message_to_saturday(lab):
    sql = """SELECT date(from_unixtime("date", 'America/Sao_Paulo')) AS dia, count(*) FROM telegram
             GROUP BY 1 ORDER BY 1"""
    assert rows(lab["svc"], sql) == [["2024-01-06", "2"], ["2024-01-07", "2"], ["2024-01-08", "2"]]


# -- dates ------------------------------------------------------------------------------------------------
def test_date_format_uses_mysql_codes(lab):
    # %i is minutes and %W the weekday name in Trino's date_format (MySQL codes), %M the month name.
    sql = """SELECT date_format(from_unixtime("date"), '%Y-%m-%d %H:%i:%s'),
                    date_format(from_unixtime("date"), '%W, %d de %M')
             FROM telegram WHERE message_id = 2"""
    assert one(lab["svc"], sql) == ["2024-01-07 02:30:00", "Sunday, 07 de January"]


def test_format_datetime_uses_joda_patterns(lab):
    sql = """SELECT format_datetime(from_unixtime("date"), 'yyyy-MM-dd HH:mm') FROM telegram WHERE message_id = 5"""
    assert one(lab["svc"], sql) == "2024-01-08 10:15"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("day_of_week(date '2024-01-07')", "7"),  # Sunday
        ("day_of_week(date '2024-01-08')", "1"),  # Monday
        ("dow(date '2024-01-07')", "7"),
        ("EXTRACT(dow FROM date '2024-01-07')", "7"),  # DuckDB's own dayofweek would say 0
        ("week(date '2024-01-07')", "1"),  # ISO weeks start on Monday
        ("week_of_year(date '2024-01-08')", "2"),
        ("week(date '2024-12-30')", "1"),  # ISO week 1 of 2025
        ("hour(timestamp '2024-01-07 23:15:00')", "23"),
        ("date_trunc('month', date '2024-01-07')", "2024-01-01"),
        ("date('2024-01-07')", "2024-01-07"),
        ("date '2024-01-07' + INTERVAL '1' DAY", "2024-01-08"),
        ("to_unixtime(timestamp '2024-01-07 02:30:00')", "1.7045946E9"),
    ],
)
def test_date_functions_follow_trino(lab, expression, expected):
    assert one(lab["svc"], f"SELECT {expression}") == expected


def test_date_partition_compares_with_date_literal(lab):
    sql = "SELECT count(*) FROM telegram WHERE date(context_date) >= date '2024-01-07'"
    assert one(lab["svc"], sql) == "5"


# -- strings, numbers and casts ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("length('ação')", "4"),  # code points, not bytes (6)
        ("length('👍🏽')", "2"),  # thumbs up + skin tone modifier: 2 code points, 1 grapheme
        ("regexp_replace('aaa', 'a', 'b')", "bbb"),  # Trino replaces every match
        ("regexp_replace('2024-01-07', '(\\d+)-(\\d+)-(\\d+)', '$3/$2/$1')", "07/01/2024"),
        ("regexp_replace('bom dia, turma!', '[^a-z ]')", "bom dia turma"),
        ("regexp_like('bom dia', 'dia')", "true"),
        ("5 / 2", "2"),  # integer division truncates
        ("-7 / 2", "-3"),  # toward zero
        ("5 / 2.0", "2.5"),
        ("CAST('42' AS integer) + 1", "43"),
        ("TRY_CAST('abc' AS integer)", None),
        ("CAST(3.7 AS bigint)", "4"),  # Trino rounds
        ("CAST(true AS varchar)", "true"),
        ("lower(trim('  Olá  '))", "olá"),
        ("cardinality(split('a b c', ' '))", "3"),
        ("COALESCE(NULL, 'x')", "x"),
        ("CASE WHEN 1 > 2 THEN 'a' ELSE 'b' END", "b"),
    ],
)
def test_scalar_functions_follow_trino(lab, expression, expected):
    assert one(lab["svc"], f"SELECT {expression}") == expected


def test_integer_division_result_is_bigint_typed_integer(lab):
    assert types(lab["svc"], "SELECT 5 / 2, length('x'), count(*) FROM telegram") == [
        "integer",
        "bigint",
        "bigint",
    ]


def test_split_and_cross_join_unnest_count_words(lab):
    sql = """SELECT word, count(*) AS n FROM telegram CROSS JOIN UNNEST(split(text, ' ')) AS t(word)
             WHERE message_id = 3 GROUP BY word ORDER BY n DESC, word"""
    assert rows(lab["svc"], sql) == [["olá", "2"], ["mundo", "1"]]


def test_null_text_is_missing_varchar_value(lab):
    result = run_ok(lab["svc"], "SELECT text, message_type FROM telegram WHERE message_id = 6")
    assert result["ResultSet"]["Rows"][1]["Data"] == [{}, {"VarCharValue": "sticker"}]


def test_distinct_counts_and_window_functions(lab):
    sql = """SELECT approx_distinct(user_id), count(DISTINCT context_date) FROM telegram"""
    assert one(lab["svc"], sql) == ["3", "3"]
    sql = """SELECT message_id, row_number() OVER (PARTITION BY user_id ORDER BY "date") AS n FROM telegram
             WHERE user_id = 11 ORDER BY message_id"""
    assert rows(lab["svc"], sql) == [["1", "1"], ["2", "2"], ["4", "3"]]


def test_unnamed_columns_are_named_by_position(lab):
    result = run_ok(
        lab["svc"], "SELECT user_id, count(*), max(text_length) AS longest FROM telegram GROUP BY 1"
    )
    header = [c["VarCharValue"] for c in result["ResultSet"]["Rows"][0]["Data"]]
    assert header == ["user_id", "_col1", "longest"]


# -- partitions and scanned bytes -------------------------------------------------------------------------
def test_partition_filter_scans_only_that_day(lab):
    result = run_ok(lab["svc"], "SELECT count(*) FROM telegram WHERE context_date = '2024-01-08'")
    assert result["ResultSet"]["Rows"][1]["Data"][0]["VarCharValue"] == "2"
    assert result["QueryExecution"]["Statistics"]["DataScannedInBytes"] == lab["sizes"]["2024-01-08"]


def test_range_filter_on_partition_prunes_and_full_scan_reads_everything(lab):
    result = run_ok(
        lab["svc"], "SELECT count(*) FROM telegram WHERE context_date BETWEEN '2024-01-07' AND '2024-01-08'"
    )
    sizes = lab["sizes"]
    assert (
        result["QueryExecution"]["Statistics"]["DataScannedInBytes"]
        == sizes["2024-01-07"] + sizes["2024-01-08"]
    )
    full = run_ok(lab["svc"], "SELECT count(*) FROM telegram")
    assert full["QueryExecution"]["Statistics"]["DataScannedInBytes"] == sum(sizes.values())


def test_a_file_written_again_is_read_again_and_a_repeated_query_scans_the_same_bytes(lab):
    # The ETL rewrites a day's Parquet under the same key; the next query sees the new rows, as on Athena.
    svc, s3 = lab["svc"], lab["s3"]
    key = "rewritten/context_date=2024-01-08/part-0.parquet"
    s3.put_object(Bucket=ENRICHED, Key=key, Body=parquet_bytes(MESSAGES[4:5]))
    run_ok(svc, projection_table_ddl("rewritten", "rewritten"))
    first = run_ok(svc, "SELECT count(*) FROM rewritten")
    again = run_ok(svc, "SELECT count(*) FROM rewritten")
    body = parquet_bytes(MESSAGES[4:6])
    s3.put_object(Bucket=ENRICHED, Key=key, Body=body)
    after = run_ok(svc, "SELECT count(*) FROM rewritten")

    counts = [r["ResultSet"]["Rows"][1]["Data"][0]["VarCharValue"] for r in (first, again, after)]
    assert counts == ["1", "1", "2"]
    scanned = [r["QueryExecution"]["Statistics"]["DataScannedInBytes"] for r in (first, again, after)]
    assert scanned[0] == scanned[1] and scanned[2] == len(body)

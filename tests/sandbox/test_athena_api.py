"""The Athena API of the sandbox: DDL on the Glue catalog, result files, workgroups, failures, paging, stop.

Driven through `AthenaService.handle` and, for the paginator, through boto3's own athena client.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from sandbox.athena import AthenaError, AthenaService
from tests.sandbox import test_athena_sql as base
from tests.sandbox.test_athena_sql import (
    DB,
    ENRICHED,
    OUTPUT,
    REGION,
    RESULTS,
    client,
    one,
    projection_table_ddl,
    run_ok,
    start,
    upload_enriched,
    wait,
)

# The same module-scoped moto server and lab as the SQL tests' (one server per module).
aws_server = base.aws_server
moto_endpoint = base.moto_endpoint
lab = base.lab

PARTITIONED_DDL = """CREATE EXTERNAL TABLE {db}.{name} (message_id bigint, user_id bigint, text string, `date` bigint)
PARTITIONED BY (context_date {key_type})
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://{bucket}/{prefix}/'"""


def failed(svc: AthenaService, sql: str, **params) -> dict:
    execution = wait(svc, start(svc, sql, **params))
    assert execution["Status"]["State"] == "FAILED"
    return execution


# -- DDL --------------------------------------------------------------------------------------------------
def test_plain_partitioned_table_sees_no_rows_until_msck_repair(lab):
    svc = lab["svc"]
    upload_enriched(lab["s3"], "plain")
    run_ok(
        svc, PARTITIONED_DDL.format(db=DB, name="plain", key_type="string", bucket=ENRICHED, prefix="plain")
    )
    # As on Athena: without projection, only partitions registered in Glue exist.
    assert one(svc, "SELECT count(*) FROM plain") == "0"
    repair = run_ok(svc, "MSCK REPAIR TABLE plain")
    lines = [r["Data"][0]["VarCharValue"] for r in repair["ResultSet"]["Rows"]]
    assert lines[1:] == [
        f"Repair: Added partition to metastore plain:context_date=2024-01-0{d}" for d in (6, 7, 8)
    ]
    assert one(svc, "SELECT count(*) FROM plain") == "6"
    partitions = run_ok(svc, "SHOW PARTITIONS plain")["ResultSet"]["Rows"]
    assert [r["Data"][0]["VarCharValue"] for r in partitions] == [
        "context_date=2024-01-06",
        "context_date=2024-01-07",
        "context_date=2024-01-08",
    ]
    # The same catalog boto3's Glue client sees.
    glue = client(lab["endpoint"], "glue")
    assert len(glue.get_partitions(DatabaseName=DB, TableName="plain")["Partitions"]) == 3
    # A second repair finds nothing new.
    assert run_ok(svc, "MSCK REPAIR TABLE plain")["ResultSet"]["Rows"] == []


def test_alter_table_add_partition_makes_one_day_visible(lab):
    svc = lab["svc"]
    run_ok(
        svc,
        PARTITIONED_DDL.format(db=DB, name="manual", key_type="string", bucket=ENRICHED, prefix="telegram"),
    )
    run_ok(svc, "ALTER TABLE manual ADD IF NOT EXISTS PARTITION (context_date = '2024-01-08')")
    assert one(svc, "SELECT count(*) FROM manual") == "2"
    location = f"s3://{ENRICHED}/telegram/context_date=2024-01-06/"
    run_ok(svc, f"ALTER TABLE manual ADD PARTITION (context_date = '2024-01-06') LOCATION '{location}'")
    assert one(svc, "SELECT count(*) FROM manual") == "3"
    run_ok(svc, "ALTER TABLE manual ADD IF NOT EXISTS PARTITION (context_date = '2024-01-08')")
    again = failed(svc, "ALTER TABLE manual ADD PARTITION (context_date = '2024-01-08')")
    assert "AlreadyExistsException" in again["Status"]["StateChangeReason"]


def test_date_typed_projection_partition_filters_with_a_date_literal(lab):
    svc = lab["svc"]
    ddl = projection_table_ddl("telegram_by_date", "telegram").replace(
        "PARTITIONED BY (context_date string)", "PARTITIONED BY (context_date date)"
    )
    run_ok(svc, ddl)
    result = run_ok(
        svc, "SELECT count(*), min(context_date) FROM telegram_by_date WHERE context_date = DATE '2024-01-07'"
    )
    assert [c["VarCharValue"] for c in result["ResultSet"]["Rows"][1]["Data"]] == ["3", "2024-01-07"]
    assert [c["Type"] for c in result["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]] == ["bigint", "date"]
    assert result["QueryExecution"]["Statistics"]["DataScannedInBytes"] == lab["sizes"]["2024-01-07"]


def test_show_and_describe_list_the_catalog(lab):
    svc = lab["svc"]
    databases = run_ok(svc, "SHOW DATABASES")
    assert {"VarCharValue": DB} in [r["Data"][0] for r in databases["ResultSet"]["Rows"]]
    assert databases["ResultSet"]["ResultSetMetadata"]["ColumnInfo"][0]["Name"] == "database_name"
    tables = [r["Data"][0]["VarCharValue"] for r in run_ok(svc, f"SHOW TABLES IN {DB}")["ResultSet"]["Rows"]]
    assert "telegram" in tables
    described = [r["Data"][0]["VarCharValue"] for r in run_ok(svc, "DESCRIBE telegram")["ResultSet"]["Rows"]]
    assert described[0].split("\t")[:2] == ["message_id          ", "bigint              "]
    assert any(line.startswith("# Partition Information") for line in described)


def test_drop_database_needs_cascade_when_it_has_tables(lab):
    svc = lab["svc"]
    run_ok(svc, "CREATE DATABASE scratch")
    run_ok(
        svc,
        PARTITIONED_DDL.format(db="scratch", name="t", key_type="string", bucket=ENRICHED, prefix="telegram"),
    )
    refused = failed(svc, "DROP DATABASE scratch")
    assert "is not empty" in refused["Status"]["StateChangeReason"]
    run_ok(svc, "DROP TABLE IF EXISTS scratch.missing")
    run_ok(svc, "DROP DATABASE IF EXISTS scratch CASCADE")
    gone = failed(svc, "SELECT * FROM scratch.t")
    assert (
        gone["Status"]["StateChangeReason"] == "SCHEMA_NOT_FOUND: line 1:15: Schema 'scratch' does not exist"
    )


# -- result files -----------------------------------------------------------------------------------------
def test_result_csv_and_metadata_are_written_at_the_output_location(lab):
    svc = lab["svc"]
    result = run_ok(
        svc,
        "SELECT message_id, text, user_is_bot FROM telegram WHERE message_id IN (3, 6) ORDER BY message_id",
    )
    execution = result["QueryExecution"]
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"{OUTPUT}{execution['QueryExecutionId']}.csv"
    key = location.removeprefix(f"s3://{RESULTS}/")
    body = lab["s3"].get_object(Bucket=RESULTS, Key=key)["Body"].read().decode()
    # Every field quoted; NULL (the sticker's text) is an empty unquoted field.
    assert body == '"message_id","text","user_is_bot"\n"3","olá mundo olá","false"\n"6",,"false"\n'
    metadata = json.loads(lab["s3"].get_object(Bucket=RESULTS, Key=key + ".metadata")["Body"].read())
    assert [c["Type"] for c in metadata["ColumnInfo"]] == ["bigint", "varchar", "boolean"]
    assert execution["StatementType"] == "DML"


def test_execution_parameters_fill_the_question_marks_in_order(lab):
    """ExecutionParameters (PyAthena's qmark style): SQL literals for each `?`, not those inside quotes."""
    svc = lab["svc"]
    sql = "SELECT message_id, '?' AS q FROM telegram WHERE message_id = ? AND text = ? -- ?"
    result = run_ok(svc, sql, ExecutionParameters=["3", "'olá mundo olá'"])
    assert [[c.get("VarCharValue") for c in r["Data"]] for r in result["ResultSet"]["Rows"]] == [
        ["message_id", "q"],
        ["3", "?"],
    ]
    assert result["QueryExecution"]["Query"] == sql
    assert result["QueryExecution"]["ExecutionParameters"] == ["3", "'olá mundo olá'"]


@pytest.mark.parametrize("values", [[], ["1", "2"]])
def test_execution_parameters_must_match_the_question_marks(lab, values):
    params = {"ExecutionParameters": values} if values else {}
    execution = failed(lab["svc"], "SELECT count(*) FROM telegram WHERE message_id = ?", **params)
    assert execution["Status"]["StateChangeReason"] == (
        "INVALID_PARAMETER_USAGE: line 1:1: Incorrect number of parameters: expected 1 but found "
        f"{len(values)}"
    )


def test_ddl_writes_a_txt_result(lab):
    execution = run_ok(lab["svc"], "SHOW TABLES")["QueryExecution"]
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location.endswith(".txt")
    text = lab["s3"].get_object(Bucket=RESULTS, Key=location.removeprefix(f"s3://{RESULTS}/"))["Body"].read()
    assert b"telegram\n" in text
    assert execution["StatementType"] == "UTILITY"


# -- failures ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        (
            "SELECT * FROM nope",
            "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.telegram_db.nope' does not exist",
        ),
        (
            "SELECT x FROM telegram",
            "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved or requester is not authorized to access "
            "requested resources",
        ),
        ("SELECT * FROM nowhere.t", "SCHEMA_NOT_FOUND: line 1:15: Schema 'nowhere' does not exist"),
        ("SELEC * FROM telegram", "SYNTAX_ERROR: line 1:1: mismatched input 'SELEC'"),
        ("SELECT nope(text) FROM telegram", "FUNCTION_NOT_FOUND: line 1:8: Function 'nope' not registered"),
        ("SELECT CAST('abc' AS integer)", "INVALID_CAST_ARGUMENT: Cannot cast 'abc' to INT"),
    ],
)
def test_failed_query_reason_is_shaped_like_athena(lab, sql, reason):
    execution = failed(lab["svc"], sql)
    status = execution["Status"]
    assert status["StateChangeReason"] == reason
    assert status["AthenaError"]["ErrorMessage"] == reason
    assert status["CompletionDateTime"] >= status["SubmissionDateTime"]
    with pytest.raises(AthenaError) as error:
        lab["svc"].handle("GetQueryResults", {"QueryExecutionId": execution["QueryExecutionId"]})
    assert error.value.code == "InvalidRequestException"


def test_missing_output_location_is_rejected_like_athena(lab):
    with pytest.raises(AthenaError) as error:
        lab["svc"].handle("StartQueryExecution", {"QueryString": "SELECT 1"})
    assert error.value.code == "InvalidRequestException"
    assert error.value.message.startswith("No output location provided.")


def test_missing_output_bucket_fails_the_query(lab):
    execution = failed(
        lab["svc"], "SELECT 1", ResultConfiguration={"OutputLocation": "s3://no-such-bucket/x/"}
    )
    assert execution["Status"]["StateChangeReason"] == "Unable to verify/create output bucket no-such-bucket"


def test_unknown_execution_id_is_an_invalid_request(lab):
    with pytest.raises(AthenaError) as error:
        lab["svc"].handle("GetQueryExecution", {"QueryExecutionId": "00000000-0000-4000-8000-000000000000"})
    assert error.value.code == "InvalidRequestException"


# -- workgroups, idempotency, listing ---------------------------------------------------------------------
def test_workgroup_output_location_is_used_and_enforced(lab):
    athena = client(lab["endpoint"], "athena")
    athena.create_work_group(
        Name="curso",
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/curso/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )
    svc = lab["svc"]
    execution = wait(svc, start(svc, "SELECT 1", WorkGroup="curso"))
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{RESULTS}/curso/")
    assert execution["WorkGroup"] == "curso"
    with pytest.raises(AthenaError, match="WorkGroup ghost is not found"):
        start(svc, "SELECT 1", WorkGroup="ghost")
    listed = svc.handle("ListQueryExecutions", {"WorkGroup": "curso"})
    assert listed["QueryExecutionIds"] == [execution["QueryExecutionId"]]


def test_client_request_token_returns_the_same_execution(lab):
    svc = lab["svc"]
    first = start(svc, "SELECT 1", ClientRequestToken="token-aula-01-000000000000000000")
    second = start(svc, "SELECT 1", ClientRequestToken="token-aula-01-000000000000000000")
    assert first == second


def test_list_pages_newest_first_and_batch_get_reports_unknown_ids(lab):
    svc = lab["svc"]
    ids = [start(svc, f"SELECT {n}") for n in range(3)]
    for execution_id in ids:
        wait(svc, execution_id)
    page = svc.handle("ListQueryExecutions", {"MaxResults": 2})
    assert page["QueryExecutionIds"] == ids[::-1][:2]
    rest = svc.handle("ListQueryExecutions", {"MaxResults": 2, "NextToken": page["NextToken"]})
    assert rest["QueryExecutionIds"][0] == ids[0]
    batch = svc.handle("BatchGetQueryExecution", {"QueryExecutionIds": [ids[0], "missing-id"]})
    assert [e["QueryExecutionId"] for e in batch["QueryExecutions"]] == [ids[0]]
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "missing-id"


def test_execution_ids_are_uuids_repeatable_under_a_seed(lab):
    first = AthenaService(lab["endpoint"], REGION, seed=7)
    second = AthenaService(lab["endpoint"], REGION, seed=7)
    a, b = start(first, "SELECT 1"), start(second, "SELECT 1")
    assert a == b and len(a) == 36 and a[14] == "4"
    wait(first, a), wait(second, b)
    first.reset()
    assert start(first, "SELECT 1") == a  # reset forgets executions and restarts the sequence
    wait(first, a)


def test_stop_query_execution_cancels_a_running_query(lab):
    svc = lab["svc"]
    # 10^12 rows: it runs until stopped.
    sql = """SELECT sum(x * y * z) FROM UNNEST(sequence(1, 10000)) AS a(x)
             CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) CROSS JOIN UNNEST(sequence(1, 10000)) AS c(z)"""
    execution_id = start(svc, sql)
    deadline = time.monotonic() + 10
    state = "QUEUED"
    while state == "QUEUED" and time.monotonic() < deadline:
        state = svc.handle("GetQueryExecution", {"QueryExecutionId": execution_id})["QueryExecution"][
            "Status"
        ]["State"]
        time.sleep(0.01)
    assert state == "RUNNING"
    with pytest.raises(AthenaError, match="Current state: RUNNING"):
        svc.handle("GetQueryResults", {"QueryExecutionId": execution_id})
    svc.handle("StopQueryExecution", {"QueryExecutionId": execution_id})
    assert wait(svc, execution_id, timeout=10)["Status"]["State"] == "CANCELLED"
    # The worker thread notices the interrupt and ends (bounded wait).
    thread = next((t for t in threading.enumerate() if t.name == f"athena-{execution_id[:8]}"), None)
    if thread is not None:
        thread.join(timeout=10)
        assert not thread.is_alive()


# -- boto3 through the sandbox's AWS port ----------------------------------------------------------------
@pytest.fixture(scope="module")
def athena_client(lab):
    """boto3's athena client talking to the sandbox's AWS port, in the protocol the installed botocore models."""
    return client(lab["endpoint"], "athena")


def test_boto3_paginator_reads_more_than_1000_rows(athena_client):
    execution_id = athena_client.start_query_execution(
        QueryString="SELECT n, n * 2 AS double_n FROM UNNEST(sequence(1, 1500)) AS t(n)",
        ResultConfiguration={"OutputLocation": OUTPUT},
    )["QueryExecutionId"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = athena_client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
        if status["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.02)
    assert status["State"] == "SUCCEEDED"
    assert status["CompletionDateTime"] >= status["SubmissionDateTime"]  # boto3 parsed both as datetimes
    pages = list(athena_client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id))
    assert [len(p["ResultSet"]["Rows"]) for p in pages] == [1000, 501]  # the header is the first row
    rows = [r["Data"] for p in pages for r in p["ResultSet"]["Rows"]]
    assert rows[0] == [{"VarCharValue": "n"}, {"VarCharValue": "double_n"}]
    assert rows[-1] == [{"VarCharValue": "1500"}, {"VarCharValue": "3000"}]


def test_boto3_sees_athena_errors_as_client_errors(athena_client):
    with pytest.raises(athena_client.exceptions.InvalidRequestException, match="No output location provided"):
        athena_client.start_query_execution(QueryString="SELECT 1")

"""CREATE TABLE AS SELECT, INSERT INTO and UNLOAD write Parquet to S3 and the table to Glue as Athena does.

Driven through `AthenaService.handle` on the module's moto server (see test_athena_sql); the files are read
back with pyarrow, independently of the engine.
"""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from tests.sandbox import test_athena_sql as base
from tests.sandbox.test_athena_sql import DB, ENRICHED, OUTPUT, RESULTS, client, rows, run_ok, start, wait

aws_server = base.aws_server
moto_endpoint = base.moto_endpoint
lab = base.lab


def failure(svc, sql: str) -> str:
    execution = wait(svc, start(svc, sql))
    assert execution["Status"]["State"] == "FAILED", sql
    return execution["Status"]["StateChangeReason"]


def keys(s3, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def manifest(lab, execution: dict) -> list[str]:
    location = execution["Statistics"]["DataManifestLocation"]
    bucket, key = location.removeprefix("s3://").split("/", 1)
    return lab["s3"].get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()


def read_back(lab, uri: str) -> list[dict]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return pq.read_table(io.BytesIO(lab["s3"].get_object(Bucket=bucket, Key=key)["Body"].read())).to_pylist()


def test_partitioned_ctas_writes_hive_folders_a_manifest_and_the_glue_table(lab):
    svc = lab["svc"]
    location = f"s3://{ENRICHED}/ctas/por_dia/"
    result = run_ok(
        svc,
        f"""CREATE TABLE por_dia WITH (format = 'PARQUET', external_location = '{location}',
               partitioned_by = ARRAY['context_date'], write_compression = 'SNAPPY')
            AS SELECT user_id, count(*) AS mensagens, context_date FROM telegram GROUP BY user_id, context_date""",
    )
    execution = result["QueryExecution"]
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DDL", "CREATE_TABLE_AS_SELECT")
    # Trino answers a CTAS with the number of rows written, in a `rows` bigint column.
    assert [[c.get("VarCharValue") for c in r["Data"]] for r in result["ResultSet"]["Rows"]] == [
        ["rows"],
        ["5"],
    ]
    files = manifest(lab, execution)
    assert (
        execution["Statistics"]["DataManifestLocation"]
        == f"{OUTPUT}{execution['QueryExecutionId']}-manifest.csv"
    )
    assert sorted(f.split("/")[-2] for f in files) == [f"context_date=2024-01-0{d}" for d in (6, 7, 8)]
    assert all(f.startswith(location) for f in files)
    written = [row for f in files for row in read_back(lab, f)]
    # The data files hold only the data columns; the key lives in the folder name, as Hive lays it out.
    assert sorted((r["user_id"], r["mensagens"]) for r in written) == [
        (11, 1),
        (11, 2),
        (22, 1),
        (22, 1),
        (33, 1),
    ]
    table = client(lab["endpoint"], "glue").get_table(DatabaseName=DB, Name="por_dia")["Table"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("user_id", "bigint"),
        ("mensagens", "bigint"),  # Trino's count(*) is a bigint (DuckDB's int128 sum would not be)
    ]
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [("context_date", "string")]
    assert table["StorageDescriptor"]["Location"] == location
    assert "ParquetHiveSerDe" in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert rows(svc, "SELECT context_date, sum(mensagens) FROM por_dia GROUP BY 1 ORDER BY 1") == [
        ["2024-01-06", "1"],
        ["2024-01-07", "3"],
        ["2024-01-08", "2"],
    ]
    glue_partitions = client(lab["endpoint"], "glue").get_partitions(DatabaseName=DB, TableName="por_dia")
    assert len(glue_partitions["Partitions"]) == 3


def test_ctas_without_location_writes_under_the_result_location_tables_folder(lab):
    svc = lab["svc"]
    execution = run_ok(svc, "CREATE TABLE sem_local AS SELECT message_id, text FROM telegram")[
        "QueryExecution"
    ]
    folder = f"{OUTPUT}tables/{execution['QueryExecutionId']}/"
    table = client(lab["endpoint"], "glue").get_table(DatabaseName=DB, Name="sem_local")["Table"]
    assert table["StorageDescriptor"]["Location"] == folder
    assert [f.startswith(folder) for f in manifest(lab, execution)] == [True]
    assert sorted(r["text"] or "" for r in read_back(lab, manifest(lab, execution)[0]))[-1] == "👍🏽"


def test_ctas_refuses_a_taken_name_and_a_non_empty_location(lab):
    svc = lab["svc"]
    run_ok(svc, "CREATE TABLE existente AS SELECT 1 AS um")
    assert failure(svc, "CREATE TABLE existente AS SELECT 2 AS dois") == (
        f"TABLE_ALREADY_EXISTS: line 1:1: Destination table 'awsdatacatalog.{DB}.existente' already exists"
    )
    run_ok(svc, "CREATE TABLE IF NOT EXISTS existente AS SELECT 2 AS dois")  # no-op, as in Trino
    # Athena never overwrites: the target prefix must be empty (the enriched data is there).
    occupied = f"s3://{ENRICHED}/telegram/"
    assert failure(
        svc, f"CREATE TABLE por_cima WITH (external_location = '{occupied}') AS SELECT 1 AS um"
    ) == (f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{DB}.por_cima' already exists: {occupied}")
    assert (
        client(lab["endpoint"], "glue").get_tables(DatabaseName=DB, Expression="por_cima")["TableList"] == []
    )


@pytest.mark.parametrize(
    ("select", "reason"),
    [
        (
            "SELECT count(*) FROM telegram",
            "MISSING_COLUMN_NAME: line 1:1: Column name not specified at position 1",
        ),
        (
            "SELECT 1 AS a, 2 AS A",
            "DUPLICATE_COLUMN_NAME: line 1:1: Column name 'a' specified more than once",
        ),
        ("SELECT NULL AS nada", "COLUMN_TYPE_UNKNOWN: line 1:1: Column type is unknown at position 1"),
        (
            "SELECT from_unixtime(date, 'America/Sao_Paulo') AS quando FROM telegram",
            "NOT_SUPPORTED: Unsupported Hive type: timestamp(3) with time zone",
        ),
    ],
)
def test_ctas_columns_a_hive_table_cannot_hold_fail_as_in_trino(lab, select, reason):
    assert failure(lab["svc"], f"CREATE TABLE invalida AS {select}") == reason


def test_partition_keys_must_be_the_last_columns(lab):
    reason = failure(
        lab["svc"],
        "CREATE TABLE fora_de_ordem WITH (partitioned_by = ARRAY['context_date']) "
        "AS SELECT context_date, message_id FROM telegram",
    )
    assert reason.startswith("HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns")


def test_drop_table_keeps_the_data_and_insert_into_appends(lab):
    svc, s3 = lab["svc"], lab["s3"]
    location = f"s3://{ENRICHED}/ctas/copia/"
    run_ok(
        svc,
        f"CREATE TABLE copia WITH (external_location = '{location}', partitioned_by = ARRAY['context_date']) "
        "AS SELECT message_id, text, context_date FROM telegram WHERE context_date = '2024-01-06'",
    )
    inserted = run_ok(
        svc,
        "INSERT INTO copia SELECT message_id, text, context_date FROM telegram WHERE context_date > '2024-01-06'",
    )
    assert inserted["QueryExecution"]["StatementType"] == "DML"
    assert [[c.get("VarCharValue") for c in r["Data"]] for r in inserted["ResultSet"]["Rows"]] == [
        ["rows"],
        ["5"],
    ]
    assert len(manifest(lab, inserted["QueryExecution"])) == 2  # one new file per new partition
    run_ok(svc, "INSERT INTO copia VALUES (7, 'nova', '2024-01-06')")  # an integer widens to bigint
    run_ok(svc, "INSERT INTO copia (context_date, message_id) VALUES ('2024-01-06', 8)")  # text is NULL
    assert rows(svc, "SELECT count(*), count(DISTINCT context_date), count(text) FROM copia") == [
        ["8", "3", "6"]  # 1 + 4 + 1 texts: the sticker and message 8 have none
    ]
    assert failure(svc, "INSERT INTO copia VALUES ('sete', 'nova', '2024-01-06')").startswith(
        "TYPE_MISMATCH: line 1:1: Insert query has mismatched column types: Table: [bigint, string, string], "
        "Query: [string, string, string]"
    )
    before = keys(s3, ENRICHED, "ctas/copia/")
    run_ok(svc, "DROP TABLE copia")
    # Athena's DROP TABLE forgets an external table; its files stay in S3.
    assert keys(s3, ENRICHED, "ctas/copia/") == before and len(before) == 5
    assert "TABLE_NOT_FOUND" in failure(svc, "SELECT * FROM copia")


def test_unload_writes_parquet_to_an_empty_prefix_only(lab):
    svc = lab["svc"]
    target = f"s3://{RESULTS}/unload/semana/"
    result = run_ok(
        svc,
        f"UNLOAD (SELECT message_id, upper(text) AS texto FROM telegram WHERE text IS NOT NULL) "
        f"TO '{target}' WITH (format = 'PARQUET', compression = 'SNAPPY')",
    )
    execution = result["QueryExecution"]
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DML", "UNLOAD")
    (written,) = manifest(lab, execution)
    assert written.startswith(target)
    assert sorted(r["texto"] for r in read_back(lab, written))[:2] == ["AAA", "AÇÃO"]
    again = failure(svc, f"UNLOAD (SELECT 1 AS um) TO '{target}' WITH (format = 'PARQUET')")
    assert again.startswith("HIVE_PATH_ALREADY_EXISTS") and target in again
    assert failure(svc, f"UNLOAD (SELECT 1 AS um) TO 's3://{RESULTS}/unload/csv/' WITH (format = 'TEXTFILE')")


def test_partitioned_unload_writes_hive_folders(lab):
    target = f"s3://{RESULTS}/unload/por_dia/"
    execution = run_ok(
        lab["svc"],
        f"UNLOAD (SELECT message_id, context_date FROM telegram) TO '{target}' "
        "WITH (format = 'PARQUET', partitioned_by = ARRAY['context_date'])",
    )["QueryExecution"]
    files = manifest(lab, execution)
    assert sorted(f.removeprefix(target).split("/")[0] for f in files) == [
        f"context_date=2024-01-0{d}" for d in (6, 7, 8)
    ]
    assert sorted(r["message_id"] for f in files for r in read_back(lab, f)) == [1, 2, 3, 4, 5, 6]

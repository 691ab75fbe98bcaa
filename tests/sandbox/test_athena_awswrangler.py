"""awswrangler (AWS SDK for pandas) against the sandbox: its three Athena paths return the notebook's frame.

`wr.athena.read_sql_query` by default wraps the query in a CTAS, reads the Parquet listed in the query's data
manifest and drops the temporary table; `ctas_approach=False` reads the result CSV; `unload_approach=True`
runs UNLOAD. The reference is notebook 05's own `query()` helper (boto3), run from the notebook's source.
"""

from __future__ import annotations

import time

import boto3
import pandas as pd
import pytest

from tests.sandbox import mensagens_lab
from tests.sandbox.aws_fixtures import REGION, notebook_cell, start_sandbox, stop_sandbox

wr = pytest.importorskip("awswrangler")

ENRICHED = "turma-enriched"
RESULTS = "turma-athena"
WORKGROUP = DATABASE = "telegram"
FAST = 0.05  # awswrangler polls every second by default; the sandbox answers in milliseconds


@pytest.fixture(scope="module")
def turma(tmp_path_factory):
    """A sandbox with notebook 05's workgroup, database and `mensagens` table over the hand-made class."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("wr-sandbox"))
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    saved = {
        k: getattr(wr.config, k) for k in ("s3_endpoint_url", "athena_endpoint_url", "glue_endpoint_url")
    }
    try:
        for key in saved:
            setattr(wr.config, key, sandbox.endpoint_url)
        s3, athena = sandbox.client("s3"), sandbox.client("athena")
        for bucket in (ENRICHED, RESULTS):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        mensagens_lab.upload(s3, ENRICHED)
        athena.create_work_group(
            Name=WORKGROUP,
            Configuration={
                "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/resultados/"},
                "EnforceWorkGroupConfiguration": True,
            },
        )
        # The notebook's query() helper and its CREATE TABLE cell, run as written.
        namespace = {"athena": athena, "glue": sandbox.client("glue"), "time": time, "pd": pd}
        namespace |= {"WORKGROUP": WORKGROUP, "DATABASE": DATABASE, "TABLE": "mensagens"}
        namespace |= {"ENRICHED_BUCKET": ENRICHED, "print": lambda *a, **k: None}
        exec(notebook_cell("def query("), namespace)  # noqa: S102 - the notebook's own code
        exec(notebook_cell("CREATE EXTERNAL TABLE"), namespace)  # noqa: S102
        yield {"sandbox": sandbox, "session": session, "query": namespace["query"], "s3": s3}
    finally:
        for key, value in saved.items():
            setattr(wr.config, key, value)
        stop_sandbox(sandbox)


QUERIES = [
    "SELECT context_date, count(*) AS mensagens FROM mensagens GROUP BY context_date ORDER BY context_date",
    """SELECT user_first_name AS participante, count(1) AS mensagens, max(text_length) AS maior
       FROM mensagens GROUP BY user_id, user_first_name ORDER BY mensagens DESC, participante""",
    """SELECT message_id, text, user_username, edit_date - date AS segundos_ate_editar
       FROM mensagens WHERE context_date = '2024-01-06' ORDER BY message_id""",
]


def comparable(frame: pd.DataFrame) -> list[list]:
    """Row values with NULLs as None, so a CSV-read and a Parquet-read frame compare by value."""
    return [[None if pd.isna(v) else v for v in row] for row in frame.astype(object).itertuples(index=False)]


@pytest.mark.parametrize("sql", QUERIES)
def test_read_sql_query_paths_return_the_notebook_frame(turma, sql):
    expected = turma["query"](sql)
    kwargs = {"database": DATABASE, "workgroup": WORKGROUP, "boto3_session": turma["session"]}
    kwargs["athena_query_wait_polling_delay"] = FAST
    by_ctas = wr.athena.read_sql_query(sql, **kwargs)
    by_csv = wr.athena.read_sql_query(sql, ctas_approach=False, **kwargs)
    output = f"s3://{RESULTS}/unload/{abs(hash(sql))}/"
    by_unload = wr.athena.read_sql_query(
        sql, ctas_approach=False, unload_approach=True, s3_output=output, **kwargs
    )
    for frame in (by_ctas, by_csv, by_unload):
        assert list(frame.columns) == list(expected.columns)
        assert comparable(frame) == comparable(expected)
    # The numbers keep their type (Int64), not strings, on every path.
    assert str(by_ctas["mensagens" if "mensagens" in by_ctas else "message_id"].dtype) == "Int64"


def test_timestamps_and_dates_come_back_alike_on_all_three_paths(turma):
    # The notebook's helper leaves timestamps as text; awswrangler types them, from CSV and from Parquet alike.
    sql = """SELECT message_id, sent_at_local, from_unixtime(date) AS enviada_utc, date(context_date) AS dia,
                    cardinality(hashtags) AS tags
             FROM mensagens WHERE message_id <= 106 ORDER BY message_id"""
    kwargs = {"database": DATABASE, "workgroup": WORKGROUP, "boto3_session": turma["session"]}
    kwargs["athena_query_wait_polling_delay"] = FAST
    by_ctas = wr.athena.read_sql_query(sql, **kwargs)
    by_csv = wr.athena.read_sql_query(sql, ctas_approach=False, **kwargs)
    by_unload = wr.athena.read_sql_query(
        sql, ctas_approach=False, unload_approach=True, s3_output=f"s3://{RESULTS}/unload/tempo/", **kwargs
    )
    expected = [
        [
            r["message_id"],
            r["sent_at_local"],
            mensagens_lab.utc_time(r["date"]),
            r["context_date"],
            len(r["hashtags"]),
        ]
        for r in mensagens_lab.mensagens_rows()
        if r["message_id"] <= 106
    ]
    for frame in (by_ctas, by_csv, by_unload):
        rows = comparable(frame)
        assert [[m, pd.Timestamp(s), pd.Timestamp(u), str(d)[:10], t] for m, s, u, d, t in rows] == [
            [m, pd.Timestamp(s), pd.Timestamp(u), d, t] for m, s, u, d, t in expected
        ]
    assert str(by_ctas["sent_at_local"].dtype).startswith("datetime64")
    assert str(by_csv["sent_at_local"].dtype).startswith("datetime64")


def result_keys(turma) -> set[str]:
    pages = turma["s3"].get_paginator("list_objects_v2").paginate(Bucket=RESULTS, Prefix="resultados/")
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def test_ctas_leaves_no_temporary_table_and_with_keep_files_false_no_data(turma):
    glue = turma["sandbox"].client("glue")
    before = {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    keys_before = result_keys(turma)
    frame = wr.athena.read_sql_query(
        "SELECT message_type, count(*) AS n FROM mensagens GROUP BY 1 ORDER BY 2 DESC, 1",
        database=DATABASE,
        workgroup=WORKGROUP,
        keep_files=False,
        boto3_session=turma["session"],
        athena_query_wait_polling_delay=FAST,
    )
    assert comparable(frame) == [["text", 10], ["photo", 1], ["sticker", 1]]
    assert {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]} == before
    # The CTAS wrote under the enforced workgroup's `tables/<query id>/`; awswrangler found the files through
    # the manifest and deleted them and it, leaving the result file (rows written) and its metadata.
    new = result_keys(turma) - keys_before
    assert len(new) == 2 and all(k.endswith((".txt", ".txt.metadata")) for k in new), new


def test_ctas_of_an_empty_result_keeps_the_column_types(turma):
    # No rows: Athena writes no file and the manifest is empty, so awswrangler reads the types from Glue.
    frame = wr.athena.read_sql_query(
        "SELECT message_id, text FROM mensagens WHERE message_id < 0",
        database=DATABASE,
        workgroup=WORKGROUP,
        boto3_session=turma["session"],
        athena_query_wait_polling_delay=FAST,
    )
    assert frame.empty and list(frame.columns) == ["message_id", "text"]
    assert str(frame["message_id"].dtype) == "Int64"


def test_unnamed_column_is_refused_by_ctas_as_on_athena(turma):
    # Trino's CTAS needs every column named; awswrangler turns Athena's message into its own advice.
    with pytest.raises(wr.exceptions.InvalidArgumentValue, match="define all columns names"):
        wr.athena.read_sql_query(
            "SELECT count(*) FROM mensagens",
            database=DATABASE,
            workgroup=WORKGROUP,
            boto3_session=turma["session"],
            athena_query_wait_polling_delay=FAST,
        )


def test_ctas_with_its_own_location_is_refused_in_an_enforcing_workgroup(turma):
    # notebook 05's workgroup enforces its result location; Athena then refuses a CTAS that names another one.
    athena = turma["sandbox"].client("athena")
    with pytest.raises(
        athena.exceptions.InvalidRequestException, match="enforces a centralized output location"
    ):
        athena.start_query_execution(
            QueryString=f"CREATE TABLE copia WITH (external_location = 's3://{RESULTS}/copia/') AS SELECT 1 AS um",
            WorkGroup=WORKGROUP,
            QueryExecutionContext={"Database": DATABASE},
        )

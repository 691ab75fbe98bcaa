"""Real AWS clients judge the sandbox: awswrangler, PyAthena and the AWS CLI against a stack the notebooks deployed.

One stack for the whole module (notebooks 01 to 05 run for real: ingestion, ETL, the Glue table and the Athena
workgroup). The expected answers come from the enriched Parquet read as a dataset, not from the Athena engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tutorial.contract import DATABASE, ETL_FUNCTION, KEY_PREFIX, PREFIX, TABLE, WORKGROUP, log_group
from tutorial.harness import deployed_stack

wr = pytest.importorskip("awswrangler")
pyathena = pytest.importorskip("pyathena")

pytestmark = pytest.mark.slow

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def stack():
    with deployed_stack(upto="06") as deployed:
        yield deployed


@pytest.fixture(scope="module")
def session(stack):
    return boto3.Session(region_name=stack.region, **CREDENTIALS)


@pytest.fixture(scope="module")
def wrangler(stack):
    """awswrangler pointed at the sandbox through its documented endpoint settings."""
    names = ("s3_endpoint_url", "athena_endpoint_url", "glue_endpoint_url", "sts_endpoint_url")
    saved = {name: getattr(wr.config, name) for name in names}
    for name in names:
        setattr(wr.config, name, stack.endpoint_url)
    yield wr
    for name, value in saved.items():
        setattr(wr.config, name, value)


@pytest.fixture(scope="module")
def dataset(stack, session, wrangler):
    """The enriched layer as awswrangler reads it: a Hive-partitioned Parquet dataset."""
    return wrangler.s3.read_parquet(
        f"s3://{stack.enriched_bucket}/{KEY_PREFIX}", dataset=True, boto3_session=session
    )


@pytest.fixture(scope="module")
def per_day(dataset) -> dict[str, int]:
    counts = dataset.groupby(dataset["context_date"].astype(str)).size()
    return {day: int(n) for day, n in counts.items()}


# ---- awswrangler --------------------------------------------------------------------------------------------
def test_awswrangler_lists_and_reads_the_enriched_layer(stack, session, wrangler, dataset, per_day):
    keys = wrangler.s3.list_objects(f"s3://{stack.enriched_bucket}/{KEY_PREFIX}", boto3_session=session)
    assert keys and all(k.endswith(".parquet") for k in keys)
    assert {k.split("context_date=")[1].split("/")[0] for k in keys} == set(per_day)
    assert len(dataset) == sum(per_day.values()) > 0
    assert {"message_id", "user_id", "text", "context_date"} <= set(dataset.columns)


def test_awswrangler_sees_the_glue_table(stack, session, wrangler, per_day):
    tables = wrangler.catalog.tables(database=DATABASE, boto3_session=session)
    assert list(tables["Table"]) == [TABLE]
    types = wrangler.catalog.get_table_types(database=DATABASE, table=TABLE, boto3_session=session)
    assert types["message_id"] == "bigint" and types["context_date"] == "string"
    location = wrangler.catalog.get_table_location(database=DATABASE, table=TABLE, boto3_session=session)
    assert location.rstrip("/") == f"s3://{stack.enriched_bucket}/{PREFIX}"


def test_awswrangler_queries_athena_with_its_defaults(session, wrangler, per_day):
    frame = wrangler.athena.read_sql_query(
        f"SELECT context_date, count(*) AS n FROM {TABLE} GROUP BY context_date",
        database=DATABASE,
        workgroup=WORKGROUP,
        boto3_session=session,
        athena_query_wait_polling_delay=0.05,
    )
    assert dict(zip(frame["context_date"], frame["n"].astype(int), strict=True)) == per_day


def test_awswrangler_query_parameters(session, wrangler, per_day):
    day = min(per_day)
    sql = f"SELECT count(*) AS n FROM {TABLE} WHERE context_date = "
    common = {"database": DATABASE, "workgroup": WORKGROUP, "boto3_session": session}
    common |= {"athena_query_wait_polling_delay": 0.05}
    # named: formatted by awswrangler; qmark: Athena's ExecutionParameters (SQL literals, quoted by the caller).
    named = wrangler.athena.read_sql_query(sql + ":day", params={"day": day}, **common)
    qmark = wrangler.athena.read_sql_query(
        sql + "?", params=[f"'{day}'"], paramstyle="qmark", ctas_approach=False, **common
    )
    assert int(named["n"][0]) == int(qmark["n"][0]) == per_day[day]


# ---- PyAthena -------------------------------------------------------------------------------------------------
def _connect(stack, **extra):
    return pyathena.connect(
        work_group=WORKGROUP,
        schema_name=DATABASE,
        region_name=stack.region,
        endpoint_url=stack.endpoint_url,
        poll_interval=0.05,
        **CREDENTIALS,
        **extra,
    )


def test_pyathena_dbapi_cursor(stack, per_day):
    day = min(per_day)
    with _connect(stack) as connection:
        cursor = connection.cursor()
        cursor.execute(f"SELECT context_date, count(*) AS n FROM {TABLE} GROUP BY context_date")
        assert [d[0] for d in cursor.description] == ["context_date", "n"]
        assert dict(cursor.fetchall()) == per_day
        # pyformat parameters (client side) and qmark parameters (Athena's ExecutionParameters).
        cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE context_date = %(day)s", {"day": day})
        assert cursor.fetchone() == (per_day[day],)
        # qmark values are SQL literals, quoted by the caller (PyAthena passes them to Athena as they are).
        cursor.execute(
            f"SELECT count(*) FROM {TABLE} WHERE context_date = ?", [f"'{day}'"], paramstyle="qmark"
        )
        assert cursor.fetchone() == (per_day[day],)


def test_pyathena_pandas_cursor(stack, per_day):
    from pyathena.pandas.cursor import PandasCursor

    with _connect(stack) as connection:
        frame = (
            connection.cursor(PandasCursor)
            .execute(f"SELECT context_date, count(*) AS n FROM {TABLE} GROUP BY context_date")
            .as_pandas()
        )
    assert dict(zip(frame["context_date"], frame["n"].astype(int), strict=True)) == per_day


def test_pyathena_reuses_a_recent_execution_with_cache_size(stack, per_day):
    """cache_size: PyAthena looks for the same query among the workgroup's recent executions."""
    sql = f"SELECT context_date, count(*) AS n FROM {TABLE} GROUP BY context_date"
    with _connect(stack) as connection:
        cursor = connection.cursor()
        first = cursor.execute(sql).query_id
        again = cursor.execute(sql, cache_size=10)
        assert again.query_id == first
        assert dict(again.fetchall()) == per_day


# ---- AWS CLI --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def aws(stack, tmp_path_factory):
    """`aws ...` as a learner types it, with the sandbox's endpoint and no profile of the machine's."""
    executable = shutil.which("aws", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("AWS CLI (awscli) não instalado")
    home = tmp_path_factory.mktemp("aws-cli")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AWS_ENDPOINT_URL": stack.endpoint_url,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": stack.region,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_PAGER": "",
    }

    def run(*args: str, output: str = "json"):
        done = subprocess.run(
            [executable, *args, "--output", output],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if output == "json" and done.stdout.strip() else done.stdout

    run.home = home
    return run


def test_aws_cli_s3_ls(stack, aws, per_day):
    listing = aws("s3", "ls", f"s3://{stack.enriched_bucket}/{KEY_PREFIX}", "--recursive", output="text")
    keys = [line.split()[-1] for line in listing.splitlines()]
    assert {k.split("context_date=")[1].split("/")[0] for k in keys} == set(per_day)
    buckets = aws("s3", "ls", output="text")
    assert stack.raw_bucket in buckets and stack.enriched_bucket in buckets


def test_aws_cli_invokes_the_etl_and_reads_its_logs(aws, per_day):
    day = max(per_day)
    answer = aws(
        "lambda",
        "invoke",
        "--function-name",
        ETL_FUNCTION,
        "--payload",
        json.dumps({"date": day}),
        "resposta.json",
    )
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    summary = json.loads((aws.home / "resposta.json").read_text())
    assert summary["rows_written"] == per_day[day]
    found = aws(
        "logs",
        "filter-log-events",
        "--log-group-name",
        log_group(ETL_FUNCTION),
        "--filter-pattern",
        '"etl_done"',
    )
    done = [json.loads(e["message"].split("\t")[-1]) for e in found["events"] if "etl_done" in e["message"]]
    assert done and done[-1]["rows_written"] == per_day[day]
    assert all("etl_done" in e["message"] for e in found["events"])


def test_aws_cli_runs_an_athena_query(aws, per_day):
    started = aws(
        "athena",
        "start-query-execution",
        "--work-group",
        WORKGROUP,
        "--query-execution-context",
        f"Database={DATABASE}",
        "--query-string",
        f"SELECT count(*) AS n FROM {TABLE}",
    )
    execution_id = started["QueryExecutionId"]
    deadline = time.monotonic() + 60
    while True:
        state = aws("athena", "get-query-execution", "--query-execution-id", execution_id)
        status = state["QueryExecution"]["Status"]["State"]
        if status not in ("QUEUED", "RUNNING") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == "SUCCEEDED", state
    rows = aws("athena", "get-query-results", "--query-execution-id", execution_id)["ResultSet"]["Rows"]
    assert [[c["VarCharValue"] for c in row["Data"]] for row in rows] == [["n"], [str(sum(per_day.values()))]]

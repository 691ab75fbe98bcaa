"""The Athena engine reads only the lake, and no sandbox process holds the learner's real credentials (issue 13,
section 2). Queries are what a curious learner, or a page that got to the API, would try."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import sandbox
from sandbox.athena.engine import Runner, lake_only_connection
from sandbox.athena.errors import QueryFailed
from tests.sandbox.aws_fixtures import create_function, invoke, start_sandbox, stop_sandbox
from tutorial.harness import isolated_sandbox


class EmptyCatalog:
    """A catalog with databases but no tables: whatever a query reads must come from elsewhere."""

    def database_exists(self, database: str) -> bool:
        return True

    def get_table(self, database: str, name: str):
        return None


@pytest.mark.parametrize(
    ("query", "error"),
    [
        (
            "SELECT * FROM read_text('/etc/passwd')",
            "FUNCTION_NOT_FOUND: line 1:15: Function 'read_text' not registered",
        ),
        (
            "SELECT * FROM read_csv('/etc/hostname')",
            "FUNCTION_NOT_FOUND: line 1:15: Function 'read_csv' not registered",
        ),
        (
            "SELECT content FROM read_text('/proc/self/environ')",
            "FUNCTION_NOT_FOUND: line 1:21: Function 'read_text'",
        ),
        (
            "SELECT read_text('/proc/self/environ')",
            "FUNCTION_NOT_FOUND: line 1:8: Function 'read_text' not registered",
        ),
        ("SELECT * FROM read_parquet('/any/path')", "FUNCTION_NOT_FOUND: line 1:15: Function 'read_parquet'"),
        (
            "SELECT 1 UNION ALL SELECT count(*) FROM read_blob('/etc/hostname')",
            "FUNCTION_NOT_FOUND: line 1:41:",
        ),
        ("SELECT * FROM '/etc/passwd'", "TABLE_NOT_FOUND: line 1:15:"),
        ("COPY (SELECT 1) TO '/tmp/sandbox-copy.csv'", "SYNTAX_ERROR: line 1:1:"),
        ("ATTACH '/tmp/sandbox-attach.db' AS x", "SYNTAX_ERROR: line 1:1:"),
        ("INSTALL httpfs", "SYNTAX_ERROR: line 1:1:"),
        ("SET enable_external_access = true", "SYNTAX_ERROR: line 1:1:"),
    ],
)
def test_queries_reaching_for_files_fail_as_athena_would(query, error):
    with pytest.raises(QueryFailed) as failed:
        Runner(EmptyCatalog()).run(query, "telegram")
    assert str(failed.value).startswith(error), str(failed.value)
    assert "root:" not in str(failed.value)
    assert not Path("/tmp/sandbox-copy.csv").exists() and not Path("/tmp/sandbox-attach.db").exists()


@pytest.fixture
def connection():
    lake = pa.table({"message_id": [1, 2], "text": ["oi", "tchau"]})
    with lake_only_connection({"__athena_t0": lake}) as locked:
        yield locked


def test_the_connection_reads_the_registered_lake_tables(connection):
    assert connection.sql("SELECT count(*), max(text) FROM __athena_t0").fetchall() == [(2, "tchau")]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/hostname')",
        "SELECT * FROM read_text('/proc/self/environ')",
        "SELECT * FROM read_parquet('/any/path')",
        "SELECT * FROM glob('/etc/*')",
        "COPY (SELECT 1) TO '/tmp/sandbox-copy.csv'",
        "ATTACH '/tmp/sandbox-attach.db' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SET autoload_known_extensions = true",
    ],
)
def test_even_raw_duckdb_sql_cannot_leave_the_lake(connection, statement):
    # Past the parser (a future translation bug): DuckDB itself refuses.
    with pytest.raises((duckdb.PermissionException, duckdb.InvalidInputException, duckdb.CatalogException)):
        connection.execute(statement)
    assert not Path("/tmp/sandbox-copy.csv").exists() and not Path("/tmp/sandbox-attach.db").exists()


# ---- the environment --------------------------------------------------------------------------------------
HOST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAREALKEYOFTHELEARNER",
    "AWS_SECRET_ACCESS_KEY": "real-secret-of-the-learner-0123456789abcdef",
    "AWS_SESSION_TOKEN": "real-session-token",
    "AWS_PROFILE": "conta-real",
    "TELEGRAM_BOT_TOKEN": "8123456789:AAHrealrealrealrealrealrealrealreal1",
    "BRIDGE_TELEGRAM_BOT_TOKEN": "8123456789:AAHrealrealrealrealrealrealrealreal1",
}


def test_server_environment_is_an_allowlist():
    given = {**HOST_CREDENTIALS, "PATH": "/usr/bin", "HOME": "/home/a", "LANG": "pt_BR.UTF-8", "LC_ALL": "C",
             "SANDBOX_SEED": "1", "PYTHONPATH": "/x", "GITHUB_TOKEN": "ghp_x", "OPENAI_API_KEY": "sk-x"}  # fmt: skip
    kept = sandbox.server_environment(given)
    assert set(kept) == {"PATH", "HOME", "LANG", "LC_ALL", "SANDBOX_SEED", "PYTHONPATH"}


def test_the_serve_process_does_not_inherit_real_credentials(monkeypatch, ordinary_sandbox_server):
    with isolated_sandbox():
        for name, value in HOST_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        sandbox.stop()  # started before the variables were set: start it again with them in the shell
        sandbox.up()
        pid = sandbox.status()["pid"]
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    for value in HOST_CREDENTIALS.values():
        assert value not in environ
    assert "SANDBOX_HOME=" in environ


def test_a_lambda_function_never_sees_the_servers_environment(tmp_path, monkeypatch):
    for name, value in HOST_CREDENTIALS.items():
        if name != "AWS_PROFILE":  # a profile this machine lacks would stop boto3 in the test itself
            monkeypatch.setenv(name, value)
    running = start_sandbox(tmp_path)  # this harness passes its whole environment to the server on purpose
    try:
        source = "import os\ndef lambda_handler(event, context):\n    return dict(os.environ)\n"
        create_function(running, "env-dump", source, Environment={"Variables": {"MINHA_VAR": "1"}})
        _, environ = invoke(running, "env-dump")
    finally:
        stop_sandbox(running)
    assert environ["MINHA_VAR"] == "1" and environ["AWS_LAMBDA_FUNCTION_NAME"] == "env-dump"
    assert environ["AWS_ACCESS_KEY_ID"].startswith("ASIA")  # the role's session, as on AWS
    for value in HOST_CREDENTIALS.values():
        assert value not in environ.values()
    assert "BRIDGE_TELEGRAM_BOT_TOKEN" not in environ
    assert "HOME" not in environ or environ["HOME"] != os.environ.get("HOME")

"""The notebooks agree with each other and with the deployed code where they teach the same thing.

Each notebook runs cold on its own, so a helper two of them need (creating a role, deploying a function) is written
in both; these tests keep the copies identical, and notebook 05's table in step with the ETL's schema.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pyarrow as pa
import pytest

import lambda_function
from tutorial.harness import NOTEBOOKS

# The helpers the notebooks share today: if one is renamed or dropped from a notebook, this list says so.
SHARED_HELPERS = {
    "build_zip": {"02-ingestao-aws", "04-etl"},
    "ensure_role": {"02-ingestao-aws", "04-etl"},
    "retry_while_role_propagates": {"02-ingestao-aws", "04-etl"},
    "deploy_function": {"02-ingestao-aws", "04-etl"},
    "telegram": {"01-bot-telegram", "03-webhook", "06-limpeza"},
}


def code_cells(name: str) -> list[str]:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def functions(name: str) -> dict[str, str]:
    """Name -> source of every function a notebook defines at the top level of a cell."""
    found = {}
    for source in code_cells(name):
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = ast.get_source_segment(source, node)
    return found


def test_a_helper_defined_in_two_notebooks_is_the_same_in_both():
    by_name: dict[str, dict[str, str]] = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        for function, source in functions(path.stem).items():
            by_name.setdefault(function, {})[path.stem] = source
    shared = {function: copies for function, copies in by_name.items() if len(copies) > 1}
    assert {function: set(copies) for function, copies in shared.items()} == SHARED_HELPERS
    for function, copies in shared.items():
        first, *others = copies.items()
        for notebook, source in others:
            assert source == first[1], f"{function} in {notebook} differs from {first[0]}"


class PropagationError(Exception):
    pass


def retry_helper(sleeps: list[float]):
    """notebook 02's retry_while_role_propagates, with time.sleep recorded instead of slept."""
    clock = type("Clock", (), {"sleep": staticmethod(sleeps.append)})
    namespace = {"time": clock}
    exec(functions("02-ingestao-aws")["retry_while_role_propagates"], namespace)  # noqa: S102 - the notebook's code
    return namespace["retry_while_role_propagates"]


def failing(times: int, message: str):
    calls = []

    def create():
        calls.append(1)
        if len(calls) <= times:
            raise PropagationError(message)
        return {"FunctionArn": "arn"}

    return create, calls


def test_a_new_role_is_waited_for_while_aws_says_it_cannot_be_assumed():
    sleeps: list[float] = []
    create, calls = failing(2, "The role defined for the function cannot be assumed by Lambda.")
    assert retry_helper(sleeps)(create, PropagationError, "cannot be assumed") == {"FunctionArn": "arn"}
    assert len(calls) == 3 and sleeps == [2, 3]


def test_any_other_error_is_raised_at_once():
    sleeps: list[float] = []
    create, calls = failing(1, "Value 'python9' at 'runtime' failed to satisfy constraint")
    with pytest.raises(PropagationError, match="python9"):
        retry_helper(sleeps)(create, PropagationError, "cannot be assumed")
    assert len(calls) == 1 and sleeps == []


def test_a_role_that_never_becomes_usable_fails_after_ten_tries():
    sleeps: list[float] = []
    create, calls = failing(99, "The role defined for the function cannot be assumed by Lambda.")
    with pytest.raises(PropagationError):
        retry_helper(sleeps)(create, PropagationError, "cannot be assumed")
    assert len(calls) == 10 and sum(sleeps) == sum(range(2, 11))  # about a minute in all


# --- notebook 05's table and the ETL's schema -----------------------------------------------------------------
def hive_type(arrow: pa.DataType) -> str:
    """The Athena (Hive DDL) type that reads a Parquet column of this Arrow type."""
    if pa.types.is_list(arrow):
        return f"array<{hive_type(arrow.value_type)}>"
    if pa.types.is_timestamp(arrow):
        return "timestamp"
    names = {
        pa.int64(): "bigint",
        pa.int32(): "int",
        pa.int16(): "smallint",
        pa.int8(): "tinyint",
        pa.bool_(): "boolean",
        pa.string(): "string",
        pa.float64(): "double",
        pa.float32(): "float",
    }
    if arrow not in names:
        raise AssertionError(f"no Athena type mapped for {arrow}: add it here and to notebook 05's table")
    return names[arrow]


def ddl_columns(sql: str) -> list[tuple[str, str]]:
    """(name, type) of a CREATE EXTERNAL TABLE's column list, in order."""
    body = re.search(r"CREATE EXTERNAL TABLE \S+ \((.*?)\n\)\nPARTITIONED BY", sql, re.DOTALL).group(1)
    columns, depth, current = [], 0, ""
    for char in body + ",":
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            name, kind = current.split()
            columns.append((name.strip("`"), kind.lower()))
            current = ""
        else:
            current += char
    return columns


def test_notebook_05s_table_has_the_etl_columns_in_order_with_their_types():
    (ddl,) = [source for source in code_cells("05-analise") if "CREATE EXTERNAL TABLE" in source]
    expected = [(field.name, hive_type(field.type)) for field in lambda_function.enriched_schema()]
    assert ddl_columns(ddl) == expected

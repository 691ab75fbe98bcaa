"""The names the notebooks teach equal the tutorial's contract (tutorial/contract.py), so a rename is caught.

The notebooks write their resource names literally (a learner reads them there); the setup's catch-up, the bridge,
the live view and the tests read them from the contract. Here every name a notebook assigns at the top of a cell
is evaluated (with a placeholder account and region) and compared with the contract's.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

import lambda_function
from tutorial import contract, setup
from tutorial.runner import NOTEBOOKS

ACCOUNT, REGION = "123456789012", "sa-east-1"
# The contract's names a notebook assigns under the same name.
NAMES = [
    "PREFIX",
    "INGESTION_FUNCTION",
    "INGESTION_ROLE",
    "API_NAME",
    "ETL_FUNCTION",
    "ETL_ROLE",
    "SCHEDULE",
    "SCHEDULER_ROLE",
    "DATABASE",
    "WORKGROUP",
    "TABLE",
    "FUNCTIONS",
    "ROLES",
]
BUCKETS = {
    "RAW_BUCKET": [contract.bucket(ACCOUNT, REGION, "raw")],
    "ENRICHED_BUCKET": [contract.bucket(ACCOUNT, REGION, "enriched")],
    "RESULTS_BUCKET": [contract.bucket(ACCOUNT, REGION, "athena")],
    "BUCKETS": [[contract.bucket(ACCOUNT, REGION, layer) for layer in contract.BUCKET_LAYERS]],
}


def code(name: str) -> list[ast.Module]:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return [ast.parse(cell.source) for cell in notebook.cells if cell.cell_type == "code"]


def assigned_names(name: str) -> dict[str, object]:
    """Every upper-case name a cell assigns at top level from literals and earlier such names (others skipped)."""
    namespace: dict[str, object] = {"ACCOUNT_ID": ACCOUNT, "REGION": REGION}
    found = {}
    for module in code(name):
        for node in module.body:
            if not isinstance(node, ast.Assign) or not all(
                isinstance(target, ast.Name) and target.id.isupper() for target in node.targets
            ):
                continue
            expression = compile(ast.Expression(node.value), name, "eval")
            try:
                value = eval(expression, {"__builtins__": {}, **namespace})  # noqa: S307 - the notebooks' own code
            except Exception:  # noqa: S112 - needs AWS or the environment (boto3, os.environ): not a name
                continue
            for target in node.targets:
                namespace[target.id] = found[target.id] = value
    return found


@pytest.mark.parametrize("notebook", contract.ORDER)
def test_the_names_a_notebook_assigns_are_the_contracts(notebook):
    found = assigned_names(notebook)
    expected = {name: getattr(contract, name) for name in NAMES} | {name: v[0] for name, v in BUCKETS.items()}
    assert {name: value for name, value in found.items() if name in expected} == {
        name: expected[name] for name in found if name in expected
    }


def test_every_name_of_the_contract_is_written_in_some_notebook():
    """Otherwise the comparison above could pass by comparing nothing."""
    written = set().union(*(assigned_names(notebook) for notebook in contract.ORDER))
    assert set(NAMES) | set(BUCKETS) <= written


def test_notebook_03_subscribes_the_webhook_to_the_contracts_updates_with_its_secret_header():
    modules = code("03-webhook")
    allowed = [
        ast.literal_eval(keyword.value)
        for module in modules
        for node in ast.walk(module)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "allowed_updates"
    ]
    assert allowed == [contract.ALLOWED_UPDATES]
    strings = {
        node.value for module in modules for node in ast.walk(module) if isinstance(node, ast.Constant)
    }
    assert contract.SECRET_HEADER in strings
    # API Gateway's HTTP APIs lower-case header names: the function reads the same header.
    assert lambda_function.SECRET_HEADER == contract.SECRET_HEADER.lower()


def test_the_order_is_the_notebooks_folder_and_every_resource_kind_has_a_check():
    assert contract.ORDER == sorted(path.stem for path in Path(NOTEBOOKS).glob("[0-9][0-9]-*.ipynb"))
    assert set(contract.CREATES) <= set(contract.ORDER)
    for resources in contract.CREATES.values():
        assert {resource.kind for resource in resources} <= set(setup._EXISTS)

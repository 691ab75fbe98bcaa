"""The names the notebooks teach equal the tutorial's contract (tutorial/contract.py), so a rename is caught.

The notebooks write their resource names literally (a learner reads them there); the setup's catch-up, the bridge,
the live view and the tests read them from the contract. Here every name a notebook assigns at the top of a cell
is evaluated (with a placeholder account and region, and the prefix the setup cell would give) and compared with
the contract's, for an account of one's own and for a student in a class sharing one account.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

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
BUCKET_NAMES = {"RAW_BUCKET": "raw", "ENRICHED_BUCKET": "enriched", "RESULTS_BUCKET": "athena"}
# The prefix `tutorial.prefixo()` gives: in an account of one's own, and for IAM user "aluna01" in a shared one.
PREFIXES = [contract.PREFIX, contract.student_prefix("aluna01")]


def expected_names(prefix: str) -> dict[str, object]:
    given = contract.names(prefix)
    expected: dict[str, object] = {
        "TABLE": contract.TABLE,
        "FUNCTIONS": given.functions,
        "ROLES": given.roles,
        "BUCKETS": [given.bucket(ACCOUNT, REGION, layer) for layer in contract.BUCKET_LAYERS],
    }
    expected |= {name: getattr(given, name.lower()) for name in NAMES if name.lower() in given._fields}
    expected |= {name: given.bucket(ACCOUNT, REGION, layer) for name, layer in BUCKET_NAMES.items()}
    return expected


def code(name: str) -> list[ast.Module]:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return [ast.parse(cell.source) for cell in notebook.cells if cell.cell_type == "code"]


def assigned_names(name: str, prefix: str = contract.PREFIX) -> dict[str, object]:
    """Every upper-case name a cell assigns at top level from literals and earlier such names (others skipped)."""
    # The `tutorial` the setup cell imported and configured.
    setup_cell = SimpleNamespace(prefixo=lambda: prefix)
    namespace: dict[str, object] = {"ACCOUNT_ID": ACCOUNT, "REGION": REGION, "tutorial": setup_cell}
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


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("notebook", contract.ORDER)
def test_the_names_a_notebook_assigns_are_the_contracts(notebook, prefix):
    found = assigned_names(notebook, prefix)
    expected = expected_names(prefix)
    assert {name: value for name, value in found.items() if name in expected} == {
        name: expected[name] for name in found if name in expected
    }


def test_the_default_names_are_the_contracts_constants():
    """What the bridge, the live view and the tests import is the default prefix's names."""
    constants = {name: getattr(contract, name) for name in NAMES}
    assert constants.items() <= expected_names(contract.PREFIX).items()
    assert contract.DATABASE == contract.WORKGROUP == contract.PREFIX == "telegram"


def test_every_name_of_the_contract_is_written_in_some_notebook():
    """Otherwise the comparison above could pass by comparing nothing."""
    written = set().union(*(assigned_names(notebook) for notebook in contract.ORDER))
    assert set(expected_names(contract.PREFIX)) <= written
    assert "PREFIX" in written and all(
        "tutorial.prefixo()" in cell.source
        for notebook in contract.ORDER[1:]
        for cell in nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4).cells
        if cell.cell_type == "code" and "PREFIX = " in cell.source
    )


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
    assert contract.CREATES == contract.creates(contract.names())
    for resources in contract.CREATES.values():
        assert {resource.kind for resource in resources} <= set(setup._EXISTS)
